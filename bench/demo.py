"""How long the demo takes to show its overview: `streamlit run dashboard.py` on a fresh data
directory, then again on the same one, timed with headless Chromium.

    .venv/bin/python bench/demo.py                 # a first start and a later start
    .venv/bin/python bench/demo.py --starts 3

For each start: seconds from launch until /_stcore/health answers, then from healthy until
the overview is drawn (its headline metric on screen), until Streamlit is idle, and until
the demo's data is in (ui.demo's status file). Targets: the overview <= 5 s after healthy on a
first start, <= 2 s on a later one. The data directory is removed at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ui.demo import STATUS_FILE  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
FIRST_TARGET_S, LATER_TARGET_S = 5.0, 2.0
TIMEOUT_S = 300.0
# Drawn: the overview's headline metric is on screen and no script is running.
OVERVIEW = "[data-testid='stMetric']"


@dataclass(frozen=True)
class Start:
    healthy_s: float
    overview_s: float
    idle_s: float
    data_s: float | None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def launch(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BOUNCEDESK_"))}
    env.update(
        BOUNCEDESK_DEMO="true",
        BOUNCEDESK_DEMO_DATA_DIR=str(data_dir),
        BOUNCEDESK_CONFIG_FILE=str(data_dir / "none.toml"),
        # A free port rather than 8501: say that local mode (one person, this machine) is meant.
        BOUNCEDESK_LOCAL_MODE="true",
        PYTHONPATH=str(ROOT),
    )
    command = [
        sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.port", str(port),
        "--server.headless", "true", "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
    ]  # fmt: skip
    with log.open("ab") as output:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip


def wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("streamlit exited before it was healthy")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("streamlit never became healthy")


def stop(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def one_start(browser: object, data_dir: Path, log: Path) -> Start:
    (data_dir / STATUS_FILE).unlink(missing_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    launched = time.perf_counter()
    process = launch(data_dir, port, log)
    try:
        wait_healthy(url, process)
        healthy = time.perf_counter()
        page = browser.new_page()  # type: ignore[attr-defined]
        page.goto(url, timeout=TIMEOUT_S * 1000)
        page.locator(OVERVIEW).first.wait_for(timeout=TIMEOUT_S * 1000)
        drawn = time.perf_counter()
        page.get_by_test_id("stStatusWidget").wait_for(state="detached", timeout=TIMEOUT_S * 1000)
        idle = time.perf_counter()
        data = None
        while time.perf_counter() - healthy < TIMEOUT_S:
            if (data_dir / STATUS_FILE).exists():
                data = time.perf_counter() - healthy
                break
            time.sleep(0.2)
        page.close()
        return Start(healthy - launched, drawn - healthy, idle - healthy, data)
    finally:
        stop(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--starts", type=int, default=2, help="a first start, then later ones")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="bench_demo_"))
    data_dir, log = work / "demo", work / "streamlit.log"
    data_dir.mkdir()
    (data_dir / "none.toml").write_text("", encoding="utf-8")
    starts: list[Start] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
            )
            for _ in range(args.starts):
                starts.append(one_start(browser, data_dir, log))
            browser.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\ndemo start: seconds (healthy = launch to /_stcore/health; the rest from healthy)")
    print(f"{'start':<10}{'healthy':>10}{'overview':>10}{'idle':>10}{'data in':>10}   target")
    for i, s in enumerate(starts):
        target = FIRST_TARGET_S if i == 0 else LATER_TARGET_S
        data = f"{s.data_s:.1f}" if s.data_s is not None else "-"
        verdict = "OK " if s.overview_s <= target else "MISS"
        name = "first" if i == 0 else f"later {i}"
        print(
            f"{name:<10}{s.healthy_s:>10.1f}{s.overview_s:>10.1f}{s.idle_s:>10.1f}{data:>10}   "
            f"{verdict} overview <= {target:.0f} s"
        )


if __name__ == "__main__":
    main()
