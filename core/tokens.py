"""API tokens: created and revoked by an admin, shown once, stored only as a hash.

A token reads ``bd_<key_id>_<secret>``. The key id finds the token's row; the sha256 of the
whole token is compared with the stored one in constant time (`hmac.compare_digest`), so
neither a timing difference nor a copy of the database gives a usable token away.

Scopes: ``read`` asks (one address, the bulk check, the exclusion list, health);
``verify`` also records that a user re-verified their address (and, with
``auto_remove_on_reverify``, the removal that may follow). A token acts as an `Actor` named
``token:<name>``: a read token as a viewer, a verify token as an operator, so the
guardrails that hold for a click hold for a token too (a complaint needs an admin).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, insert, select, update

from core.access import Action, Actor, Role, require
from core.audit import record_audit
from core.clock import utcnow
from core.errors import InvalidInput
from core.store.db import translated_errors
from core.store.tables import API_TOKENS

PREFIX = "bd_"
ACTOR_PREFIX = "token:"
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_TOKEN = re.compile(r"bd_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")
# How stale `last_used_at` may get before a request writes it again: a busy token must not
# turn every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=5)


class Scope(StrEnum):
    READ = "read"
    VERIFY = "verify"


SCOPE_ROLES = {Scope.READ: Role.VIEWER, Scope.VERIFY: Role.OPERATOR}


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """One token as the admin page and `tokens list` show it (never the secret)."""

    id: int
    name: str
    key_id: str
    scope: Scope
    created_at: datetime
    created_by: str
    last_used_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def allows(self, scope: Scope) -> bool:
        """Whether this token may use an endpoint that needs `scope` (verify includes read)."""
        return scope is Scope.READ or self.scope is Scope.VERIFY

    def actor(self, contact: str) -> Actor:
        """Who the audit log says acted when this token was used."""
        return Actor(f"{ACTOR_PREFIX}{self.name}", SCOPE_ROLES[self.scope], contact)


@dataclass(frozen=True, slots=True)
class CreatedToken:
    """A new token: `token` is shown this once and never stored."""

    info: TokenInfo
    token: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def check_name(name: str) -> str:
    """A token's name: lower-case letters, digits, '.', '_' and '-', at most 64."""
    if not _NAME.fullmatch(name):
        raise InvalidInput(
            f"token name {name!r} is not allowed: use 1-64 lower-case letters, digits, "
            "'.', '_' or '-', starting with a letter or digit"
        )
    return name


def parse_scope(value: str) -> Scope:
    try:
        return Scope(value)
    except ValueError:
        raise InvalidInput(
            f"scope {value!r} is unknown: use {' or '.join(s.value for s in Scope)}"
        ) from None


def create_token(engine: Engine, name: str, scope: Scope, *, actor: Actor) -> CreatedToken:
    """A new token for `name` (admin). The name must be new, also among revoked tokens, so
    the audit log's ``token:<name>`` always means one token."""
    require(actor, Action.MANAGE_TOKENS)
    check_name(name)
    key_id = secrets.token_hex(8)
    token = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    now = utcnow()
    with translated_errors(), engine.begin() as connection:
        if connection.scalar(select(API_TOKENS.c.id).where(API_TOKENS.c.name == name)):
            raise InvalidInput(f"a token named {name!r} exists already (names are never reused)")
        connection.execute(
            insert(API_TOKENS).values(
                name=name,
                key_id=key_id,
                secret_hash=_hash(token),
                scope=scope.value,
                created_at=now,
                created_by=actor.name,
            )
        )
        record_audit(
            connection, actor, "tokens.create", None, "created", {"token": name, "scope": scope}
        )
    return CreatedToken(_info_by_name(engine, name), token)


def revoke_token(engine: Engine, name: str, *, actor: Actor) -> TokenInfo:
    """Revoke the token `name` (admin); it is refused from the next request on. Revoking a
    revoked token changes nothing and says so."""
    require(actor, Action.MANAGE_TOKENS)
    with translated_errors(), engine.begin() as connection:
        row = connection.execute(select(API_TOKENS).where(API_TOKENS.c.name == name)).first()
        if row is None:
            raise InvalidInput(f"no token is named {name!r}")
        if row.revoked_at is None:
            connection.execute(
                update(API_TOKENS)
                .where(API_TOKENS.c.id == row.id)
                .values(revoked_at=utcnow(), revoked_by=actor.name)
            )
            record_audit(connection, actor, "tokens.revoke", None, "revoked", {"token": name})
    return _info_by_name(engine, name)


def list_tokens(engine: Engine) -> list[TokenInfo]:
    """Every token, active ones first, then by name."""
    query = select(API_TOKENS).order_by(API_TOKENS.c.revoked_at.is_not(None), API_TOKENS.c.name)
    with translated_errors(), engine.connect() as connection:
        return [_info(row) for row in connection.execute(query)]


def authenticate(engine: Engine, presented: str) -> TokenInfo | None:
    """The active token `presented` is, or None (malformed, unknown or revoked)."""
    match = _TOKEN.fullmatch(presented)
    if match is None:
        return None
    with translated_errors(), engine.connect() as connection:
        row = connection.execute(
            select(API_TOKENS).where(API_TOKENS.c.key_id == match.group(1))
        ).first()
    if row is None or not hmac.compare_digest(row.secret_hash, _hash(presented)):
        return None
    if row.revoked_at is not None:
        return None
    info = _info(row)
    _touch(engine, info)
    return info


def _touch(engine: Engine, info: TokenInfo) -> None:
    now = utcnow()
    if info.last_used_at is not None and now - info.last_used_at < LAST_USED_RESOLUTION:
        return
    with translated_errors(), engine.begin() as connection:
        connection.execute(
            update(API_TOKENS).where(API_TOKENS.c.id == info.id).values(last_used_at=now)
        )


def _info_by_name(engine: Engine, name: str) -> TokenInfo:
    with translated_errors(), engine.connect() as connection:
        return _info(connection.execute(select(API_TOKENS).where(API_TOKENS.c.name == name)).one())


def _info(row: Any) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        name=row.name,
        key_id=row.key_id,
        scope=Scope(row.scope),
        created_at=row.created_at,
        created_by=row.created_by,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
        revoked_by=row.revoked_by,
    )
