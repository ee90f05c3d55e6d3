"""The SES account-level suppression list: our mirror of it, what SES says about one
address, and the files people take away from it.

- `sync_suppression_list` streams ListSuppressedDestinations into `suppressed_destinations`
  page by page, so a list of any size is never held in memory.
- `list_mirror` / `export_mirror_csv` show and export the mirror.
- `suppression_detail` asks SES why one address is listed.
- `export_console_csv` writes what the SES console's bulk removal takes.

Taking addresses off the list is `core.suppression.removal`; who may is
`core.suppression.guardrails`.

Addresses are matched in their normalised form (`core.addresses`: trimmed, domain lowercased,
local part kept: RFC 5321 lets the local part be case-sensitive and SES documents no case
folding). SES's management calls match the address string exactly, so every call uses the
spelling SES itself listed when the mirror knows it.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, BinaryIO, cast

from sqlalchemy import CursorResult, Engine, Select, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from core.access import Action, Actor, require
from core.addresses import normalise_address
from core.audit import record_audit
from core.chunks import EXPORT_BATCH
from core.clock import day_start, utcnow
from core.csv_safety import FORMULA_TRIGGERS, write_csv
from core.errors import InvalidInput, SesNotFound
from core.recipients.confirmations import confirmed_addresses
from core.ses.gateway import Pacer, SesGateway, SuppressedSummary, retry_throttled
from core.store.db import open_session, translated_errors
from core.store.models import Fact, SuppressedDestination, SuppressionSync
from core.store.tables import MIRROR
from core.store.upsert import Merge, upsert
from core.suppression.guardrails import flags_of

SyncProgress = Callable[[int, int], None]

# SES stamps LastUpdateTime with its own clock, and an entry may become visible a little
# after that time; re-reading a margin before the last sync costs little and misses nothing.
INCREMENTAL_MARGIN = timedelta(minutes=15)
INCREMENTAL_NOTE = (
    "incremental sync only reads entries added or updated since the last sync; it cannot "
    "see addresses removed from the list. Run a full sync to detect removals."
)
REASONS = ("BOUNCE", "COMPLAINT")
MAX_PAGE_SIZE = 1000


# --- Mirror sync -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SyncReport:
    sync_id: int
    incremental: bool
    since: datetime | None
    pages: int
    seen: int
    added: int
    gone: int
    detects_removals: bool
    notes: tuple[str, ...]


def sync_suppression_list(
    engine: Engine,
    gateway: SesGateway,
    *,
    actor: Actor,
    incremental: bool = False,
    page_size: int = 1000,
    progress: SyncProgress | None = None,
    rate: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SyncReport:
    """Bring the mirror up to date with SES, one page (one transaction) at a time
    (operator role; the sync and its outcome go into the audit log).

    A full sync marks every address it did not see as no longer suppressed (rows are kept).
    An incremental sync reads only what changed since the last completed sync, minus a
    safety margin; it cannot see removals. Without a previous sync it runs in full.
    """
    require(actor, Action.SYNC)
    since, notes = _incremental_start(engine) if incremental else (None, [])
    incremental = incremental and since is not None
    if incremental:
        notes.append(INCREMENTAL_NOTE)
    started = utcnow()
    sync_id = _begin_sync(engine, incremental, since, started)
    try:
        pages, seen, added = _pull_pages(
            engine,
            gateway,
            sync_id,
            since,
            page_size,
            progress,
            Pacer(rate or gateway.request_rate, sleep=sleep),
            sleep,
        )
        gone = 0 if incremental else _mark_gone(engine, sync_id)
        report = SyncReport(
            sync_id, incremental, since, pages, seen, added, gone, not incremental, tuple(notes)
        )
        _finish_sync(engine, actor, report)
    except BaseException as exc:
        _fail_sync(engine, actor, sync_id, exc)
        raise
    return report


def _incremental_start(engine: Engine) -> tuple[datetime | None, list[str]]:
    with open_session(engine) as session, translated_errors():
        last = session.scalar(
            select(func.max(SuppressionSync.started_at)).where(
                SuppressionSync.status == "completed"
            )
        )
    if last is None:
        return None, ["no completed sync yet, so this one read the whole list"]
    return last - INCREMENTAL_MARGIN, []


def _begin_sync(engine: Engine, incremental: bool, since: datetime | None, now: datetime) -> int:
    with open_session(engine) as session, translated_errors():
        sync = SuppressionSync(started_at=now, incremental=incremental, since=since)
        session.add(sync)
        session.commit()
        return sync.id


def _pull_pages(
    engine: Engine,
    gateway: SesGateway,
    sync_id: int,
    since: datetime | None,
    page_size: int,
    progress: SyncProgress | None,
    pacer: Pacer,
    sleep: Callable[[float], None],
) -> tuple[int, int, int]:
    pages = seen = added = 0
    token: str | None = None
    while True:

        def fetch(token: str | None = token) -> Any:
            pacer.wait()
            return gateway.list_suppressed_destinations(
                next_token=token, page_size=page_size, start_date=since
            )

        page = retry_throttled(fetch, sleep=sleep)
        added += _store_page(engine, sync_id, page.summaries)
        pages, seen = pages + 1, seen + len(page.summaries)
        if progress is not None:
            progress(pages, seen)
        token = page.next_token
        if not token:
            return pages, seen, added


def _store_page(engine: Engine, sync_id: int, summaries: Sequence[SuppressedSummary]) -> int:
    """Upsert one page and count it on the sync row; returns how many are newly suppressed."""
    now = utcnow()
    rows: dict[str, dict[str, Any]] = {}
    for item in summaries:
        address = normalise_address(item.email_address)
        rows[address] = {
            "address": address,
            "email_address": item.email_address,
            "reason": item.reason,
            "last_update_time": item.last_update_time,
            "first_seen_at": now,
            "last_seen_at": now,
            "suppressed": True,
            "unsuppressed_at": None,
            "removed_by_us": False,
            "sync_generation": sync_id,
        }
    with open_session(engine) as session, translated_errors():
        already = _count_suppressed(session, list(rows))
        upsert(session.connection(), MIRROR, list(rows.values()), ["address"], _SYNC_MERGES)
        added = len(rows) - already
        session.execute(
            update(SuppressionSync)
            .where(SuppressionSync.id == sync_id)
            .values(
                pages=SuppressionSync.pages + 1,
                seen=SuppressionSync.seen + len(summaries),
                added=SuppressionSync.added + added,
            )
        )
        session.commit()
    return added


# first_seen_at is written on insert only. The generation never goes backwards, so two
# syncs running at once cannot make each other mark live entries as gone.
_SYNC_MERGES = [
    ("email_address", Merge.REPLACE),
    ("reason", Merge.REPLACE),
    ("last_update_time", Merge.REPLACE),
    ("last_seen_at", Merge.REPLACE),
    ("suppressed", Merge.REPLACE),
    ("unsuppressed_at", Merge.REPLACE),
    ("removed_by_us", Merge.REPLACE),
    ("sync_generation", Merge.LATEST),
]


def _count_suppressed(session: Session, addresses: list[str]) -> int:
    if not addresses:
        return 0
    return int(
        session.scalar(
            select(func.count()).where(
                SuppressedDestination.address.in_(addresses),
                SuppressedDestination.suppressed.is_(True),
            )
        )
        or 0
    )


def _mark_gone(engine: Engine, sync_id: int) -> int:
    """Entries a full sync did not see were removed outside Bounce Desk (or by it)."""
    with open_session(engine) as session, translated_errors():
        result = session.execute(
            update(SuppressedDestination)
            .where(
                SuppressedDestination.suppressed.is_(True),
                SuppressedDestination.sync_generation < sync_id,
            )
            .values(suppressed=False, unsuppressed_at=utcnow())
        )
        session.commit()
        # An UPDATE's result is a CursorResult, the one with a row count.
        return int(cast("CursorResult[Any]", result).rowcount or 0)


def _finish_sync(engine: Engine, actor: Actor, report: SyncReport) -> None:
    with open_session(engine) as session, translated_errors():
        session.execute(
            update(SuppressionSync)
            .where(SuppressionSync.id == report.sync_id)
            .values(finished_at=utcnow(), gone=report.gone, status="completed")
        )
        parameters = {
            "sync_id": report.sync_id,
            "incremental": report.incremental,
            "since": report.since,
            "pages": report.pages,
            "seen": report.seen,
            "added": report.added,
            "gone": report.gone,
        }
        record_audit(session.connection(), actor, "suppression.sync", None, "completed", parameters)
        session.commit()


def _fail_sync(engine: Engine, actor: Actor, sync_id: int, exc: BaseException) -> None:
    """Best effort: the sync row and the audit log say why it stopped (the database may be
    what failed)."""
    error = str(exc) or repr(exc)
    try:
        with open_session(engine) as session:
            session.execute(
                update(SuppressionSync)
                .where(SuppressionSync.id == sync_id)
                .values(finished_at=utcnow(), status="failed", error=error)
            )
            record_audit(
                session.connection(), actor, "suppression.sync", None, "failed",
                {"sync_id": sync_id}, detail=error,
            )  # fmt: skip
            session.commit()
    except Exception:  # noqa: BLE001 - the original error is the one to report
        pass


def last_sync(engine: Engine) -> SuppressionSync | None:
    """The most recent sync of any kind, for the dashboard's "last synced" line."""
    with translated_errors(), open_session(engine) as session:
        return session.scalars(
            select(SuppressionSync).order_by(SuppressionSync.id.desc()).limit(1)
        ).first()


