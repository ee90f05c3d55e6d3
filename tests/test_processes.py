"""tests.processes: worker processes that never re-run whatever the parent's __main__ is."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from tests.processes import run_together


def square(n: int) -> int:
    return n * n


def divide_by_zero() -> float:
    return 1 / 0


def test_workers_do_not_run_the_parents_main_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # After an AppTest, __main__ can be a page; multiprocessing's spawn re-ran it in each
    # child (which then started the demo emulator). These workers must not.
    marker = tmp_path / "ran"
    script = tmp_path / "page.py"
    script.write_text(f"open({str(marker)!r}, 'a').write('x')\n")
    fake_main = types.ModuleType("__main__")
    fake_main.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", fake_main)

    assert run_together("tests.test_processes:square", [(2,), (3,)]) == [4, 9]
    assert not marker.exists()


def test_a_worker_that_raises_fails_the_test_with_its_traceback() -> None:
    with pytest.raises(AssertionError, match="ZeroDivisionError"):
        run_together("tests.test_processes:divide_by_zero", [()])
