"""Worker processes for tests that need several real processes at once.

Each worker is a fresh `python -c` interpreter that imports one function by name, so a child
never depends on what the parent's ``__main__`` happens to be (multiprocessing's spawn re-runs
it: after an AppTest that is a page, which then starts the demo emulator). Workers start, say
they are ready, wait until all are, run, and report one JSON result or the error they died of.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

ROOT = Path(__file__).resolve().parent.parent
_CHILD = """
import importlib, json, sys, traceback
module, name = sys.argv[1].rsplit(":", 1)
target = getattr(importlib.import_module(module), name)
args = json.loads(sys.argv[2])
print("ready", flush=True)
sys.stdin.readline()
try:
    print(json.dumps(["ok", target(*args)], default=str), flush=True)
except BaseException as exc:
    print(json.dumps(["error", repr(exc), traceback.format_exc()]), flush=True)
"""


def run_together(
    target: str, argument_lists: Sequence[Sequence[Any]], timeout: float = 300
) -> list[Any]:
    """Run `target` ("module:function") once per argument list, all starting at the same moment.

    Returns each worker's return value in order; fails with the worker's traceback if one
    raised, or with its exit code and output if it died without reporting.
    """
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, target, json.dumps(list(args))],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in argument_lists
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None
            line = worker.stdout.readline()
            if line.strip() != "ready":
                raise AssertionError(f"worker did not start: {line}{worker.communicate()[1]}")
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        deadline = time.monotonic() + timeout
        results = []
        for worker in workers:
            out, err = worker.communicate(timeout=max(1.0, deadline - time.monotonic()))
            lines = out.strip().splitlines()
            if not lines:
                raise AssertionError(f"worker died with exit code {worker.returncode}: {err}")
            status, *rest = json.loads(lines[-1])
            if status != "ok":
                raise AssertionError(f"worker failed: {rest[0]}\n{rest[1]}")
            results.append(rest[0])
        return results
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()


def in_fresh_thread(call: Callable[[], T]) -> T:
    """`call()` in a new thread, its result or its exception handed back. An earlier test in
    this worker (Playwright's sync API) can leave the main thread's asyncio loop running,
    and Mangum or a second Playwright then refuse to start one there."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]
