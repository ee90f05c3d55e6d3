"""Shared names for the browser journeys (fixtures are in conftest.py)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
OUTPUT = ROOT / "test-output" / "browser"
ACTOR = "browser.tester@qube.example"
DEMO_TIMEOUT = 180_000  # ms: the first page load waits for the demo to seed its database


@dataclass(frozen=True)
class DemoServer:
    url: str
    data_dir: Path
    database_url: str
    log: Path

    def emulator(self) -> dict[str, Any]:
        """Where the demo's emulator listens (written by ui.demo once it started)."""
        return json.loads((self.data_dir / "emulator.json").read_text(encoding="utf-8"))
