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
from ui.i18n import N_, _

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
        _refused(_("Sign-in is off, and this server can be reached from other machines."), problem)
    problem = request_refusal(st.context.headers.to_dict(), settings)
    if problem:  # not logged: the headers are the visitor's to choose
        _refused(_("Sign-in is off, and this page was not opened from this machine."), problem)
    _announce(describe_local_mode(options, settings))
    return local_actor(settings)


@cache
def _announce(line: str) -> None:
    """Log `line` once per server process (each distinct line: a changed setting shows)."""
    LOG.warning(line)


def describe(actor: Actor) -> str:
    """The sidebar's line about who is acting (shown with st.text: names are untrusted)."""
    if sign_in_configured():
        return _("Signed in as {name} ({role})").format(name=actor.name, role=role(actor.role))
    return _("Sign-in is off (local mode) — acting as {name} ({role})").format(
        name=actor.name, role=role(actor.role)
    )


def _sign_in() -> NoReturn:
    st.title("Bounce Desk")
    st.write(_("Sign in to continue."))
    st.button(_("Sign in"), key="sign_in", on_click=st.login, type="primary")
    st.stop()


def _no_access(identity: Identity, contact: str) -> NoReturn:
    st.title(_("No access"))
    st.write(
        _(
            "You are signed in, but Bounce Desk has not given this account a role, so it "
            "shows nothing. A role (viewer, operator or admin) is given by email address, "
            "email domain or group."
        )
    )
    st.text(_("Signed in as: {identity}").format(identity=identity.label))
    st.text(_("Ask {contact} for access.").format(contact=contact))
    st.button(_("Sign out"), key="no_access_sign_out", on_click=st.logout)
    st.stop()


def _refused(headline: str, problem: str) -> NoReturn:
    st.title(_("Bounce Desk will not start like this"))
    st.error(headline)
    st.text(problem)  # may quote the request's Host or Origin: plain text
    st.stop()


ROLES = {"viewer": N_("viewer"), "operator": N_("operator"), "admin": N_("admin")}
# What each action is, for the sentence that says who may do it (core decides who may).
ACTIONS = {
    Action.BROWSE: N_("Using Bounce Desk"),
    Action.EXPORT: N_("Exporting personal data"),
    Action.CONFIRM: N_("Marking addresses confirmed-valid or revoking a confirmation"),
    Action.SYNC: N_("Syncing the suppression list or checking import jobs"),
    Action.INGEST: N_("Storing notifications or retrying dead letters"),
    Action.IMPORT_DIRECTORY: N_("Importing the user directory"),
    Action.REMOVE_CONFIRMED: N_("Removing addresses from the suppression list"),
    Action.REMOVE_UNCONFIRMED: N_("Removing addresses that are not confirmed valid"),
    Action.REMOVE_COMPLAINT: N_("Removing addresses listed because of a complaint"),
    Action.REMOVE_REBOUNCED: N_(
        "Removing an address that hard-bounced again after an earlier removal"
    ),
    Action.CHANGE_SETTINGS: N_("Changing settings and policy"),
    Action.RUN_JOBS: N_("Running a job now"),
    Action.ACKNOWLEDGE_ALERTS: N_("Acknowledging or snoozing an alert"),
    Action.RESUME_SENDING: N_("Resuming sending for a configuration set the guard paused"),
    Action.RUN_RETENTION: N_("Deleting raw facts past their retention age"),
}


def role(name: object) -> str:
    """A role's name in this run's language."""
    text = ROLES.get(str(name))
    return _(text) if text else str(name)


def refusal(actor: Actor, action: Action) -> str | None:
    """Why `actor` may not do `action` (the help of the button it disables), or None when
    it may; core decides (`core.access.refusal`), the page only says it in its language."""
    if access.refusal(actor, action) is None:
        return None
    what = ACTIONS.get(action)
    needed = role(access.MINIMUM_ROLE[action])
    if what is None:  # an action added since: the generic sentence
        return _("This needs the {needed} role (yours: {role}); ask {contact}.").format(
            needed=needed, role=role(actor.role), contact=actor.contact
        )
    return _("{what} needs the {needed} role (yours: {role}); ask {contact}.").format(
        what=_(what), needed=needed, role=role(actor.role), contact=actor.contact
    )
