"""Who may receive bulk mail: the brief's mailing exclusions, for one address or all.

The rules (Qube's policy steps 1-3):
- a hard bounce excludes the address;
- soft bounces exclude it once there are at least ``soft_bounce_exclusion_count`` of them
  within the last ``soft_bounce_window_days`` days;
- a complaint excludes it;
- being on the SES account suppression list (our mirror) excludes it: SES would drop the
  mail and report another bounce;
- a confirmation of validity newer than the last bounce SES attempted (see
  `core.recipients.confirmations`) lifts the bounce rules, but never a complaint (a complaint
  is about consent, not about whether the mailbox exists) and never the suppression list (only its
  removal does that).
Undetermined bounces alone do not exclude.

`mailing_status` and `excluded_addresses` read the same evidence query and apply the same
`decide` function, so the CLI, the pages and the exclusion CSV always agree. Each reason is
also returned as a `Finding` (a code and its data), so the dashboard can say it in its own
language; the English sentences are what the CLI and the CSV show.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, tzinfo
from typing import Any, BinaryIO, Literal

from sqlalchemy import Connection, Engine, Select, and_, bindparam, func, or_, select, union
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from core.access import Action, Actor, require
from core.addresses import normalise_address
from core.audit import record_audit
from core.chunks import EXPORT_BATCH, IN_LIST_SIZE, chunked
from core.clock import utcnow
from core.csv_safety import write_csv
from core.recipients.confirmations import valid_confirmations
from core.settings import Settings
from core.store.db import translated_errors
from core.store.tables import CONFIRMATIONS, FACTS, MIRROR, SUMMARIES

EXCLUSIONS_HEADER = ["address", "reason", "since"]


FindingCode = Literal["hard", "soft", "complaint", "suppressed", "confirmed", "clear"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One reason of a decision, as data: what (`code`), when, and its details. `kind` is
    the SES bounce type/subtype (or the suppression reason), `detail` a diagnostic code or a
    complaint's feedback type; `count` and `window_days` are the soft-bounce rule's."""

    code: FindingCode
    at: datetime | None = None
    kind: str = ""
    detail: str | None = None
    count: int = 0
    window_days: int = 0


@dataclass(frozen=True, slots=True)
class MailingStatus:
    """Whether bulk mail may go to `address`, and why: in plain English (`reasons`) and as
    data (`findings`, in the same order)."""

    address: str
    mailable: bool
    reasons: list[str]
    confirmed_valid_at: datetime | None
    findings: list[Finding] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ExcludedRow:
    """One line of the mailing system's exclusion list. `since` is the earliest of the
    events quoted in `reason` (the address has been excluded at least since then);
    `findings` are the reasons as data."""

    address: str
    reason: str
    since: datetime | None
    findings: tuple[Finding, ...] = ()


