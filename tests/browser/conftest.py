"""Real-browser journeys: `streamlit run dashboard.py` in demo mode, driven by headless Chromium.

The server runs in its own process group with a fresh demo data directory, so the demo boots
exactly as on a laptop: it starts the SES emulator, drains the SQS backlog into its own
SQLite database, imports the users and syncs the suppression list. Tests read that database
and the emulator (whose address the demo writes to ``emulator.json``) to check what the
browser did. Screenshots go to ``test-output/browser/``.

Needs Debian's Chromium at /usr/bin/chromium (``apt-get install chromium``); without it
every browser test is skipped.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browserkit import ACTOR, CHROMIUM, CHROMIUM_ARGS, DEMO_TIMEOUT, OUTPUT, ROOT, DemoServer

from ui.demo import STATUS_FILE

START_TIMEOUT = 60  # s, for /_stcore/health


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("BOUNCEDESK_TEST_REQUIRE_BROWSER") == "1":
        raise pytest.UsageError(f"{CHROMIUM} not found and the browser journeys are required")
    skip = pytest.mark.skip(
        reason=f"{CHROMIUM} not found: install Debian's Chromium (apt-get install chromium) "
        "to run the browser journeys"
    )
    for item in items:
        if "tests/browser" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(skip)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _server_env(data_dir: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BOUNCEDESK_"))}
    keep.update(
        BOUNCEDESK_DEMO="true",
        BOUNCEDESK_DEMO_DATA_DIR=str(data_dir),
        BOUNCEDESK_ACTOR=ACTOR,
        BOUNCEDESK_CONFIG_FILE=str(data_dir / "bouncedesk.toml"),
        # A free port is not how a laptop runs it: say that local mode is meant.
        BOUNCEDESK_LOCAL_MODE="true",
        PYTHONPATH=str(ROOT),
    )
    return keep


def _wait_for_health(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"streamlit not healthy after {START_TIMEOUT} s")


def _wait_for_demo_data(
    browser: Any, url: str, data_dir: Path, process: subprocess.Popen[bytes], log: Path
) -> None:
    """The dashboard answers at once and seeds in the background once a first visitor
    opens it: the journeys need the data, so open it and wait for the demo's status file
    (ui.demo.STATUS_FILE)."""
    visitor = browser.new_page()
    visitor.goto(url)
    deadline = time.monotonic() + DEMO_TIMEOUT / 1000
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{log.read_text(errors='replace')}")
        if (data_dir / STATUS_FILE).exists():
            visitor.close()
            return
        time.sleep(0.3)
    raise RuntimeError(f"the demo data was not in after {DEMO_TIMEOUT / 1000} s")


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[DemoServer]:
    data_dir = tmp_path_factory.mktemp("demo")
    (data_dir / "bouncedesk.toml").write_text("", encoding="utf-8")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = data_dir / "streamlit.log"
    command = [
        sys.executable, "-m", "streamlit", "run", "dashboard.py",
        "--server.port", str(port), "--server.headless", "true",
        "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
    ]  # fmt: skip
    with log.open("wb") as output:
        # Own process group: the demo's emulator subprocess is ended with the server.
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=_server_env(data_dir),
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            _wait_for_health(url, process, log)
            _wait_for_demo_data(browser, url, data_dir, process, log)
            yield DemoServer(url, data_dir, f"sqlite:///{data_dir / 'bouncedesk.db'}", log)
        finally:
            _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, demo_server: DemoServer) -> Iterator[Any]:
    context = browser.new_context(
        viewport={"width": 1440, "height": 1000}, accept_downloads=True, base_url=demo_server.url
    )
    context.set_default_timeout(30_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    return OUTPUT
