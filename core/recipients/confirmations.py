"""Staff confirmations that an address is valid, their revocation, and who may be removed.

A confirmation makes an address *confirmed-valid* while it is not revoked and no bounce
SES actually attempted has happened since. ``OnAccountSuppressionList`` bounces do not end
a confirmation: SES produced them without trying the mailbox, only because the address is
on our suppression list, so they say nothing about whether the mailbox exists. (If they
counted, every password-reset mail to a suppressed address would cancel the confirmation
that is meant to get it off the list.)

History is never edited: a revocation stamps the confirmation it ends, and every change
is also written to the audit log in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Select,
    Subquery,
    case,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from core.access import Action, Actor, require
from core.addresses import is_valid_address, normalise_address
from core.audit import record_audit
from core.chunks import IN_LIST_SIZE, chunked
from core.clock import utcnow
from core.errors import InvalidInput
from core.policy import NOT_COUNTED_SUBTYPES
from core.store.db import translated_errors
from core.store.tables import CONFIRMATIONS, FACTS, MIRROR, SUMMARIES


class ConfirmOutcome(StrEnum):
    CONFIRMED = "confirmed"
    ALREADY_CONFIRMED = "already_confirmed"
    REVOKED = "revoked"
    NOT_CONFIRMED = "not_confirmed"
    INVALID = "invalid"
    DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class ConfirmResult:
    """What happened to one address of a confirm or revoke request (input order kept)."""

    address: str
    outcome: ConfirmOutcome
    message: str


@dataclass(frozen=True, slots=True)
class ConfirmationEntry:
    """One confirmation in an address's history; `current` if it makes the address
    confirmed-valid right now."""

    id: int
    address: str
    confirmed_at: datetime
    actor: str
    note: str
    revoked_at: datetime | None
    revoked_by: str | None
    revoke_note: str | None
    current: bool


@dataclass(frozen=True, slots=True)
class Candidate:
    """A suppressed address staff confirmed valid: safe to take off the suppression list.
    `email_address` is spelled as SES lists it (SES matches the exact string)."""

    address: str
    email_address: str
    suppression_reason: str
    suppressed_at: datetime | None
    confirmed_at: datetime
    confirmed_by: str
    note: str
    last_bounce_at: datetime | None


# --- The rule, as SQL the lists and exports reuse ------------------------------------------


def attempted_bounce(facts: Any) -> ColumnElement[bool]:
    """A bounce SES actually attempted (anything but OnAccountSuppressionList)."""
    subtype = func.lower(func.coalesce(facts.c.bounce_subtype, ""))
    return (facts.c.kind == "bounce") & subtype.not_in(sorted(NOT_COUNTED_SUBTYPES))


def _bounced_since_confirmation() -> ColumnElement[bool]:
    """EXISTS: an attempted bounce of the confirmation's address at or after it."""
    facts = FACTS.alias("later")
    return (
        select(literal(1))
        .where(
            facts.c.address == CONFIRMATIONS.c.address,
            facts.c.occurred_at >= CONFIRMATIONS.c.confirmed_at,
            attempted_bounce(facts),
        )
        .exists()
    )


def valid_confirmations() -> Select[Any]:
    """Unrevoked confirmations with no attempted bounce of their address since: the
    confirmations that make an address confirmed-valid (an address may have several)."""
    return select(CONFIRMATIONS).where(
        CONFIRMATIONS.c.revoked_at.is_(None), ~_bounced_since_confirmation()
    )


def confirmation_state() -> Subquery:
    """Per address with an unrevoked confirmation: `latest` (its time) and `valid` (1 when
    one of them makes the address confirmed-valid, else 0). One small table to LEFT JOIN
    instead of two lookups per listed row."""
    valid = case((_bounced_since_confirmation(), 0), else_=1)
    return (
        select(
            CONFIRMATIONS.c.address,
            func.max(CONFIRMATIONS.c.confirmed_at).label("latest"),
            func.max(valid).label("valid"),
        )
        .where(CONFIRMATIONS.c.revoked_at.is_(None))
        .group_by(CONFIRMATIONS.c.address)
        .subquery("confirmation_state")
    )