def last_full_sync(engine: Engine) -> datetime | None:
    """When the last completed full sync started (the suppression-sync job runs a full one
    when this is too old: only a full sync sees removals)."""
    with translated_errors(), open_session(engine) as session:
        return session.scalar(
            select(func.max(SuppressionSync.started_at)).where(
                SuppressionSync.status == "completed", SuppressionSync.incremental.is_(False)
            )
        )


# --- Detail ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeedbackRecord:
    """Our stored fact for the bounce or complaint that put the address on the list."""

    kind: str
    occurred_at: datetime
    bounce_type: str | None
    bounce_subtype: str | None
    diagnostic_code: str | None
    subject: str | None
    sender: str | None


@dataclass(frozen=True, slots=True)
class SuppressionDetail:
    address: str
    on_list: bool
    email_address: str | None
    reason: str | None
    last_update_time: datetime | None
    message_id: str | None
    feedback_id: str | None
    feedback: FeedbackRecord | None


def suppression_detail(engine: Engine, gateway: SesGateway, address: str) -> SuppressionDetail:
    """Ask SES why an address is listed and join it to our own record of that bounce.

    The MessageId / FeedbackId SES returns are cached on the mirror row (committed).
    """
    normalised = normalise_address(address)
    with translated_errors(), open_session(engine) as session:
        row = session.get(SuppressedDestination, normalised)
    try:
        info = gateway.get_suppressed_destination(row.email_address if row else address.strip())
    except SesNotFound:
        return SuppressionDetail(normalised, False, None, None, None, None, None, None)
    with translated_errors(), open_session(engine) as session:
        if row is not None:
            session.execute(
                update(SuppressedDestination)
                .where(SuppressedDestination.address == normalised)
                .values(ses_message_id=info.message_id, ses_feedback_id=info.feedback_id)
            )
            session.commit()
        feedback = _feedback_fact(session, normalised, info.message_id, info.feedback_id)
    return SuppressionDetail(
        normalised,
        True,
        info.email_address,
        info.reason,
        info.last_update_time,
        info.message_id,
        info.feedback_id,
        feedback,
    )


