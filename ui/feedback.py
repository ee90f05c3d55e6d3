"""How pages talk to people: errors in words, the demo badge, the acting user, empty states."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from core.errors import (
    AwsConfigurationError,
    BounceDeskError,
    SesAccessDenied,
    SesThrottled,
    SesUnreachable,
    StoreUnavailable,
)
from ui import resources, router

_HINTS: list[tuple[type[BounceDeskError], str]] = [
    (StoreUnavailable, "The database could not be reached. Nothing was changed."),
    (AwsConfigurationError, "Bounce Desk is not connected to AWS."),
    (SesAccessDenied, "AWS refused: the Bounce Desk role lacks a permission."),
    (SesThrottled, "SES is busy (too many requests). Wait a minute and try again."),
    (SesUnreachable, "SES could not be reached. Nothing was changed there."),
]


def describe(exc: BounceDeskError) -> str:
    """One sentence a support person can act on, then the detail."""
    for kind, hint in _HINTS:
        if isinstance(exc, kind):
            return f"{hint}\n\nDetail: {exc}"
    return str(exc)


@contextmanager
def reported(action: str) -> Iterator[None]:
    """Run `action`; a Bounce Desk error becomes an st.error instead of a traceback."""
    try:
        yield
    except BounceDeskError as exc:
        st.error(f"Could not {action}. {describe(exc)}", icon=":material/error:")


def demo_badge() -> None:
    if resources.settings().demo:
        st.badge("Demo data — local SES emulator", icon=":material/science:", color="orange")


def page_header(title: str, caption: str) -> None:
    """The first call of every page: routing check, title, demo badge, what the page is for."""
    router.ensure_routed()
    st.title(title)
    demo_badge()
    st.caption(caption)


def current_actor() -> str:
    """The signed-in user's email when sign-in is configured, else the configured actor."""
    if st.user.get("is_logged_in"):
        return str(st.user.get("email") or st.user.get("name") or resources.settings().actor)
    return resources.settings().actor


def plain(text: str) -> str:
    """Text safe inside a Markdown code span: no backticks, no line breaks."""
    return " ".join(text.replace("`", "'").split())


def sign_in_configured() -> bool:
    return st.user.get("is_logged_in") is not None


def empty_state(message: str) -> None:
    st.info(message, icon=":material/inbox:")


def flash(key: str, kind: str, message: str) -> None:
    """Keep a message for the next run (after st.rerun), so it shows above fresh data."""
    st.session_state[f"{key}_flash"] = (kind, message)


def show_flash(key: str) -> None:
    kind, message = st.session_state.pop(f"{key}_flash", (None, None))
    if kind == "success":
        st.success(message, icon=":material/check_circle:")
    elif kind == "warning":
        st.warning(message, icon=":material/warning:")
    elif kind == "error":
        st.error(message, icon=":material/error:")
