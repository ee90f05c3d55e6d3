"""Helpers for page tests (the fixtures are in conftest.py): run a page, read what it shows."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the pages import `ui` and `core` from the project root
    sys.path.insert(0, str(ROOT))

ACTOR = "support.tester@qube.example"
TIMEOUT = 60


def run_page(name: str, **state: Any) -> AppTest:
    """Run pages/<name>.py once, with session state set first."""
    at = AppTest.from_file(str(ROOT / "pages" / f"{name}.py"), default_timeout=TIMEOUT)
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def assert_clean(at: AppTest) -> None:
    """No exception and no error box on the page."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def badges(container: Any) -> list[str]:
    """Texts of st.badge elements (AppTest sees them as ':colour-badge[text]' markdown)."""
    found = []
    for element in container.markdown:
        value = element.value
        if "-badge[" in value and value.endswith("]"):
            found.append(value.split("-badge[", 1)[1][:-1])
    return found


def table_with(at: Any, column: str) -> Any:
    """The first st.dataframe showing `column` (read-only dataframes carry no key in AppTest)."""
    for frame in at.dataframe:
        if column in frame.value.columns:
            return frame.value
    raise AssertionError(f"no table with a {column!r} column")