def confirmation_lookups(address: Any) -> tuple[Any, Any]:
    """(latest, valid) as correlated lookups on `address` (a column of the outer query):
    the cheap form for a page of rows; `confirmation_state` is the cheap form for all."""
    latest = (
        select(func.max(CONFIRMATIONS.c.confirmed_at))
        .where(CONFIRMATIONS.c.address == address, CONFIRMATIONS.c.revoked_at.is_(None))
        .scalar_subquery()
    )
    valid = valid_confirmations().where(CONFIRMATIONS.c.address == address).exists()
    return latest, valid


def confirmed_addresses() -> Select[Any]:
    """The addresses that are confirmed-valid now, for ``address IN (...)`` filters."""
    valid = valid_confirmations().subquery()
    return select(valid.c.address)


# --- Confirm and revoke --------------------------------------------------------------------


def confirm_valid(
    engine: Engine, addresses: Iterable[str], *, actor: Actor, note: str
) -> list[ConfirmResult]:
    """Record that staff checked each address exists (operator role). `note` (how it was
    checked) is required. An address already confirmed-valid is left alone and reported as
    such. Each confirmation gets its audit entry in the same transaction."""
    require(actor, Action.CONFIRM)
    _require("note", note)
    results, accepted = _screen(addresses)
    now = utcnow()
    with translated_errors(), engine.begin() as connection:
        already = _currently_valid(connection, accepted)
        rows = [_confirmation_row(a, now, actor.name, note) for a in accepted if a not in already]
        if rows:
            connection.execute(insert(CONFIRMATIONS), rows)
        for address in accepted:
            outcome = (
                ConfirmOutcome.ALREADY_CONFIRMED if address in already else ConfirmOutcome.CONFIRMED
            )
            results[address] = ConfirmResult(address, outcome, _message(outcome))
            if outcome is ConfirmOutcome.CONFIRMED:
                record_audit(
                    connection, actor, "confirmation.confirm", address, outcome, {"note": note}
                )
    return list(results.values())


def revoke_confirmation(
    engine: Engine, addresses: Iterable[str], *, actor: Actor, note: str
) -> list[ConfirmResult]:
    """End every unrevoked confirmation of each address (operator role); `note` (why) is
    required."""
    require(actor, Action.CONFIRM)
    _require("note", note)
    results, accepted = _screen(addresses)
    now = utcnow()
    with translated_errors(), engine.begin() as connection:
        active = _with_active_confirmation(connection, accepted)
        for chunk in chunked(sorted(active), IN_LIST_SIZE):
            connection.execute(
                update(CONFIRMATIONS)
                .where(CONFIRMATIONS.c.address.in_(chunk), CONFIRMATIONS.c.revoked_at.is_(None))
                .values(revoked_at=now, revoked_by=actor.name, revoke_note=note)
            )
        for address in accepted:
            outcome = ConfirmOutcome.REVOKED if address in active else ConfirmOutcome.NOT_CONFIRMED
            results[address] = ConfirmResult(address, outcome, _message(outcome))
            if outcome is ConfirmOutcome.REVOKED:
                record_audit(
                    connection, actor, "confirmation.revoke", address, outcome, {"note": note}
                )
    return list(results.values())


def _screen(addresses: Iterable[str]) -> tuple[dict[str, ConfirmResult], list[str]]:
    """Reject malformed and repeated input before touching the database. The dict keeps
    input order; accepted addresses get their result filled in later."""
    results: dict[str, ConfirmResult] = {}
    accepted: list[str] = []
    for raw in addresses:
        if not is_valid_address(raw):
            key = f"{raw!r}#{len(results)}"
            results[key] = ConfirmResult(raw, ConfirmOutcome.INVALID, "not a valid email address")
            continue
        address = normalise_address(raw)
        if address in results:
            results[f"{address}#{len(results)}"] = ConfirmResult(
                address, ConfirmOutcome.DUPLICATE, "listed more than once; handled once"
            )
            continue
        results[address] = ConfirmResult(address, ConfirmOutcome.INVALID, "")  # placeholder
        accepted.append(address)
    return results, accepted


_MESSAGES = {
    ConfirmOutcome.CONFIRMED: "confirmed valid",
    ConfirmOutcome.ALREADY_CONFIRMED: "already confirmed valid since its last bounce",
    ConfirmOutcome.REVOKED: "confirmation revoked",
    ConfirmOutcome.NOT_CONFIRMED: "had no confirmation to revoke",
}


