"""Who may do what: roles, the actions each allows, and the role of a signed-in person.

The checks are here and in the core functions that call `require`, so the CLI and the pages
obey the same rules; a page only disables what a role may not use.

Roles, each with everything the one before it has:
- viewer (support staff): browse, search, see an address's detail and history, export CSVs;
- operator (ops): also confirm addresses valid and revoke that, sync the suppression list and
  check import jobs, store notifications and retry dead letters, import the user directory,
  and remove *confirmed-valid* addresses from the suppression list;
- admin: also remove addresses that need admin (not confirmed valid since their last bounce,
  listed because of a complaint, or hard-bounced again after Bounce Desk removed them), each
  with a written reason, and change settings and policy.

A signed-in identity gets its role from ``settings.roles``::

    [roles]
    admin = ["alice@corp.example", "group:ses-admins"]
    operator = ["@corp.example"]
    viewer = ["group:support"]

A pattern is an exact email, ``@domain`` (that domain only, not its subdomains) or
``group:NAME`` (a value of the OIDC group claim, ``settings.role_group_claim``). The most
specific match decides: an email, else a group, else a domain; among several matches of the
same kind the highest role wins. So ``viewer = ["intern@corp.example"]`` keeps one person a
viewer although ``@corp.example`` makes everyone else an operator. Emails and domains
compare case-insensitively, groups exactly. An email counts only when the provider says it
verified it (``email_verified`` true, or the string "true"): a missing claim, ``false``,
``"false"`` or anything else matches no email or domain pattern. No match means no access.

The audit log names a signed-in person by what the provider can never hand to someone else,
the issuer and subject (``iss``, ``sub``), with the verified email beside it for people to
read; never by an unverified email or the free-text ``name`` claim.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from core.addresses import is_valid_address
from core.errors import PermissionDenied

if TYPE_CHECKING:
    from core.settings import Settings

DEFAULT_CONTACT = "your Bounce Desk administrator"
GROUP_PREFIX = "group:"
_DOMAIN = re.compile(
    r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$", re.IGNORECASE
)


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"


_RANK = {Role.VIEWER: 1, Role.OPERATOR: 2, Role.ADMIN: 3}


class Action(StrEnum):
    """Everything a role may or may not do; `MINIMUM_ROLE` is the matrix."""

    BROWSE = "browse"
    EXPORT = "export"
    CONFIRM = "confirm"  # confirm valid, revoke
    SYNC = "sync"  # sync the suppression mirror, check import jobs
    INGEST = "ingest"  # store notifications by hand, retry dead letters
    IMPORT_DIRECTORY = "import_directory"
    REMOVE_CONFIRMED = "remove_confirmed"
    REMOVE_UNCONFIRMED = "remove_unconfirmed"
    REMOVE_COMPLAINT = "remove_complaint"
    REMOVE_REBOUNCED = "remove_rebounced"
    CHANGE_SETTINGS = "change_settings"
    # Alerts (issue 11)
    ACKNOWLEDGE_ALERTS = "acknowledge_alerts"  # acknowledge or snooze an alert
    RESUME_SENDING = "resume_sending"  # resume a configuration set the guard paused
    RUN_RETENTION = "run_retention"  # delete raw facts past their age (core/retention)
    RUN_JOBS = "run_jobs"  # run a job now from the dashboard


MINIMUM_ROLE: dict[Action, Role] = {
    Action.BROWSE: Role.VIEWER,
    Action.EXPORT: Role.VIEWER,
    Action.CONFIRM: Role.OPERATOR,
    Action.SYNC: Role.OPERATOR,
    Action.INGEST: Role.OPERATOR,
    Action.IMPORT_DIRECTORY: Role.OPERATOR,
    Action.REMOVE_CONFIRMED: Role.OPERATOR,
    Action.REMOVE_UNCONFIRMED: Role.ADMIN,
    Action.REMOVE_COMPLAINT: Role.ADMIN,
    Action.REMOVE_REBOUNCED: Role.ADMIN,
    Action.CHANGE_SETTINGS: Role.ADMIN,
    Action.ACKNOWLEDGE_ALERTS: Role.OPERATOR,
    Action.RESUME_SENDING: Role.ADMIN,
    Action.RUN_RETENTION: Role.OPERATOR,
    Action.RUN_JOBS: Role.ADMIN,
}

# The subject of the sentence a refusal says ("... needs the admin role").
_WHAT: dict[Action, str] = {
    Action.BROWSE: "Using Bounce Desk",
    Action.EXPORT: "Exporting personal data",
    Action.CONFIRM: "Marking addresses confirmed-valid or revoking a confirmation",
    Action.SYNC: "Syncing the suppression list or checking import jobs",
    Action.INGEST: "Storing notifications or retrying dead letters",
    Action.IMPORT_DIRECTORY: "Importing the user directory",
    Action.REMOVE_CONFIRMED: "Removing addresses from the suppression list",
    Action.REMOVE_UNCONFIRMED: "Removing addresses that are not confirmed valid",
    Action.REMOVE_COMPLAINT: "Removing addresses listed because of a complaint",
    Action.REMOVE_REBOUNCED: "Removing an address that hard-bounced again after an earlier removal",
    Action.CHANGE_SETTINGS: "Changing settings and policy",
    Action.ACKNOWLEDGE_ALERTS: "Acknowledging or snoozing an alert",
    Action.RESUME_SENDING: "Resuming sending for a configuration set the guard paused",
    Action.RUN_RETENTION: "Deleting raw facts past their retention age",
    Action.RUN_JOBS: "Running a job now",
}


def allows(role: Role, action: Action) -> bool:
    """Whether `role` may do `action` (the role matrix)."""
    return _RANK[role] >= _RANK[MINIMUM_ROLE[action]]


@dataclass(frozen=True, slots=True)
class Actor:
    """Someone acting through Bounce Desk: the name the audit log records, the role that
    decides what they may do, and whom a refusal tells them to ask."""

    name: str
    role: Role
    contact: str = DEFAULT_CONTACT

    def can(self, action: Action) -> bool:
        return allows(self.role, action)


def refusal(actor: Actor, action: Action) -> str | None:
    """The sentence `require` would raise, or None when `actor` may do `action`; pages use it
    as the tooltip of a disabled button."""
    if actor.can(action):
        return None
    needed = MINIMUM_ROLE[action]
    return f"{_WHAT[action]} needs the {needed} role (yours: {actor.role}); ask {actor.contact}."


def require(actor: Actor, action: Action) -> None:
    """Raise PermissionDenied unless `actor` may do `action`. Every core function that
    changes state or exports personal data calls this first."""
    if not isinstance(actor, Actor):
        raise TypeError(f"an Actor (core.access.Actor) is required, not {type(actor).__name__}")
    message = refusal(actor, action)
    if message is not None:
        raise PermissionDenied(message)


# --- Identities and their roles ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Identity:
    """A signed-in person as the OIDC provider describes them."""

    email: str | None
    groups: tuple[str, ...] = ()
    name: str | None = None
    email_verified: bool = False
    issuer: str | None = None
    subject: str | None = None

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any], group_claim: str = "groups") -> Identity:
        """From `st.user` (any OIDC provider). The group claim may be a list or a
        comma-separated string. Only a true `email_verified` (or the string "true", which
        some providers send) marks the email verified."""
        email = claims.get("email")
        return cls(
            email=str(email).strip() if email else None,
            groups=_groups(claims.get(group_claim)),
            name=str(claims["name"]) if claims.get("name") else None,
            email_verified=_is_true(claims.get("email_verified")),
            issuer=_stripped(claims.get("iss")),
            subject=_stripped(claims.get("sub")),
        )

    @property
    def verified_email(self) -> str | None:
        """The email, when the provider verified it; the only email a role or log may use."""
        return self.email if self.email_verified else None

    @property
    def label(self) -> str:
        """How the No access page names this person to themselves: the email, else the name.
        Display only; `audit_name` is who they are."""
        return self.email or self.name or "unknown"

    @property
    def audit_name(self) -> str | None:
        """Who the audit log says acted: the verified email beside the issuer and subject,
        which the provider never reassigns (an email can change hands or be edited). A
        provider that sends no subject is not OIDC-conformant; then only a verified email
        names the person, and without one nobody can be named (None)."""
        if self.issuer and self.subject:
            key = f"[{self.issuer} {self.subject}]"
            return f"{self.verified_email} {key}" if self.verified_email else key
        return self.verified_email


def _is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _stripped(value: Any) -> str | None:
    return text if value is not None and (text := str(value).strip()) else None


def _groups(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    items: Iterable[Any] = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, Iterable):
        return (str(items),)
    return tuple(text for item in items if (text := str(item).strip()))


@dataclass(frozen=True, slots=True)
class Pattern:
    kind: Literal["email", "group", "domain"]
    value: str


def parse_pattern(text: str) -> Pattern:
    """``alice@corp.example``, ``@corp.example`` or ``group:NAME``; ValueError otherwise."""
    raw = text.strip()
    if raw.startswith(GROUP_PREFIX) and raw[len(GROUP_PREFIX) :].strip():
        return Pattern("group", raw[len(GROUP_PREFIX) :].strip())
    if "*" in raw:  # a valid address character, but surely meant as a wildcard
        raise ValueError(
            f"{text!r} is not a role pattern: patterns have no wildcards; use an email "
            "domain (@corp.example) for everyone in a domain"
        )
    if raw.startswith("@") and _DOMAIN.match(raw[1:]):
        return Pattern("domain", raw[1:].lower())
    if "@" in raw[1:] and is_valid_address(raw):
        return Pattern("email", raw.lower())
    raise ValueError(
        f"{text!r} is not a role pattern: use an email (alice@corp.example), "
        "an email domain (@corp.example) or an OIDC group (group:NAME)"
    )


def check_role_patterns(roles: Mapping[Role, Sequence[str]]) -> None:
    """Every pattern parses, and none is listed under two roles (ValueError)."""
    owner: dict[Pattern, Role] = {}
    for role, patterns in roles.items():
        for text in patterns:
            pattern = parse_pattern(text)
            if pattern in owner and owner[pattern] != role:
                raise ValueError(f"{text!r} is listed under both {owner[pattern]} and {role}")
            owner[pattern] = role


def role_for(identity: Identity, settings: Settings) -> Role | None:
    """The role `settings.roles` gives this identity (see the module docstring), or None."""
    matches: dict[str, list[Role]] = {"email": [], "group": [], "domain": []}
    email = identity.verified_email.lower() if identity.verified_email else None
    for role, patterns in settings.roles.items():
        for text in patterns:
            pattern = parse_pattern(text)
            if _matches(pattern, email, identity.groups):
                matches[pattern.kind].append(Role(role))
    for kind in ("email", "group", "domain"):
        if matches[kind]:
            return max(matches[kind], key=_RANK.__getitem__)
    return None


def _matches(pattern: Pattern, email: str | None, groups: tuple[str, ...]) -> bool:
    if pattern.kind == "group":
        return pattern.value in groups
    if email is None:
        return False
    if pattern.kind == "email":
        return email == pattern.value
    return email.rpartition("@")[2] == pattern.value


def actor_for(identity: Identity, settings: Settings) -> Actor | None:
    """The Actor a signed-in identity acts as (named by `Identity.audit_name`), or None when
    it has no role or nothing the audit log could name it by."""
    role = role_for(identity, settings)
    name = identity.audit_name
    if role is None or name is None:
        return None
    return Actor(name, role, settings.access_contact)


def cli_actor(settings: Settings) -> Actor:
    """The CLI acts as `settings.actor` with `settings.cli_role`."""
    return Actor(settings.actor, settings.cli_role, settings.access_contact)


def local_actor(settings: Settings) -> Actor:
    """The dashboard without sign-in acts as `settings.actor` with `settings.local_role`."""
    return Actor(settings.actor, settings.local_role, settings.access_contact)


# --- Local mode --------------------------------------------------------------------------


def is_loopback(address: str | None) -> bool:
    """Whether a server address only accepts connections from this machine. Unset or empty
    means every interface (Streamlit's default)."""
    if not address or not address.strip():
        return False
    host = address.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def local_mode_refusal(server_address: str | None, settings: Settings) -> str | None:
    """Why the dashboard must not run without sign-in on this address, or None when it may.

    Without sign-in everyone who reaches the server acts as `settings.actor`, so that is
    only allowed on a loopback address, or when `allow_remote_local_mode` says someone
    decided otherwise (e.g. behind a proxy that authenticates)."""
    if is_loopback(server_address) or settings.allow_remote_local_mode:
        return None
    where = server_address or "every network interface"
    return (
        f"Sign-in is not configured and the server listens on {where}: anyone who can reach "
        f"it would act as {settings.actor} with the {settings.local_role} role. Configure "
        "sign-in ([auth] in .streamlit/secrets.toml), listen on 127.0.0.1 (server.address), "
        "or set allow_remote_local_mode = true (BOUNCEDESK_ALLOW_REMOTE_LOCAL_MODE) if a "
        "proxy in front already restricts who reaches it."
    )
