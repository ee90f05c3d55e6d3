"""How pages talk to people: errors in words, the demo badge, the acting user, empty states.

Text from outside (addresses, diagnostic codes, names, error details quoting them) is only
ever shown with st.text, st.code or in a dataframe: st.markdown, st.caption and the alert
boxes interpret Markdown, so they carry our own words only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from core.access import Actor
from core.errors import (
    AwsConfigurationError,
    BounceDeskError,
    InvalidInput,
    PermissionDenied,
    SesAccessDenied,
    SesThrottled,
    SesUnreachable,
    StoreUnavailable,
)
from ui import identity, resources, router
from ui.i18n import N_, _

_HINTS: list[tuple[type[BounceDeskError], str]] = [
    (PermissionDenied, N_("Your role does not allow this. Nothing was changed.")),
    (StoreUnavailable, N_("The database could not be reached. Nothing was changed.")),
    (AwsConfigurationError, N_("Bounce Desk is not connected to AWS.")),
    (SesAccessDenied, N_("AWS refused: the Bounce Desk role lacks a permission.")),
    (SesThrottled, N_("SES is busy (too many requests). Wait a minute and try again.")),
    (SesUnreachable, N_("SES could not be reached. Nothing was changed there.")),
    (InvalidInput, N_("Bounce Desk could not use what was asked; the detail says why.")),
]


def hint(exc: BounceDeskError) -> str:
    """One sentence a support person can act on (our words; the detail is shown apart)."""
    for kind, text in _HINTS:
        if isinstance(exc, kind):
            return _(text)
    return _("Bounce Desk reported a problem.")


@contextmanager
def reported(action: str) -> Iterator[None]:
    """Run `action`; a Bounce Desk error becomes an st.error instead of a traceback.
    `action` is our own words, already translated ("Could not {action}." is a whole
    sentence in the catalog); the error's detail (which may quote input) is plain text."""
    try:
        yield
    except BounceDeskError as exc:
        st.error(
            _("Could not {action}. {hint}").format(action=action, hint=hint(exc)),
            icon=":material/error:",
        )
        st.text(_("Detail: {detail}").format(detail=exc))


def demo_badge() -> None:
    if resources.settings().demo:
        st.badge(_("Demo data — local SES emulator"), icon=":material/science:", color="orange")


def page_header(title: str, caption: str) -> Actor:
    """The first call of every page: routing check, who is acting (or the screen saying why
    nobody may), title, demo badge, what the page is for."""
    router.ensure_routed()
    actor = identity.resolve()
    st.title(title)
    demo_badge()
    st.caption(caption)
    return actor


def empty_state(message: str) -> None:
    st.info(message, icon=":material/inbox:")


def flash(key: str, kind: str, message: str, details: list[str] | None = None) -> None:
    """Keep a message for the next run (after st.rerun), so it shows above fresh data.
    `message` is our words; `details` (addresses, SES messages) are shown as plain text."""
    st.session_state[f"{key}_flash"] = (kind, message, list(details or []))


def show_flash(key: str) -> None:
    kind, message, details = st.session_state.pop(f"{key}_flash", (None, None, []))
    if kind == "success":
        st.success(message, icon=":material/check_circle:")
    elif kind == "warning":
        st.warning(message, icon=":material/warning:")
    elif kind == "error":
        st.error(message, icon=":material/error:")
    for line in details:
        st.text(line)