def _message(outcome: ConfirmOutcome) -> str:
    return _MESSAGES.get(outcome, outcome.value)


def _require(name: str, value: str) -> None:
    if not value or not value.strip():
        raise InvalidInput(f"{name} is required and may not be blank")
    if "\x00" in value:
        # PostgreSQL text cannot hold U+0000; say so here rather than fail in the database.
        raise InvalidInput(f"{name} contains a NUL character")


def _confirmation_row(address: str, now: datetime, actor: str, note: str) -> dict[str, Any]:
    return {"address": address, "confirmed_at": now, "actor": actor, "note": note}


def _currently_valid(connection: Connection, addresses: Sequence[str]) -> set[str]:
    valid = valid_confirmations().subquery()
    found: set[str] = set()
    for chunk in chunked(addresses, IN_LIST_SIZE):
        found.update(connection.scalars(select(valid.c.address).where(valid.c.address.in_(chunk))))
    return found


def _with_active_confirmation(connection: Connection, addresses: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for chunk in chunked(addresses, IN_LIST_SIZE):
        query = select(CONFIRMATIONS.c.address).where(
            CONFIRMATIONS.c.address.in_(chunk), CONFIRMATIONS.c.revoked_at.is_(None)
        )
        found.update(connection.scalars(query))
    return found


# --- Reading -------------------------------------------------------------------------------


def confirmation_history(engine: Engine, address: str) -> list[ConfirmationEntry]:
    """Every confirmation of an address, newest first, revoked ones included."""
    address = normalise_address(address)
    valid = valid_confirmations().where(CONFIRMATIONS.c.address == address).subquery()
    query = (
        select(CONFIRMATIONS, CONFIRMATIONS.c.id.in_(select(valid.c.id)))
        .where(CONFIRMATIONS.c.address == address)
        .order_by(CONFIRMATIONS.c.confirmed_at.desc(), CONFIRMATIONS.c.id.desc())
    )
    with translated_errors(), engine.connect() as connection:
        return [
            ConfirmationEntry(
                id=row.id,
                address=row.address,
                confirmed_at=row.confirmed_at,
                actor=row.actor,
                note=row.note,
                revoked_at=row.revoked_at,
                revoked_by=row.revoked_by,
                revoke_note=row.revoke_note,
                current=bool(row[-1]),
            )
            for row in connection.execute(query)
        ]


def is_confirmed_valid(engine: Engine, address: str) -> bool:
    """Whether an unrevoked confirmation is newer than the address's last attempted bounce."""
    query = select(
        valid_confirmations().where(CONFIRMATIONS.c.address == normalise_address(address)).exists()
    )
    with translated_errors(), engine.connect() as connection:
        return bool(connection.scalar(query))


def removal_candidates(engine: Engine, *, limit: int | None = None) -> list[Candidate]:
    """Addresses on the suppression list (per our mirror) that are confirmed-valid since
    their last bounce: what the removal button offers by default. Oldest confirmation
    first, so the longest-waiting addresses go first."""
    valid = valid_confirmations().subquery()
    latest = (
        select(valid.c.address, func.max(valid.c.confirmed_at).label("confirmed_at"))
        .group_by(valid.c.address)
        .subquery()
    )
    query = (
        select(
            MIRROR.c.address,
            MIRROR.c.email_address,
            MIRROR.c.reason,
            MIRROR.c.last_update_time,
            valid.c.confirmed_at,
            valid.c.actor,
            valid.c.note,
            SUMMARIES.c.last_bounce_at,
        )
        .join(latest, latest.c.address == MIRROR.c.address)
        .join(
            valid,
            (valid.c.address == latest.c.address) & (valid.c.confirmed_at == latest.c.confirmed_at),
        )
        .outerjoin(SUMMARIES, SUMMARIES.c.address == MIRROR.c.address)
        .where(MIRROR.c.suppressed.is_(True))
        .order_by(valid.c.confirmed_at, MIRROR.c.address)
    )
    with translated_errors(), engine.connect() as connection:
        rows = connection.execute(query)
        candidates: dict[str, Candidate] = {}
        for row in rows:
            if row.address not in candidates:
                candidates[row.address] = Candidate(*row)
            if limit is not None and len(candidates) >= limit:
                break
        return list(candidates.values())
