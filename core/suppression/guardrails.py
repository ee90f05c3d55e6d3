"""Who may be taken off the SES suppression list, by whom: the removal guardrails.

`plan_removal` is the dry run: for each requested address it says whether this actor may
remove it with this request (`allowed`), whether only an admin may (`needs_admin`), or
whether the request cannot remove it at all (`blocked`), and why. The removal functions in
`core.suppression.removal` compute the same plan and refuse unless every address is allowed,
so a page, the CLI and a script all meet the same rules.

The rules:
- operators may remove an address confirmed valid after its last bounce (see
  `core.recipients.confirmations`); nobody below operator may remove anything;
- these need an admin who includes them explicitly (`override`) with a written reason:
  an address not confirmed valid since its last bounce, one SES lists because of a
  complaint, and one Bounce Desk removed before that hard-bounced again since (a removal
  whose answer was lost, or an unfinished import job, counts as one);
- at most `max_per_click` addresses go one SES call each; a larger request goes through an
  import job, confirmed once more by giving its exact size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, case, func, or_, select

from core.access import Action, Actor, Role, refusal, require
from core.addresses import is_valid_address, normalise_address
from core.chunks import IN_LIST_SIZE, chunked
from core.errors import InvalidInput
from core.recipients.confirmations import attempted_bounce, valid_confirmations
from core.store.db import translated_errors
from core.store.models import Outcome
from core.store.tables import CONFIRMATIONS, FACTS, MIRROR, RESULTS


class Verdict(StrEnum):
    ALLOWED = "allowed"
    NEEDS_ADMIN = "needs_admin"
    BLOCKED = "blocked"


class Flag(StrEnum):
    """Why an address needs an admin."""

    UNCONFIRMED = "unconfirmed"
    COMPLAINT = "complaint"
    REBOUNCED = "rebounced"


FLAG_ACTIONS = {
    Flag.UNCONFIRMED: Action.REMOVE_UNCONFIRMED,
    Flag.COMPLAINT: Action.REMOVE_COMPLAINT,
    Flag.REBOUNCED: Action.REMOVE_REBOUNCED,
}


# --- Input ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RejectedLine:
    """An input line we will not act on, and why (malformed, duplicate)."""

    line: int
    raw: str
    reason: str


@dataclass(frozen=True, slots=True)
class ValidatedAddresses:
    accepted: list[str]  # normalised, in input order, each once
    rejected: list[RejectedLine]


def validate_addresses(lines: Iterable[str]) -> ValidatedAddresses:
    """Check operator input line by line before any SES call; blank lines are skipped."""
    accepted: list[str] = []
    rejected: list[RejectedLine] = []
    first_line: dict[str, int] = {}
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        if not is_valid_address(raw):
            rejected.append(RejectedLine(number, raw, "not a valid email address"))
            continue
        address = normalise_address(raw)
        if address in first_line:
            reason = f"duplicate of line {first_line[address]}"
            rejected.append(RejectedLine(number, raw, reason))
            continue
        first_line[address] = number
        accepted.append(address)
    return ValidatedAddresses(accepted, rejected)


# --- The plan ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlannedAddress:
    """One address of a plan. `on_list` is what the mirror said at its last sync (None when
    it does not know the address)."""

    address: str
    verdict: Verdict
    why: str
    flags: tuple[Flag, ...]
    on_list: bool | None


@dataclass(frozen=True, slots=True)
class RemovalPlan:
    """What a removal request would do, address by address, for one actor."""

    actor: str
    role: Role
    items: tuple[PlannedAddress, ...]
    rejected: tuple[RejectedLine, ...]
    max_per_click: int

    @property
    def allowed(self) -> list[str]:
        return [item.address for item in self.items if item.verdict is Verdict.ALLOWED]

    def count(self, verdict: Verdict) -> int:
        return sum(1 for item in self.items if item.verdict is verdict)

    @property
    def flagged(self) -> dict[str, list[str]]:
        """Allowed addresses that needed an admin, with why (what the audit log keeps)."""
        return {
            item.address: [str(flag) for flag in item.flags]
            for item in self.items
            if item.verdict is Verdict.ALLOWED and item.flags
        }

    @property
    def method(self) -> str:
        """`api` (one call per address) up to max_per_click allowed addresses, else
        `import_job`."""
        return "api" if len(self.allowed) <= self.max_per_click else "import_job"

    @property
    def ok(self) -> bool:
        """Every requested address is allowed and no line was rejected."""
        return not self.rejected and all(i.verdict is Verdict.ALLOWED for i in self.items)


@dataclass(frozen=True, slots=True)
class _Evidence:
    on_list: bool | None = None
    reason: str | None = None
    confirmed_valid: bool = False
    confirmed_at: datetime | None = None
    last_bounce_at: datetime | None = None
    removed_at: datetime | None = None
    rebounced: bool = False


def plan_removal(
    engine: Engine,
    lines: Iterable[str],
    *,
    actor: Actor,
    reason: str = "",
    override: bool = False,
    max_per_click: int,
) -> RemovalPlan:
    """The dry run: what removing these addresses would do for `actor`, changing nothing.

    `override` (admins only) includes the addresses that need an admin; they then need a
    written `reason`."""
    validated = validate_addresses(lines)
    evidence = _gather(engine, validated.accepted)
    items = tuple(
        _plan_one(address, evidence.get(address, _Evidence()), actor, reason, override)
        for address in validated.accepted
    )
    return RemovalPlan(
        actor.name, actor.role, items, tuple(validated.rejected), max_per_click=max_per_click
    )


def authorise(plan: RemovalPlan, actor: Actor) -> None:
    """Raise unless every planned address is allowed: PermissionDenied naming the role
    needed, InvalidInput for what an admin still has to decide. Nothing is sent before."""
    require(actor, Action.REMOVE_CONFIRMED)
    refused = [item for item in plan.items if item.verdict is not Verdict.ALLOWED]
    if not refused:
        return
    for flag in refused[0].flags:
        require(actor, FLAG_ACTIONS[flag])
    first = refused[0]
    raise InvalidInput(
        f"{len(refused)} of the addresses cannot be removed with this request "
        f"(first: {first.address}: {first.why}); leave them out or decide on them first"
    )


def flags_of(engine: Engine, addresses: Sequence[str]) -> dict[str, set[Flag]]:
    """Which of these addresses need an admin now, and why (for resuming a run)."""
    evidence = _gather(engine, addresses)
    found: dict[str, set[Flag]] = {}
    for address in addresses:
        flags = _flags(evidence.get(address, _Evidence()))
        if flags:
            found[address] = set(flags)
    return found


def require_for_flags(actor: Actor, flags: Iterable[Flag]) -> None:
    """PermissionDenied unless `actor` may remove addresses with these flags."""
    require(actor, Action.REMOVE_CONFIRMED)
    for flag in sorted(set(flags)):
        require(actor, FLAG_ACTIONS[flag])


def _flags(evidence: _Evidence) -> tuple[Flag, ...]:
    flags: list[Flag] = []
    if not evidence.confirmed_valid:
        flags.append(Flag.UNCONFIRMED)
    if evidence.reason == "COMPLAINT":
        flags.append(Flag.COMPLAINT)
    if evidence.rebounced:
        flags.append(Flag.REBOUNCED)
    return tuple(flags)


def _plan_one(
    address: str, evidence: _Evidence, actor: Actor, reason: str, override: bool
) -> PlannedAddress:
    flags = _flags(evidence)

    def planned(verdict: Verdict, why: str) -> PlannedAddress:
        return PlannedAddress(address, verdict, why, flags, evidence.on_list)

    denied = refusal(actor, Action.REMOVE_CONFIRMED)
    if denied:
        return planned(Verdict.BLOCKED, denied)
    if not flags:
        return planned(
            Verdict.ALLOWED, "confirmed valid since its last bounce" + _listing(evidence)
        )
    facts = "; ".join(_describe(flag, evidence) for flag in flags)
    missing = [FLAG_ACTIONS[f] for f in flags if not actor.can(FLAG_ACTIONS[f])]
    if missing:
        return planned(Verdict.NEEDS_ADMIN, f"{facts}. {refusal(actor, missing[0])}")
    if not override:
        return planned(
            Verdict.NEEDS_ADMIN, f"{facts}. An admin must include it on purpose, with a reason."
        )
    if not reason.strip():
        return planned(Verdict.BLOCKED, f"{facts}. A written reason is required.")
    return planned(Verdict.ALLOWED, f"{facts}. Included by an admin, with a written reason.")


def _listing(evidence: _Evidence) -> str:
    if evidence.on_list is False:
        return " (not on the list at the last sync: SES will say)"
    return ""


def _describe(flag: Flag, evidence: _Evidence) -> str:
    if flag is Flag.COMPLAINT:
        return "listed by SES because of a complaint"
    if flag is Flag.REBOUNCED:
        return f"removed by Bounce Desk on {evidence.removed_at:%Y-%m-%d}, then hard-bounced again"
    if evidence.confirmed_at and evidence.last_bounce_at:
        return (
            f"its confirmation ({evidence.confirmed_at:%Y-%m-%d}) is older than its last "
            f"bounce ({evidence.last_bounce_at:%Y-%m-%d})"
        )
    return "not confirmed valid since its last bounce"


# --- Evidence from the database ------------------------------------------------------------


def _gather(engine: Engine, addresses: Sequence[str]) -> dict[str, _Evidence]:
    found: dict[str, dict[str, Any]] = {address: {} for address in addresses}
    with translated_errors(), engine.connect() as connection:
        for chunk in chunked(addresses, IN_LIST_SIZE):
            for query, apply in _lookups(chunk):
                for row in connection.execute(query):
                    apply(found[row[0]], row)
    return {address: _Evidence(**values) for address, values in found.items()}


def _lookups(chunk: list[str]) -> list[tuple[Any, Callable[[dict[str, Any], Any], None]]]:
    """(query, how to record a row) pairs; every query's first column is the address."""

    def mirror(values: dict[str, Any], row: Any) -> None:
        values.update(on_list=bool(row.suppressed), reason=row.reason)

    def valid(values: dict[str, Any], row: Any) -> None:
        values["confirmed_valid"] = True

    def confirmed(values: dict[str, Any], row: Any) -> None:
        values["confirmed_at"] = row.at

    def bounced(values: dict[str, Any], row: Any) -> None:
        values["last_bounce_at"] = row.at

    def removed(values: dict[str, Any], row: Any) -> None:
        values.update(removed_at=row.at, rebounced=bool(row.again))

    valid_sq = valid_confirmations().subquery()
    return [
        (
            select(MIRROR.c.address, MIRROR.c.suppressed, MIRROR.c.reason).where(
                MIRROR.c.address.in_(chunk)
            ),
            mirror,
        ),
        (select(valid_sq.c.address).where(valid_sq.c.address.in_(chunk)).distinct(), valid),
        (
            select(CONFIRMATIONS.c.address, func.max(CONFIRMATIONS.c.confirmed_at).label("at"))
            .where(CONFIRMATIONS.c.address.in_(chunk), CONFIRMATIONS.c.revoked_at.is_(None))
            .group_by(CONFIRMATIONS.c.address),
            confirmed,
        ),
        (
            select(FACTS.c.address, func.max(FACTS.c.occurred_at).label("at"))
            .where(FACTS.c.address.in_(chunk), attempted_bounce(FACTS))
            .group_by(FACTS.c.address),
            bounced,
        ),
        (_rebounced_query(chunk), removed),
    ]


