"""Start the emulator: in this process (tests) or as a subprocess (demo launcher).

- :func:`running_emulator` — a context manager serving on a background thread; pytest can
  start one per session cheaply. Its handle also exposes the live :class:`EmulatorState`.
- :func:`start_emulator` — runs ``python -m emulator serve`` on a free loopback port and
  waits for its ready file; the handle's :meth:`EmulatorHandle.stop` ends it.
- :func:`boot` — what both do: server, SNS->SQS wiring, optional demo seed and trickle.

moto keeps its data in process-global backends, so run one in-process emulator per process,
and do not mix it with ``moto.mock_aws`` in the same process (``mock_aws`` resets them).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emulator import REGION
from emulator.admin_client import AdminClient
from emulator.clients import environment, make_client

if TYPE_CHECKING:  # the server and the demo import moto: keep `import emulator.launch` light
    from emulator.demo.seed import Wiring
    from emulator.server import EmulatorServer

DEFAULT_DATA_DIR = Path("data/demo")
SEEDS = ("demo", "none")


class EmulatorStartError(RuntimeError):
    """The emulator did not come up (bad arguments, crashed, or no ready file in time)."""


@dataclass
class EmulatorHandle:
    """Where a running emulator is, and how to stop it."""

    endpoint_url: str
    queue_url: str
    topic_arn: str
    region: str = REGION
    users_csv: Path | None = None
    known_valid_csv: Path | None = None
    # The live EmulatorState of an in-process emulator (None for a subprocess). Typed Any so
    # tests can call it without a None check on every line.
    state: Any = None
    _stopper: Callable[[], None] | None = field(default=None, repr=False)

    def stop(self) -> None:
        stopper, self._stopper = self._stopper, None
        if stopper is not None:
            stopper()

    def environment(self) -> dict[str, str]:
        """AWS_ENDPOINT_URL, fake credentials and region for a client process."""
        return environment(self.endpoint_url)

    def client(self, service: str, retries: int | None = None) -> Any:
        return make_client(service, self.endpoint_url, retries)

    @property
    def admin(self) -> AdminClient:
        return AdminClient(self.endpoint_url)

    def to_ready(self) -> dict[str, Any]:
        """The ready-file JSON a launcher waits for."""
        return {
            "endpoint_url": self.endpoint_url,
            "queue_url": self.queue_url,
            "topic_arn": self.topic_arn,
            "region": self.region,
            "users_csv": str(self.users_csv) if self.users_csv else None,
            "known_valid_csv": str(self.known_valid_csv) if self.known_valid_csv else None,
            "pid": os.getpid(),
        }

    @classmethod
    def from_ready(cls, data: dict[str, Any], stopper: Callable[[], None]) -> EmulatorHandle:
        return cls(
            endpoint_url=data["endpoint_url"],
            queue_url=data["queue_url"],
            topic_arn=data["topic_arn"],
            region=data.get("region", REGION),
            users_csv=Path(data["users_csv"]) if data.get("users_csv") else None,
            known_valid_csv=Path(data["known_valid_csv"]) if data.get("known_valid_csv") else None,
            _stopper=stopper,
        )

    def __enter__(self) -> EmulatorHandle:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def boot(
    seed: str = "none",
    host: str = "127.0.0.1",
    port: int = 0,
    request_rate: float | None = None,
    users_csv: Path | None = None,
    known_valid_csv: Path | None = None,
    trickle_interval: float | None = None,
    import_delay: float = 0.2,
    verbose: bool = False,
    banner: bool = True,
    now: datetime | None = None,
    resource_name: str = "bouncedesk-demo",
) -> EmulatorHandle:
    """Start a server in this process, wire SNS->SQS, and seed it; returns a running handle.

    ``resource_name`` names the SNS topic and SQS queue (moto's data is per process, so two
    in-process emulators need different names).
    """
    from emulator.demo.seed import wire_notifications
    from emulator.server import EmulatorServer

    if seed not in SEEDS:
        raise ValueError(f"seed must be one of {SEEDS}, not {seed!r}")
    server = EmulatorServer(host, port, request_rate, import_delay, verbose).start(banner)
    stoppers: list[Callable[[], None]] = [server.stop]
    try:
        wiring = wire_notifications(server.endpoint_url, resource_name)
        handle = EmulatorHandle(server.endpoint_url, wiring.queue_url, wiring.topic_arn)
        handle.state = server.state
        if seed == "demo":
            users_csv = users_csv or DEFAULT_DATA_DIR / "users.csv"
            known_valid_csv = known_valid_csv or users_csv.with_name("known_valid.csv")
            handle.users_csv, handle.known_valid_csv = users_csv, known_valid_csv
            stoppers[:0] = _seed_demo(server, wiring, handle, trickle_interval, now)
    except BaseException:
        server.stop()
        raise

    def stop_all() -> None:
        for stop in stoppers:
            stop()

    handle._stopper = stop_all
    return handle


def _seed_demo(
    server: EmulatorServer,
    wiring: Wiring,
    handle: EmulatorHandle,
    trickle_interval: float | None,
    now: datetime | None,
) -> list[Callable[[], None]]:
    """Seed the demo account; start the trickle if asked. Returns what must be stopped."""
    from emulator.demo.seed import seed_demo
    from emulator.demo.trickle import Trickle

    assert handle.users_csv is not None and handle.known_valid_csv is not None
    account = seed_demo(
        server.state, server.endpoint_url, wiring, handle.users_csv, handle.known_valid_csv, now
    )
    if not trickle_interval or account.history.population is None:
        return []
    trickle = Trickle(
        server.state,
        server.endpoint_url,
        wiring,
        account.history.population,
        account.users,
        trickle_interval,
    )
    return [trickle.start().stop]


@contextlib.contextmanager
def running_emulator(
    seed: str = "none",
    request_rate: float | None = None,
    data_dir: Path | None = None,
    trickle_interval: float | None = None,
    import_delay: float = 0.05,
    now: datetime | None = None,
    resource_name: str = "bouncedesk-demo",
) -> Iterator[EmulatorHandle]:
    """An in-process emulator on a free loopback port for the duration of the block.

    Defaults suit tests: no throttling, no trickle, fast import jobs, demo files (if any) in a
    temporary directory unless ``data_dir`` is given.
    """
    with contextlib.ExitStack() as stack:
        if data_dir is None and seed == "demo":
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        handle = boot(
            seed=seed,
            request_rate=request_rate,
            users_csv=data_dir / "users.csv" if data_dir else None,
            trickle_interval=trickle_interval,
            import_delay=import_delay,
            banner=False,
            now=now,
            resource_name=resource_name,
        )
        stack.callback(handle.stop)
        yield handle


def start_emulator(
    port: int | None = None,
    seed: str = "demo",
    data_dir: Path | None = None,
    request_rate: float | None = 1.0,
    trickle: bool = True,
    timeout: float = 60.0,
) -> EmulatorHandle:
    """Run ``python -m emulator serve`` in a subprocess and wait until it is ready.

    ``port=None`` lets the server pick a free loopback port (reported in the ready file, so
    there is no race). ``request_rate`` defaults to SES's documented 1 request per second;
    None turns throttling off. Raises :class:`EmulatorStartError` with the log's tail.
    """
    data_dir = data_dir or DEFAULT_DATA_DIR
    workdir = Path(tempfile.mkdtemp(prefix="ses-emulator-"))
    ready_file, log_path = workdir / "ready.json", workdir / "emulator.log"
    command = [
        sys.executable, "-m", "emulator", "serve",
        "--port", str(port or 0),
        "--seed", seed,
        "--request-rate", str(request_rate or 0),
        "--ready-file", str(ready_file),
        "--users-csv", str(data_dir / "users.csv"),
        "--known-valid-csv", str(data_dir / "known_valid.csv"),
    ] + ([] if trickle else ["--no-trickle"])  # fmt: skip
    process, stop = _spawn(command, log_path)
    try:
        data = _wait_for_ready(ready_file, process, timeout, log_path)
    except BaseException:
        stop()
        raise
    return EmulatorHandle.from_ready(data, stop)


def _spawn(
    command: list[str], log_path: Path
) -> tuple[subprocess.Popen[bytes], Callable[[], None]]:
    """Start ``command`` logging to ``log_path``; the callable ends it (SIGTERM, then kill)."""
    log = log_path.open("wb")
    process = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env=_child_env(), stdin=subprocess.DEVNULL
    )

    def stop() -> None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()

    return process, stop


def _child_env() -> dict[str, str]:
    """This environment, with the project root importable so ``-m emulator`` resolves."""
    root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _wait_for_ready(
    ready_file: Path, process: subprocess.Popen[bytes], timeout: float, log: Path
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready_file.exists():
            return json.loads(ready_file.read_text(encoding="utf-8"))
        if process.poll() is not None:
            raise EmulatorStartError(
                f"emulator exited with status {process.returncode}:\n{_tail(log)}"
            )
        time.sleep(0.1)
    raise EmulatorStartError(f"emulator not ready after {timeout:.0f} s:\n{_tail(log)}")


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def write_ready_file(path: Path, handle: EmulatorHandle) -> None:
    """Write atomically, so a launcher never reads half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(handle.to_ready(), indent=2), encoding="utf-8")
    partial.replace(path)