def _feedback_fact(
    session: Session, address: str, message_id: str | None, feedback_id: str | None
) -> FeedbackRecord | None:
    if not message_id and not feedback_id:
        return None
    match = Fact.feedback_id == feedback_id if feedback_id else Fact.ses_message_id == message_id
    fact = session.scalars(
        select(Fact)
        .where(Fact.address == address, Fact.kind.in_(("bounce", "complaint")), match)
        .order_by(Fact.occurred_at.desc())
        .limit(1)
    ).first()
    if fact is None and feedback_id and message_id:
        return _feedback_fact(session, address, message_id, None)
    if fact is None:
        return None
    return FeedbackRecord(
        fact.kind,
        fact.occurred_at,
        fact.bounce_type,
        fact.bounce_subtype,
        fact.diagnostic_code,
        fact.subject,
        fact.sender,
    )


# --- The SES console's bulk removal file -------------------------------------------------


def console_bulk_delete_csv(addresses: Iterable[str]) -> bytes:
    """A CSV for the console's "Remove email addresses in bulk" (and DELETE import jobs).

    The SES developer guide's example for removal is one address per line and no header
    row (a header would be read as an address). UTF-8; each address once, in input order.
    Addresses are written exactly as given: SES matches them byte for byte, so they are not
    formula-neutralised here (`export_console_csv` leaves out the ones that would need it).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    seen: set[str] = set()
    for raw in addresses:
        address = raw.strip()
        if address and address not in seen:
            seen.add(address)
            writer.writerow([address])
    return buffer.getvalue().encode("utf-8")


def console_csv_candidates(engine: Engine, *, confirmed_only: bool = True) -> list[str]:
    """Addresses still suppressed in the mirror, as SES spells them; by default only those
    staff confirmed valid since their last bounce (core.recipients.confirmations' rule)."""
    query = select(SuppressedDestination.email_address).where(
        SuppressedDestination.suppressed.is_(True)
    )
    if confirmed_only:
        query = query.where(SuppressedDestination.address.in_(confirmed_addresses()))
    with translated_errors(), engine.connect() as connection:
        return list(connection.scalars(query.order_by(SuppressedDestination.address)))


@dataclass(frozen=True, slots=True)
class ConsoleCsv:
    """The console file, how many addresses it holds, and the candidates left out of it:
    `left_out` would start a spreadsheet formula, `needs_admin` may only be removed by an
    admin (core.suppression.guardrails), through Bounce Desk where the reason is recorded."""

    body: bytes
    count: int
    left_out: tuple[str, ...]
    needs_admin: tuple[str, ...] = ()


def starts_like_a_formula(address: str) -> bool:
    """Whether a spreadsheet would run this cell as a formula (see core.csv_safety)."""
    return address.strip().startswith(FORMULA_TRIGGERS)


def console_csv_plan(engine: Engine, *, confirmed_only: bool = True) -> ConsoleCsv:
    """What `export_console_csv` would write, without recording an export (for the page to
    name what it leaves out)."""
    candidates = console_csv_candidates(engine, confirmed_only=confirmed_only)
    flagged: set[str] = set()
    if confirmed_only:
        # The file is a removal tool: what needs an admin here needs one there too.
        flagged = set(flags_of(engine, [normalise_address(a) for a in candidates]))
    needs_admin = tuple(a for a in candidates if normalise_address(a) in flagged)
    rest = [a for a in candidates if normalise_address(a) not in flagged]
    safe = [a for a in rest if not starts_like_a_formula(a)]
    left_out = tuple(a for a in rest if starts_like_a_formula(a))
    return ConsoleCsv(console_bulk_delete_csv(safe), len(safe), left_out, needs_admin)


def export_console_csv(engine: Engine, actor: Actor, *, confirmed_only: bool = True) -> ConsoleCsv:
    """The SES console's bulk-delete file (one address per line), recorded in the audit log.

    By default it holds what an operator may remove: suppressed addresses confirmed valid
    since their last bounce, without those that need an admin (complaints, re-bounced after
    a removal). Every suppressed address (`confirmed_only=False`) needs the admin role.

    `-`, `+` and `=` may legitimately start an address (RFC 5322 atext), but the file must
    stay safe to open in a spreadsheet, and a neutralising apostrophe would make SES look
    for another address. Such addresses are left out and named in `left_out`: remove them
    from Bounce Desk (one SES call each) instead."""
    require(actor, Action.EXPORT)
    if not confirmed_only:
        require(actor, Action.REMOVE_UNCONFIRMED)
    found = console_csv_plan(engine, confirmed_only=confirmed_only)
    parameters = {
        "confirmed_only": confirmed_only,
        "left_out": len(found.left_out),
        "needs_admin": len(found.needs_admin),
    }
    with open_session(engine) as session, translated_errors():
        record_audit(
            session.connection(), actor, "export.console_csv", None,
            f"{found.count} addresses", parameters,
        )  # fmt: skip
        session.commit()
    return found


# --- The mirror, listed and exported -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MirrorFilter:
    """Which mirror entries to show: SES reasons, listing date (days in `zone`, inclusive,
    on LastUpdateTime), an address substring, and listed now or no longer."""

    reasons: tuple[str, ...] = ()
    start: date | None = None
    end: date | None = None
    text: str = ""
    listed: bool = True
    zone: str = "UTC"


@dataclass(frozen=True, slots=True)
class MirrorRow:
    address: str
    email_address: str
    reason: str
    last_update_time: datetime | None
    suppressed: bool
    confirmed_valid: bool
    removed_by_us: bool
    unsuppressed_at: datetime | None


MIRROR_HEADER = [f.name for f in fields(MirrorRow)]


def _mirror_conditions(flt: MirrorFilter) -> list[ColumnElement[bool]]:
    unknown = set(flt.reasons) - set(REASONS)
    if unknown:
        raise InvalidInput(f"unknown reasons {sorted(unknown)}; use {list(REASONS)}")
    c = MIRROR.c
    conditions: list[ColumnElement[bool]] = [c.suppressed.is_(flt.listed)]
    if flt.reasons:
        conditions.append(c.reason.in_(flt.reasons))
    if flt.start is not None:
        conditions.append(c.last_update_time >= day_start(flt.start, flt.zone))
    if flt.end is not None:
        conditions.append(c.last_update_time < day_start(flt.end + timedelta(days=1), flt.zone))
    if flt.text.strip():
        conditions.append(c.address.icontains(flt.text.strip(), autoescape=True))
    return conditions


def _mirror_query(flt: MirrorFilter) -> Select[Any]:
    c = MIRROR.c
    return (
        select(
            c.address,
            c.email_address,
            c.reason,
            c.last_update_time,
            c.suppressed,
            c.address.in_(confirmed_addresses()),
            c.removed_by_us,
            c.unsuppressed_at,
        )
        .where(*_mirror_conditions(flt))
        .order_by(c.last_update_time.desc(), c.address)
    )


def _mirror_row(values: Any) -> MirrorRow:
    row = list(values)
    for index in (4, 5, 6):
        row[index] = bool(row[index])
    return MirrorRow(*row)


def list_mirror(
    engine: Engine, flt: MirrorFilter, *, page: int = 1, page_size: int = 50
) -> tuple[list[MirrorRow], int]:
    """One page of the mirror, newest listing first, and how many entries match."""
    if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInput(f"page must be >= 1 and page_size 1..{MAX_PAGE_SIZE}")
    query = _mirror_query(flt).limit(page_size).offset((page - 1) * page_size)
    count = select(func.count()).select_from(MIRROR).where(*_mirror_conditions(flt))
    with translated_errors(), engine.connect() as connection:
        rows = [_mirror_row(values) for values in connection.execute(query)]
        total = int(connection.scalar(count) or 0)
    return rows, total


def _mirror_stream(engine: Engine, flt: MirrorFilter) -> Iterator[tuple[Any, ...]]:
    with translated_errors(), engine.connect() as connection:
        result = connection.execution_options(yield_per=EXPORT_BATCH).execute(_mirror_query(flt))
        for values in result:
            row = _mirror_row(values)
            yield tuple(getattr(row, name) for name in MIRROR_HEADER)


def export_mirror_csv(
    engine: Engine,
    actor: Actor,
    flt: MirrorFilter,
    out: BinaryIO,
    *,
    bom: bool = False,
    zone: tzinfo | None = None,
) -> int:
    """Every matching mirror entry as formula-safe CSV (times with `zone`'s offset when
    given); recorded in the audit log."""
    require(actor, Action.EXPORT)
    written = write_csv(_mirror_stream(engine, flt), MIRROR_HEADER, out, bom, zone=zone)
    parameters = {
        "reasons": list(flt.reasons),
        "start": flt.start,
        "end": flt.end,
        "text": flt.text,
        "listed": flt.listed,
        "zone": flt.zone,
    }
    with translated_errors(), engine.begin() as connection:
        record_audit(
            connection, actor, "export.suppression_mirror", None, f"{written} rows", parameters
        )
    return written
