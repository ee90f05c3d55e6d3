"""Who is using the dashboard, as a `core.access.Actor`.

With an ``[auth]`` section in ``.streamlit/secrets.toml`` people sign in with Streamlit's
OIDC login (any provider) and get the role `settings.roles` gives their email, domain or
group; without one the dashboard is in local mode: one person on their own machine, acting
as `settings.actor` with `settings.local_role`, and only on a loopback address.

`resolve()` returns the Actor of this run, or shows why nobody may act here (sign in first,
no role, local mode where it may not run or for a browser it may not answer, see
`core.local_mode`) and stops the run before any data is read. The router and every page
call it: a page can run without the router (tests, a bookmark). The first run that decides
on local mode logs it (or why it refuses), so the server's output says so from the start.
What a role may do is decided in core; pages only disable what it may not use.
"""

from __future__ import annotations

from functools import cache
from typing import NoReturn

import streamlit as st
from streamlit.logger import get_logger

from core import access
from core.access import Action, Actor, Identity, actor_for, local_actor
from core.local_mode import (
    DEFAULT_SERVER_OPTIONS,
    describe_local_mode,
    request_refusal,
    server_refusal,
)
from ui import resources

LOG = get_logger(__name__)


def sign_in_configured() -> bool:
    """With [auth] configured st.user always says whether someone is logged in."""
    return st.user.get("is_logged_in") is not None


def resolve() -> Actor:
    """The Actor for this run; stops the run with an explanation when there is none."""
    settings = resources.settings()
    if sign_in_configured():
        if not st.user.get("is_logged_in"):
            _sign_in()
        identity = Identity.from_claims(st.user.to_dict(), settings.role_group_claim)
        actor = actor_for(identity, settings)
        if actor is None:
            _no_access(identity, settings.access_contact)
        return actor
    options = {name: st.get_option(name) for name in DEFAULT_SERVER_OPTIONS}
    problem = server_refusal(st.get_option("server.address"), options, settings)
    if problem:
        _announce(problem)
        _refused("Sign-in is off, and this server can be reached from other machines.", problem)
    problem = request_refusal(st.context.headers.to_dict(), settings)
    if problem:  # not logged: the headers are the visitor's to choose
        _refused("Sign-in is off, and this page was not opened from this machine.", problem)
    _announce(describe_local_mode(options, settings))
    return local_actor(settings)


@cache
def _announce(line: str) -> None:
    """Log `line` once per server process (each distinct line: a changed setting shows)."""
    LOG.warning(line)


def describe(actor: Actor) -> str:
    """The sidebar's line about who is acting (shown with st.text: names are untrusted)."""
    if sign_in_configured():
        return f"Signed in as {actor.name} ({actor.role})"
    return f"Sign-in is off (local mode) — acting as {actor.name} ({actor.role})"


def _sign_in() -> NoReturn:
    st.title("Bounce Desk")
    st.write("Sign in to continue.")
    st.button("Sign in", key="sign_in", on_click=st.login, type="primary")
    st.stop()


def _no_access(identity: Identity, contact: str) -> NoReturn:
    st.title("No access")
    st.write(
        "You are signed in, but Bounce Desk has not given this account a role, so it shows "
        "nothing. A role (viewer, operator or admin) is given by email address, email "
        "domain or group."
    )
    st.text(f"Signed in as: {identity.label}")
    st.text(f"Ask {contact} for access.")
    st.button("Sign out", key="no_access_sign_out", on_click=st.logout)
    st.stop()


def _refused(headline: str, problem: str) -> NoReturn:
    st.title("Bounce Desk will not start like this")
    st.error(headline)
    st.text(problem)  # may quote the request's Host or Origin: plain text
    st.stop()


def refusal(actor: Actor, action: Action) -> str | None:
    """Why `actor` may not do `action` (the help of the button it disables), or None when
    it may; core decides (`core.access.refusal`), the page only shows it."""
    return access.refusal(actor, action)
