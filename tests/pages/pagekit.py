"""Helpers for page tests (the fixtures are in conftest.py): run a page, read what it shows."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

from core.access import Actor, Role

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the pages import `ui` and `core` from the project root
    sys.path.insert(0, str(ROOT))

ACTOR = "support.tester@qube.example"
# The same person, for calls into core that set the scene (the local mode's default role).
ACTING = Actor(ACTOR, Role.OPERATOR)
TIMEOUT = 60


def run_page(name: str, *, user: dict[str, Any] | None = None, **state: Any) -> AppTest:
    """Run pages/<name>.py once, with session state set first. `user` is what st.user says
    (see `signed_in`); without it the page runs in local mode."""
    at = AppTest.from_file(str(ROOT / "pages" / f"{name}.py"), default_timeout=TIMEOUT)
    if user is not None:
        at.user = user
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def signed_in(email: str, **claims: Any) -> dict[str, Any]:
    """st.user for someone signed in with OIDC ([auth] configured), their email verified."""
    return {
        "is_logged_in": True,
        "email": email,
        "email_verified": True,
        "name": email.split("@")[0],
        **claims,
    }


SIGNED_OUT = {"is_logged_in": False}  # [auth] configured, nobody signed in yet


def markdown_texts(at: Any) -> list[str]:
    """Everything shown through an element that interprets Markdown (or HTML, with
    unsafe_allow_html): where untrusted text must never appear."""
    kinds = ("markdown", "caption", "title", "header", "subheader", "success", "info",
             "warning", "error", "latex")  # fmt: skip
    texts = [str(element.value) for kind in kinds for element in getattr(at, kind)]
    texts += [str(element.label) for element in at.button]
    texts += [str(element.label) for element in at.checkbox]
    texts += [str(element.label) for element in at.text_input]
    texts += [str(element.label) for element in at.expander]
    return texts


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
