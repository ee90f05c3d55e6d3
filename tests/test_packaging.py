"""`pip install .` gives a `bouncedesk` command with every wing and the migrations."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    # From a copy: setuptools builds in the source tree's build/, which another test (or
    # another worker's build) may be using at the same moment.
    source = tmp_path_factory.mktemp("source") / "bouncedesk"
    shutil.copytree(
        ROOT, source,
        ignore=shutil.ignore_patterns(".venv", ".git", "build", "test-output", "data",
                                      "*.egg-info", "__pycache__", "node_modules"),
    )  # fmt: skip
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if built.returncode != 0:
        if "Could not find a version that satisfies" in built.stderr:
            pytest.skip(f"no build backend reachable (PyPI): {built.stderr[-300:]}")
        pytest.fail(f"pip wheel failed:\n{built.stderr}")
    (path,) = out.glob("bouncedesk-*.whl")
    return zipfile.ZipFile(path)


def test_the_wheel_holds_every_core_module_and_the_migrations(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    sources = {
        str(p.relative_to(ROOT))
        for p in (ROOT / "core").rglob("*")
        if p.is_file() and p.suffix in {".py", ".mako"} and "__pycache__" not in p.parts
    }
    assert sources - names == set()
    assert not any(n.startswith(("ui/", "pages/", "emulator/", "tests/")) for n in names)


def test_the_wheel_declares_the_bouncedesk_command(wheel: zipfile.ZipFile) -> None:
    (entry_points,) = [n for n in wheel.namelist() if n.endswith("entry_points.txt")]
    text = wheel.read(entry_points).decode()
    assert "bouncedesk = core.cli.main:main" in text
