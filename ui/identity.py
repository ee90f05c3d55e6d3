"""Who is using the dashboard, as a `core.access.Actor`.

With an ``[auth]`` section in ``.streamlit/secrets.toml`` people sign in with Streamlit's
OIDC login (any provider) and get the role `settings.roles` gives their email, domain or
group; without one the dashboard is in local mode: one person on their own machine, acting
as `settings.actor` with `settings.local_role`, and only on a loopback address.

`resolve()` returns the Actor of this run, or shows why nobody may act here (sign in first,
no role, local mode on a network address) and stops the run before any data is read. The
router and every page call it: a page can run without the router (tests, a bookmark).
What a role may do is decided in core; pages only disable what it may not use.
"""

from __future__ import annotations

from typing import NoReturn

import streamlit as st

from core.access import Actor, Identity, actor_for, local_actor, local_mode_refusal
from ui import resources


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
    problem = local_mode_refusal(st.get_option("server.address"), settings)
    if problem:
        _refused(problem)
    return local_actor(settings)


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


def _refused(problem: str) -> NoReturn:
    st.title("Bounce Desk will not start like this")
    st.error("Sign-in is off, and this server can be reached from other machines.")
    st.text(problem)
    st.stop()