@dataclass(frozen=True, slots=True)
class Event:
    at: datetime
    bounce_type: str | None = None
    subtype: str | None = None
    detail: str | None = None  # diagnostic code, or a complaint's feedback type


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the rules look at for one address."""

    address: str
    last_hard: Event | None = None
    soft_in_window: int = 0
    last_soft: Event | None = None
    last_complaint: Event | None = None
    suppressed: Event | None = None  # `subtype` carries the SES reason (BOUNCE/COMPLAINT)
    confirmed_at: datetime | None = None


# --- The rules -----------------------------------------------------------------------------


def findings(evidence: Evidence, settings: Settings) -> tuple[bool, list[Finding]]:
    """(mailable, why) for one address; the only place the policy lives."""
    cleared = evidence.confirmed_at is not None
    window = settings.soft_bounce_window_days
    found: list[Finding] = []
    if evidence.last_hard and not cleared:
        found.append(_bounce_finding("hard", evidence.last_hard))
    soft_count = evidence.soft_in_window
    if evidence.last_soft and soft_count >= settings.soft_bounce_exclusion_count and not cleared:
        soft = _bounce_finding("soft", evidence.last_soft)
        found.append(replace(soft, count=soft_count, window_days=window))
    if evidence.last_complaint:
        complaint = evidence.last_complaint
        found.append(Finding("complaint", complaint.at, detail=complaint.detail))
    if evidence.suppressed:
        listed = evidence.suppressed
        found.append(Finding("suppressed", listed.at, kind=listed.subtype or ""))
    if found:
        return False, found
    if cleared:
        return True, [Finding("confirmed", evidence.confirmed_at)]
    return True, [Finding("clear")]


def decide(evidence: Evidence, settings: Settings) -> tuple[bool, list[str], datetime | None]:
    """(mailable, reasons in English, since) for one address (see `findings`)."""
    mailable, found = findings(evidence, settings)
    since = None if mailable else min(f.at for f in found if f.at is not None)
    return mailable, [describe(f) for f in found], since


def _bounce_finding(code: FindingCode, event: Event) -> Finding:
    kind = "/".join(part for part in (event.bounce_type, event.subtype) if part)
    return Finding(code, event.at, kind=kind, detail=event.detail)


def describe(finding: Finding) -> str:
    """A finding in plain English, as the CLI and the exclusion CSV show it."""
    day = f"{finding.at:%Y-%m-%d}" if finding.at else ""
    if finding.code == "hard":
        return _describe_bounce("hard bounce", finding)
    if finding.code == "soft":
        plural = "s" if finding.count > 1 else ""
        what = f"{finding.count} soft bounce{plural} in {finding.window_days} days, last"
        return _describe_bounce(what, finding)
    if finding.code == "complaint":
        kind = f" ({finding.detail})" if finding.detail else ""
        return f"complaint on {day}{kind}"
    if finding.code == "suppressed":
        return f"on the SES account suppression list ({finding.kind}) since {day}"
    if finding.code == "confirmed":
        return f"confirmed valid on {day}, after its last bounce"
    return "no bounce, complaint or suppression that excludes it"


def _describe_bounce(what: str, finding: Finding) -> str:
    text = f"{what} on {finding.at:%Y-%m-%d}"
    if finding.kind:
        text += f" ({finding.kind})"
    return f"{text}: {finding.detail}" if finding.detail else text


# --- Evidence from the database ------------------------------------------------------------


def _evidence_query(
    cutoff: datetime, addresses: Sequence[str] | BindParameter[Any] | None, after: str | None = None
) -> Select[Any]:
    """One row per address that has a bounce, a complaint or a suppression entry (all, or
    only those of `addresses`; only those after `after`, when given), with everything
    `decide` needs, in address order."""
    base, soft, confirmed = _evidence_sources(cutoff, addresses)
    query = (
        select(
            base.c.address,
            SUMMARIES.c.last_hard_bounce_at,
            SUMMARIES.c.last_bounce_at,
            SUMMARIES.c.last_classification,
            SUMMARIES.c.last_bounce_type,
            SUMMARIES.c.last_bounce_subtype,
            SUMMARIES.c.last_diagnostic_code,
            SUMMARIES.c.last_complaint_at,
            soft.c.n,
            soft.c.last,
            MIRROR.c.reason,
            MIRROR.c.last_update_time,
            MIRROR.c.first_seen_at,
            confirmed.c.at,
        )
        .select_from(
            base.outerjoin(SUMMARIES, SUMMARIES.c.address == base.c.address)
            .outerjoin(soft, soft.c.address == base.c.address)
            .outerjoin(MIRROR, _listed(base.c.address, addresses))
            .outerjoin(confirmed, confirmed.c.address == base.c.address)
        )
        .order_by(base.c.address)
    )
    return query if after is None else query.where(base.c.address > after)


def _evidence_sources(
    cutoff: datetime, addresses: Sequence[str] | BindParameter[Any] | None
) -> tuple[Any, Any, Any]:
    """The addresses to judge, their soft bounces since `cutoff`, and the time of their
    valid confirmation; each narrowed to `addresses` when they are given."""
    has_events = or_(
        SUMMARIES.c.hard_count > 0, SUMMARIES.c.soft_count > 0, SUMMARIES.c.complaint_count > 0
    )
    bounced = select(SUMMARIES.c.address).where(has_events)
    listed = select(MIRROR.c.address).where(MIRROR.c.suppressed.is_(True))
    soft = select(
        FACTS.c.address, func.count().label("n"), func.max(FACTS.c.occurred_at).label("last")
    ).where(
        FACTS.c.kind == "bounce", FACTS.c.classification == "soft", FACTS.c.occurred_at >= cutoff
    )
    valid = valid_confirmations()
    if addresses is not None:
        bounced = bounced.where(SUMMARIES.c.address.in_(addresses))
        listed = listed.where(MIRROR.c.address.in_(addresses))
        soft = soft.where(FACTS.c.address.in_(addresses))
        valid = valid.where(CONFIRMATIONS.c.address.in_(addresses))
    valid_sq = valid.subquery("valid")
    confirmed = select(valid_sq.c.address, func.max(valid_sq.c.confirmed_at).label("at"))
    return (
        union(bounced, listed).subquery("base"),
        soft.group_by(FACTS.c.address).subquery("soft"),
        confirmed.group_by(valid_sq.c.address).subquery("confirmed"),
    )


def _listed(
    address: Any, addresses: Sequence[str] | BindParameter[Any] | None = None
) -> ColumnElement[bool]:
    condition = and_(MIRROR.c.address == address, MIRROR.c.suppressed.is_(True))
    if addresses is not None:
        # Said again on the join: PostgreSQL then reads the few rows by key instead of
        # hashing the whole mirror for every chunk.
        condition = and_(condition, MIRROR.c.address.in_(addresses))
    return condition


def _evidence(row: Any) -> Evidence:
    """Evidence from one evidence-query row. The summary keeps the type, subtype and
    diagnostic of the latest bounce only, so other bounces are described by date."""

    def latest_bounce_if(classification: str, at: datetime | None) -> Event | None:
        if at is None:
            return None
        if row.last_classification == classification and row.last_bounce_at == at:
            return Event(
                at, row.last_bounce_type, row.last_bounce_subtype, row.last_diagnostic_code
            )
        return Event(at, "Permanent" if classification == "hard" else "Transient")

    suppressed = None
    if row.reason is not None:
        suppressed = Event(row.last_update_time or row.first_seen_at, subtype=row.reason)
    return Evidence(
        address=row.address,
        last_hard=latest_bounce_if("hard", row.last_hard_bounce_at),
        soft_in_window=int(row.n or 0),
        last_soft=latest_bounce_if("soft", row.last),
        last_complaint=Event(row.last_complaint_at) if row.last_complaint_at else None,
        suppressed=suppressed,
        confirmed_at=row.at,
    )


def _latest_fact_event(
    connection: Connection, address: str, kind: str, classification: str | None
) -> Event | None:
    query = select(
        FACTS.c.occurred_at,
        FACTS.c.bounce_type,
        FACTS.c.bounce_subtype,
        FACTS.c.diagnostic_code,
        FACTS.c.complaint_feedback_type,
    ).where(FACTS.c.address == address, FACTS.c.kind == kind)
    if classification:
        query = query.where(FACTS.c.classification == classification)
    row = connection.execute(query.order_by(FACTS.c.occurred_at.desc()).limit(1)).first()
    if row is None:
        return None
    if kind == "complaint":
        return Event(row.occurred_at, detail=row.complaint_feedback_type)
    return Event(row.occurred_at, row.bounce_type, row.bounce_subtype, row.diagnostic_code)


# --- Public API ----------------------------------------------------------------------------


def mailing_status(
    engine: Engine, address: str, settings: Settings, *, now: datetime | None = None
) -> MailingStatus:
    """Whether bulk mail may go to one address, with every reason that applies."""
    address = normalise_address(address)
    cutoff = (now or utcnow()) - timedelta(days=settings.soft_bounce_window_days)
    with translated_errors(), engine.connect() as connection:
        row = connection.execute(_evidence_query(cutoff, [address])).first()
        evidence = _evidence(row) if row else Evidence(address)
        evidence = _with_exact_details(connection, evidence)
    mailable, found = findings(evidence, settings)
    reasons = [describe(f) for f in found]
    return MailingStatus(address, mailable, reasons, evidence.confirmed_at, found)


def _with_exact_details(connection: Connection, evidence: Evidence) -> Evidence:
    """For one address it is cheap to quote the exact latest hard bounce and complaint."""
    hard, complaint = evidence.last_hard, evidence.last_complaint
    if hard:
        hard = _latest_fact_event(connection, evidence.address, "bounce", "hard") or hard
    if complaint:
        complaint = _latest_fact_event(connection, evidence.address, "complaint", None) or complaint
    return replace(evidence, last_hard=hard, last_complaint=complaint)


def excluded_addresses(
    engine: Engine, settings: Settings, *, now: datetime | None = None, after: str | None = None
) -> Iterator[ExcludedRow]:
    """Every address bulk mail must skip, in address order, streamed from the database;
    with `after`, only the addresses that sort after it (a cursor for paging)."""
    cutoff = (now or utcnow()) - timedelta(days=settings.soft_bounce_window_days)
    query = _evidence_query(cutoff, None, after)
    with translated_errors(), engine.connect() as connection:
        result = connection.execution_options(yield_per=EXPORT_BATCH).execute(query)
        for row in result:
            mailable, found = findings(_evidence(row), settings)
            if not mailable:
                since = min(f.at for f in found if f.at is not None)
                reason = "; ".join(describe(f) for f in found)
                yield ExcludedRow(row.address, reason, since, tuple(found))


def addresses_to_skip(
    engine: Engine, addresses: Iterable[str], settings: Settings, *, now: datetime | None = None
) -> dict[str, list[str]]:
    """Of `addresses` (normalised), those bulk mail must skip, each with its reasons (the
    words of the exclusion list). One evidence query per chunk of `IN_LIST_SIZE` addresses,
    never one per address: this is the check a campaign runs just before sending."""
    cutoff = (now or utcnow()) - timedelta(days=settings.soft_bounce_window_days)
    skip: dict[str, list[str]] = {}
    # One statement for every chunk: built and compiled once, its IN lists expanded per run.
    query = _evidence_query(cutoff, bindparam("addresses", expanding=True))
    with translated_errors(), engine.connect() as connection:
        for chunk in chunked(dict.fromkeys(addresses), IN_LIST_SIZE):
            for row in connection.execute(query, {"addresses": chunk}):
                mailable, reasons, _ = decide(_evidence(row), settings)
                if not mailable:
                    skip[row.address] = reasons
    return skip


def export_exclusions_csv(
    engine: Engine,
    actor: Actor,
    settings: Settings,
    out: BinaryIO,
    bom: bool = False,
    *,
    now: datetime | None = None,
    zone: tzinfo | None = None,
) -> int:
    """The exclusion list as formula-safe CSV (address, reason, since) for the mailing
    system, times with `zone`'s offset when given; returns the rows written. The export is
    recorded in the audit log."""
    require(actor, Action.EXPORT)
    rows = (
        (row.address, row.reason, row.since)
        for row in excluded_addresses(engine, settings, now=now)
    )
    written = write_csv(rows, EXCLUSIONS_HEADER, out, bom, zone=zone)
    with translated_errors(), engine.begin() as connection:
        record_audit(connection, actor, "export.exclusions", None, f"{written} rows")
    return written