def _rebounced_query(chunk: list[str]) -> Any:
    """Per address Bounce Desk removed: the last removal, and whether an attempted hard
    bounce came after it (the address may not exist after all).

    A removal counts from when it was recorded, and so does one SES may have carried out
    without our hearing back: a call still in flight (from `attempted_at` on a pending
    result: a lost response, a database failure, Ctrl-C mid-call) and addresses handed to
    an import job that has not reported yet."""
    pending = RESULTS.c.outcome == Outcome.PENDING
    at = case((pending, RESULTS.c.attempted_at), else_=RESULTS.c.updated_at)
    maybe_removed = or_(
        RESULTS.c.outcome.in_((Outcome.REMOVED, Outcome.SUBMITTED)),
        pending & RESULTS.c.attempted_at.is_not(None),
    )
    last = (
        select(RESULTS.c.address, func.max(at).label("at"))
        .where(RESULTS.c.address.in_(chunk), maybe_removed)
        .group_by(RESULTS.c.address)
        .subquery("last_removal")
    )
    later = FACTS.alias("later")
    again = (
        select(func.count())
        .where(
            later.c.address == last.c.address,
            later.c.occurred_at > last.c.at,
            later.c.classification == "hard",
            attempted_bounce(later),
        )
        .scalar_subquery()
    )
    return select(last.c.address, last.c.at, (again > 0).label("again"))
