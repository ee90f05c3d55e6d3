"""The SES account-level suppression list: our mirror of it, and taking addresses off it.

- `sync_suppression_list` streams ListSuppressedDestinations into `suppressed_destinations`
  page by page, so a list of any size is never held in memory.
- `remove_from_suppression_list` removes addresses one call at a time, paced to the SES
  management rate, writing each result as it returns so a run can be resumed.
- `start_import_removal` / `poll_import_jobs` do the same in bulk with SES import jobs.
- `console_bulk_delete_csv` writes what the SES console's bulk removal takes.

Addresses are matched in their normalised form (`core.addresses`: trimmed, domain lowercased,
local part kept: RFC 5321 lets the local part be case-sensitive and SES documents no case
folding). SES's management calls match the address string exactly, so every call uses the
spelling SES itself listed when the mirror knows it.
"""

from __future__ import annotations

import csv
import io
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.addresses import is_valid_address, normalise_address
from core.confirmations import confirmed_addresses, record_audit
from core.db import translated_errors
from core.errors import (
    AwsCallFailed,
    AwsConfigurationError,
    InvalidInput,
    SesAccessDenied,
    SesNotFound,
    SesUnreachable,
)
from core.models import (
    Fact,
    ImportJob,
    RemovalResult,
    RemovalRun,
    SuppressedDestination,
    SuppressionSync,
)
from core.ses import Pacer, SesGateway, SuppressedSummary, retry_throttled, utcnow
from core.upsert import Merge, upsert

SessionFactory = Callable[[], Session]
SyncProgress = Callable[[int, int], None]

MIRROR = SuppressedDestination.__table__
# SES stamps LastUpdateTime with its own clock, and an entry may become visible a little
# after that time; re-reading a margin before the last sync costs little and misses nothing.
INCREMENTAL_MARGIN = timedelta(minutes=15)
IMPORT_JOB_LIMIT = 10_000  # SES: at most 10,000 addresses per DELETE import job
TERMINAL_JOB_STATES = frozenset({"COMPLETED", "FAILED", "CANCELLED"})
INCREMENTAL_NOTE = (
    "incremental sync only reads entries added or updated since the last sync; it cannot "
    "see addresses removed from the list. Run a full sync to detect removals."
)


class Outcome(StrEnum):
    """What happened to one address of a removal run."""

    PENDING = "pending"
    REMOVED = "removed"
    NOT_ON_LIST = "not_on_list"
    FAILED = "failed"
    SUBMITTED = "submitted"  # handed to an SES import job that has not finished


class RunStatus(StrEnum):
    RUNNING = "running"
    SUBMITTED = "submitted"
    COMPLETED = "completed"
    WITH_FAILURES = "with_failures"
    INTERRUPTED = "interrupted"


# --- Validation --------------------------------------------------------------------------


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
    session_factory: SessionFactory,
    gateway: SesGateway,
    *,
    incremental: bool = False,
    page_size: int = 1000,
    progress: SyncProgress | None = None,
    rate: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SyncReport:
    """Bring the mirror up to date with SES, one page (one transaction) at a time.

    A full sync marks every address it did not see as no longer suppressed (rows are kept).
    An incremental sync reads only what changed since the last completed sync, minus a
    safety margin; it cannot see removals. Without a previous sync it runs in full.
    """
    since, notes = _incremental_start(session_factory) if incremental else (None, [])
    incremental = incremental and since is not None
    if incremental:
        notes.append(INCREMENTAL_NOTE)
    started = utcnow()
    sync_id = _begin_sync(session_factory, incremental, since, started)
    try:
        pages, seen, added = _pull_pages(
            session_factory,
            gateway,
            sync_id,
            since,
            page_size,
            progress,
            Pacer(rate or gateway.request_rate, sleep=sleep),
            sleep,
        )
        gone = 0 if incremental else _mark_gone(session_factory, sync_id)
        _finish_sync(session_factory, sync_id, gone)
    except BaseException as exc:
        _fail_sync(session_factory, sync_id, exc)
        raise
    return SyncReport(
        sync_id, incremental, since, pages, seen, added, gone, not incremental, tuple(notes)
    )


def _incremental_start(session_factory: SessionFactory) -> tuple[datetime | None, list[str]]:
    with session_factory() as session, translated_errors():
        last = session.scalar(
            select(func.max(SuppressionSync.started_at)).where(
                SuppressionSync.status == "completed"
            )
        )
    if last is None:
        return None, ["no completed sync yet, so this one read the whole list"]
    return last - INCREMENTAL_MARGIN, []


def _begin_sync(
    session_factory: SessionFactory, incremental: bool, since: datetime | None, now: datetime
) -> int:
    with session_factory() as session, translated_errors():
        sync = SuppressionSync(started_at=now, incremental=incremental, since=since)
        session.add(sync)
        session.commit()
        return sync.id


def _pull_pages(
    session_factory: SessionFactory,
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
        added += _store_page(session_factory, sync_id, page.summaries)
        pages, seen = pages + 1, seen + len(page.summaries)
        if progress is not None:
            progress(pages, seen)
        token = page.next_token
        if not token:
            return pages, seen, added


def _store_page(
    session_factory: SessionFactory, sync_id: int, summaries: Sequence[SuppressedSummary]
) -> int:
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
    with session_factory() as session, translated_errors():
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


def _mark_gone(session_factory: SessionFactory, sync_id: int) -> int:
    """Entries a full sync did not see were removed outside Bounce Desk (or by it)."""
    with session_factory() as session, translated_errors():
        result = session.execute(
            update(SuppressedDestination)
            .where(
                SuppressedDestination.suppressed.is_(True),
                SuppressedDestination.sync_generation < sync_id,
            )
            .values(suppressed=False, unsuppressed_at=utcnow())
        )
        session.commit()
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _finish_sync(session_factory: SessionFactory, sync_id: int, gone: int) -> None:
    with session_factory() as session, translated_errors():
        session.execute(
            update(SuppressionSync)
            .where(SuppressionSync.id == sync_id)
            .values(finished_at=utcnow(), gone=gone, status="completed")
        )
        session.commit()


def _fail_sync(session_factory: SessionFactory, sync_id: int, exc: BaseException) -> None:
    """Best effort: the sync row says why it stopped (the database may be what failed)."""
    try:
        with session_factory() as session:
            session.execute(
                update(SuppressionSync)
                .where(SuppressionSync.id == sync_id)
                .values(finished_at=utcnow(), status="failed", error=str(exc) or repr(exc))
            )
            session.commit()
    except Exception:  # noqa: BLE001 - the original error is the one to report
        pass


def last_sync(session: Session) -> SuppressionSync | None:
    """The most recent sync of any kind, for the dashboard's "last synced" line."""
    with translated_errors():
        return session.scalars(
            select(SuppressionSync).order_by(SuppressionSync.id.desc()).limit(1)
        ).first()


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


def suppression_detail(session: Session, gateway: SesGateway, address: str) -> SuppressionDetail:
    """Ask SES why an address is listed and join it to our own record of that bounce.

    The MessageId / FeedbackId SES returns are cached on the mirror row (committed).
    """
    normalised = normalise_address(address)
    with translated_errors():
        row = session.get(SuppressedDestination, normalised)
    try:
        info = gateway.get_suppressed_destination(row.email_address if row else address.strip())
    except SesNotFound:
        return SuppressionDetail(normalised, False, None, None, None, None, None, None)
    with translated_errors():
        if row is not None:
            row.ses_message_id, row.ses_feedback_id = info.message_id, info.feedback_id
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


# --- Removal, one call per address -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AddressResult:
    address: str
    outcome: str
    message: str | None
    attempts: int


@dataclass(frozen=True, slots=True)
class RemovalReport:
    """Where a removal run stands, and what this call did (`results`)."""

    run_id: int | None
    method: str
    status: str
    requested: int
    counts: dict[str, int]
    rejected: tuple[RejectedLine, ...]
    results: tuple[AddressResult, ...]

    def count(self, outcome: Outcome) -> int:
        return self.counts.get(outcome.value, 0)

    @property
    def ok(self) -> bool:
        """Nothing rejected, failed or left pending."""
        bad = self.count(Outcome.FAILED) + self.count(Outcome.PENDING)
        return not self.rejected and bad == 0


RemovalProgress = Callable[[int, int, AddressResult], None]


def remove_from_suppression_list(
    session_factory: SessionFactory,
    gateway: SesGateway,
    addresses: Iterable[str],
    *,
    actor: str,
    reason: str,
    rate: float | None = None,
    progress: RemovalProgress | None = None,
    run_id: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> RemovalReport:
    """Take addresses off the SES suppression list, one DeleteSuppressedDestination each.

    Input is validated first; rejected lines are reported and never sent. The run and one
    pending result per address are committed before the first call, and each result as its
    call returns, so an interrupted run loses nothing: `resume_removal` finishes it.
    `rate` defaults to the gateway's (settings.ses_request_rate). Passing `run_id` continues
    that run instead of starting one (the addresses are then ignored).
    """
    rejected: list[RejectedLine] = []
    if run_id is None:
        validated = validate_addresses(addresses)
        rejected = validated.rejected
        if not validated.accepted:
            return RemovalReport(None, "api", RunStatus.COMPLETED, 0, {}, tuple(rejected), ())
        run_id = create_removal_run(session_factory, validated.accepted, actor, reason, "api")
    pacer = Pacer(rate or gateway.request_rate, clock=clock, sleep=sleep)
    results = _process_pending(session_factory, gateway, run_id, pacer, progress, sleep, actor)
    return removal_report(session_factory, run_id, rejected=rejected, results=results)


def resume_removal(
    session_factory: SessionFactory,
    gateway: SesGateway,
    run_id: int,
    *,
    rate: float | None = None,
    progress: RemovalProgress | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    bucket: str | None = None,
    prefix: str = "",
    actor: str | None = None,
) -> RemovalReport:
    """Finish an interrupted run: only addresses still pending are sent again.

    For an import-job run, the pending addresses go into new jobs (`bucket` is required).
    """
    if _run_field(session_factory, run_id, RemovalRun.method) == "import_job":
        if not bucket:
            raise AwsConfigurationError(NO_BUCKET)
        pacer = Pacer(rate or gateway.request_rate, clock=clock, sleep=sleep)
        _submit_pending(session_factory, gateway, run_id, bucket, prefix, pacer, sleep)
        return removal_report(session_factory, run_id)
    return remove_from_suppression_list(
        session_factory,
        gateway,
        (),
        actor=actor or "",
        reason="",
        rate=rate,
        progress=progress,
        run_id=run_id,
        sleep=sleep,
        clock=clock,
    )


def retry_failed(
    session_factory: SessionFactory,
    gateway: SesGateway,
    run_id: int,
    *,
    rate: float | None = None,
    progress: RemovalProgress | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    bucket: str | None = None,
    prefix: str = "",
    actor: str | None = None,
) -> RemovalReport:
    """Send the failed addresses of a run again; removed and not-listed ones are left alone."""
    with session_factory() as session, translated_errors():
        session.execute(
            update(RemovalResult)
            .where(RemovalResult.run_id == run_id, RemovalResult.outcome == Outcome.FAILED)
            .values(outcome=Outcome.PENDING, updated_at=utcnow())
        )
        session.execute(
            update(RemovalRun)
            .where(RemovalRun.id == run_id)
            .values(status=RunStatus.RUNNING, finished_at=None)
        )
        session.commit()
    return resume_removal(
        session_factory,
        gateway,
        run_id,
        rate=rate,
        progress=progress,
        sleep=sleep,
        clock=clock,
        bucket=bucket,
        prefix=prefix,
        actor=actor,
    )


def create_removal_run(
    session_factory: SessionFactory,
    addresses: Sequence[str],
    actor: str,
    reason: str,
    method: str,
) -> int:
    """Record the request and one pending result per address, before any SES call."""
    now = utcnow()
    with session_factory() as session, translated_errors():
        run = RemovalRun(
            actor=actor,
            reason=reason,
            method=method,
            created_at=now,
            status=RunStatus.RUNNING,
            requested=len(addresses),
        )
        session.add(run)
        session.flush()
        session.add_all(
            RemovalResult(run_id=run.id, address=a, outcome=Outcome.PENDING, updated_at=now)
            for a in addresses
        )
        record_audit(
            session.connection(),
            actor,
            "suppression.removal_requested",
            None,
            method,
            {"run_id": run.id, "addresses": len(addresses), "reason": reason},
        )
        session.commit()
        return run.id


def _process_pending(
    session_factory: SessionFactory,
    gateway: SesGateway,
    run_id: int,
    pacer: Pacer,
    progress: RemovalProgress | None,
    sleep: Callable[[float], None],
    actor: str,
) -> list[AddressResult]:
    """Send every pending address of the run; `actor` (or the run's) goes in the audit log."""
    with session_factory() as session, translated_errors():
        run = _get_run(session, run_id)
        run_actor, total = run.actor, run.requested
        pending = session.execute(
            select(RemovalResult.id, RemovalResult.address, RemovalResult.attempts)
            .where(RemovalResult.run_id == run_id, RemovalResult.outcome == Outcome.PENDING)
            .order_by(RemovalResult.id)
        ).all()
        spelling = _ses_spelling(session, [row.address for row in pending])
    done = total - len(pending)
    results: list[AddressResult] = []
    try:
        for row in pending:
            ses_address = spelling.get(row.address, row.address)
            _mark_in_flight(session_factory, row.id)
            result = _remove_one(gateway, row.address, ses_address, row.attempts, pacer, sleep)
            _record_result(session_factory, row.id, result, actor or run_actor, run_id)
            results.append(result)
            done += 1
            if progress is not None:
                progress(done, total, result)
    except BaseException:
        _set_run_status(session_factory, run_id, RunStatus.INTERRUPTED, finished=False)
        raise
    _settle_run(session_factory, run_id)
    return results


def _mark_in_flight(session_factory: SessionFactory, result_id: int) -> None:
    """Count the attempt before the call, so a resume knows an earlier call may have landed."""
    with session_factory() as session, translated_errors():
        session.execute(
            update(RemovalResult)
            .where(RemovalResult.id == result_id)
            .values(attempts=RemovalResult.attempts + 1, updated_at=utcnow())
        )
        session.commit()


def _remove_one(
    gateway: SesGateway,
    address: str,
    ses_address: str,
    earlier_attempts: int,
    pacer: Pacer,
    sleep: Callable[[float], None],
) -> AddressResult:
    """One address: REMOVED only when SES answered success. Errors that would fail every
    address alike (unreachable, credentials, permissions) stop the run instead."""
    attempts = 0

    def call() -> None:
        nonlocal attempts
        attempts += 1
        pacer.wait()
        gateway.delete_suppressed_destination(ses_address)

    try:
        retry_throttled(call, sleep=sleep)
        return AddressResult(address, Outcome.REMOVED, None, attempts)
    except SesNotFound as exc:
        note = " (an earlier, interrupted attempt may have removed it)" if earlier_attempts else ""
        return AddressResult(address, Outcome.NOT_ON_LIST, f"{exc}{note}", attempts)
    except (SesUnreachable, SesAccessDenied):
        raise
    except AwsCallFailed as exc:
        return AddressResult(address, Outcome.FAILED, str(exc), attempts)


def _record_result(
    session_factory: SessionFactory, result_id: int, result: AddressResult, actor: str, run_id: int
) -> None:
    """The result, the mirror and the audit entry, in one transaction."""
    now = utcnow()
    with session_factory() as session, translated_errors():
        session.execute(
            update(RemovalResult)
            .where(RemovalResult.id == result_id)
            .values(
                outcome=result.outcome,
                message=result.message,
                updated_at=now,
                # one attempt was counted by _mark_in_flight
                attempts=RemovalResult.attempts + result.attempts - 1,
            )
        )
        if result.outcome in (Outcome.REMOVED, Outcome.NOT_ON_LIST):
            _mark_unsuppressed(
                session, [result.address], now, by_us=result.outcome == Outcome.REMOVED
            )
        record_audit(
            session.connection(),
            actor,
            "suppression.remove",
            result.address,
            result.outcome,
            {"run_id": run_id, "message": result.message},
        )
        session.commit()


def _mark_unsuppressed(
    session: Session, addresses: Sequence[str], now: datetime, *, by_us: bool
) -> None:
    values: dict[str, Any] = {"suppressed": False, "unsuppressed_at": now}
    if by_us:
        values["removed_by_us"] = True
    session.execute(
        update(SuppressedDestination)
        .where(
            SuppressedDestination.address.in_(addresses), SuppressedDestination.suppressed.is_(True)
        )
        .values(**values)
    )


def _ses_spelling(session: Session, addresses: Sequence[str]) -> dict[str, str]:
    """normalised address -> the exact string SES lists, for the addresses the mirror knows."""
    spelling: dict[str, str] = {}
    for start in range(0, len(addresses), 1000):
        chunk = addresses[start : start + 1000]
        rows = session.execute(
            select(SuppressedDestination.address, SuppressedDestination.email_address).where(
                SuppressedDestination.address.in_(chunk)
            )
        )
        spelling.update({row.address: row.email_address for row in rows})
    return spelling


def _settle_run(session_factory: SessionFactory, run_id: int) -> None:
    """Finished when nothing is pending and no import job is still running; with_failures
    if any address failed or sits in a job that reported failed records."""
    with session_factory() as session, translated_errors():
        counts = _outcome_counts(session, run_id)
        running_jobs = session.scalar(
            select(func.count()).where(
                ImportJob.run_id == run_id, ImportJob.status.not_in(TERMINAL_JOB_STATES)
            )
        )
    if counts.get(Outcome.PENDING) or running_jobs:
        return
    uncertain = counts.get(Outcome.FAILED) or counts.get(Outcome.SUBMITTED)
    status = RunStatus.WITH_FAILURES if uncertain else RunStatus.COMPLETED
    _set_run_status(session_factory, run_id, status, finished=True)


def _set_run_status(
    session_factory: SessionFactory, run_id: int, status: RunStatus, *, finished: bool
) -> None:
    with session_factory() as session, translated_errors():
        session.execute(
            update(RemovalRun)
            .where(RemovalRun.id == run_id)
            .values(status=status, finished_at=utcnow() if finished else None)
        )
        session.commit()


def _outcome_counts(session: Session, run_id: int) -> dict[str, int]:
    rows = session.execute(
        select(RemovalResult.outcome, func.count())
        .where(RemovalResult.run_id == run_id)
        .group_by(RemovalResult.outcome)
    )
    return {outcome: int(count) for outcome, count in rows}


def _get_run(session: Session, run_id: int) -> RemovalRun:
    run = session.get(RemovalRun, run_id)
    if run is None:
        raise InvalidInput(f"there is no removal run {run_id}")
    return run


def _run_field(session_factory: SessionFactory, run_id: int, column: Any) -> Any:
    with session_factory() as session, translated_errors():
        _get_run(session, run_id)
        return session.scalar(select(column).where(RemovalRun.id == run_id))


def removal_report(
    session_factory: SessionFactory,
    run_id: int,
    *,
    rejected: Sequence[RejectedLine] = (),
    results: Sequence[AddressResult] = (),
) -> RemovalReport:
    """Where a run stands now (counts per outcome), plus what the caller just did."""
    with session_factory() as session, translated_errors():
        run = _get_run(session, run_id)
        counts = _outcome_counts(session, run_id)
        return RemovalReport(
            run_id, run.method, run.status, run.requested, counts, tuple(rejected), tuple(results)
        )


def removal_results(session: Session, run_id: int) -> list[AddressResult]:
    """Every address of a run with its outcome, for the per-address results table."""
    with translated_errors():
        rows = session.execute(
            select(
                RemovalResult.address,
                RemovalResult.outcome,
                RemovalResult.message,
                RemovalResult.attempts,
            )
            .where(RemovalResult.run_id == run_id)
            .order_by(RemovalResult.id)
        )
        return [AddressResult(*row) for row in rows]


# --- Removal in bulk: SES import jobs ----------------------------------------------------

NO_BUCKET = (
    "bulk removal needs an S3 bucket SES can read: set BOUNCEDESK_SUPPRESSION_IMPORT_BUCKET "
    "(see docs/aws.md for the bucket policy)"
)


@dataclass(frozen=True, slots=True)
class ImportJobState:
    job_id: str
    run_id: int | None
    status: str
    records: int
    processed: int | None
    failed: int | None
    failure_url: str | None
    failure_message: str | None


def start_import_removal(
    session_factory: SessionFactory,
    gateway: SesGateway,
    addresses: Iterable[str],
    *,
    actor: str,
    reason: str,
    bucket: str | None,
    prefix: str = "",
    rate: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> RemovalReport:
    """Remove many addresses with SES import jobs (action DELETE), 10,000 per job.

    Each chunk is uploaded as a console-format CSV to s3://bucket/prefix..., then a job is
    created and recorded; its addresses become `submitted` until `poll_import_jobs` sees
    the job finish. If a chunk fails, the rest stay pending and `resume_removal` sends them.
    """
    if not bucket:
        raise AwsConfigurationError(NO_BUCKET)
    validated = validate_addresses(addresses)
    if not validated.accepted:
        return RemovalReport(
            None, "import_job", RunStatus.COMPLETED, 0, {}, tuple(validated.rejected), ()
        )
    run_id = create_removal_run(session_factory, validated.accepted, actor, reason, "import_job")
    pacer = Pacer(rate or gateway.request_rate, sleep=sleep)
    _submit_pending(session_factory, gateway, run_id, bucket, prefix, pacer, sleep)
    return removal_report(session_factory, run_id, rejected=validated.rejected)


def _submit_pending(
    session_factory: SessionFactory,
    gateway: SesGateway,
    run_id: int,
    bucket: str,
    prefix: str,
    pacer: Pacer,
    sleep: Callable[[float], None],
) -> None:
    with session_factory() as session, translated_errors():
        actor = _get_run(session, run_id).actor
        pending = list(
            session.scalars(
                select(RemovalResult.address)
                .where(RemovalResult.run_id == run_id, RemovalResult.outcome == Outcome.PENDING)
                .order_by(RemovalResult.id)
            )
        )
        spelling = _ses_spelling(session, pending)
    try:
        for start in range(0, len(pending), IMPORT_JOB_LIMIT):
            chunk = pending[start : start + IMPORT_JOB_LIMIT]
            body = console_bulk_delete_csv(spelling.get(a, a) for a in chunk)
            key = f"{prefix}run-{run_id}/{uuid.uuid4().hex}.csv"
            s3_url = gateway.upload_object(bucket, key, body, "text/csv")

            def create(url: str = s3_url) -> str:
                pacer.wait()
                return gateway.create_import_job(url, action="DELETE")

            job_id = retry_throttled(create, sleep=sleep)
            _record_job(session_factory, run_id, actor, job_id, s3_url, chunk)
    except BaseException:
        _set_run_status(session_factory, run_id, RunStatus.INTERRUPTED, finished=False)
        raise
    _set_run_status(session_factory, run_id, RunStatus.SUBMITTED, finished=False)


def _record_job(
    session_factory: SessionFactory,
    run_id: int,
    actor: str,
    job_id: str,
    s3_url: str,
    addresses: Sequence[str],
) -> None:
    now = utcnow()
    with session_factory() as session, translated_errors():
        session.add(
            ImportJob(
                run_id=run_id,
                job_id=job_id,
                action="DELETE",
                s3_url=s3_url,
                records=len(addresses),
                status="CREATED",
                created_at=now,
                updated_at=now,
            )
        )
        for start in range(0, len(addresses), 1000):
            session.execute(
                update(RemovalResult)
                .where(
                    RemovalResult.run_id == run_id,
                    RemovalResult.address.in_(addresses[start : start + 1000]),
                )
                .values(outcome=Outcome.SUBMITTED, message=f"import job {job_id}", updated_at=now)
            )
        record_audit(
            session.connection(),
            actor,
            "suppression.import_job",
            None,
            "CREATED",
            {"run_id": run_id, "job_id": job_id, "s3_url": s3_url, "records": len(addresses)},
        )
        session.commit()


def poll_import_jobs(
    session_factory: SessionFactory, gateway: SesGateway, *, run_id: int | None = None
) -> list[ImportJobState]:
    """Ask SES about every unfinished job (of one run, or all) and record what it says.

    When a job completes with no failed records, its addresses become `removed` and leave
    the mirror; with failures, they stay `submitted` (SES names the failures only in its
    failure file) and the next full sync shows which are really gone. A FAILED or
    CANCELLED job fails all its addresses, so `retry_failed` can send them again.
    """
    with session_factory() as session, translated_errors():
        query = select(ImportJob.job_id).where(ImportJob.status.not_in(TERMINAL_JOB_STATES))
        if run_id is not None:
            query = query.where(ImportJob.run_id == run_id)
        job_ids = list(session.scalars(query.order_by(ImportJob.id)))
    return [_poll_one(session_factory, gateway, job_id) for job_id in job_ids]


def _poll_one(session_factory: SessionFactory, gateway: SesGateway, job_id: str) -> ImportJobState:
    info = gateway.get_import_job(job_id)
    now = utcnow()
    with session_factory() as session, translated_errors():
        job = session.scalars(select(ImportJob).where(ImportJob.job_id == job_id)).one()
        job.status, job.processed, job.failed = info.status, info.processed, info.failed
        job.failure_url, job.failure_message, job.updated_at = (
            info.failure_url,
            info.failure_message,
            now,
        )
        if info.status in TERMINAL_JOB_STATES and job.run_id is not None:
            _settle_job_results(session, job, now)
        session.commit()
        state = ImportJobState(
            job.job_id,
            job.run_id,
            job.status,
            job.records,
            job.processed,
            job.failed,
            job.failure_url,
            job.failure_message,
        )
    if state.run_id is not None and state.status in TERMINAL_JOB_STATES:
        _settle_run(session_factory, state.run_id)
    return state


def _settle_job_results(session: Session, job: ImportJob, now: datetime) -> None:
    mine = (RemovalResult.run_id == job.run_id) & (
        RemovalResult.message == f"import job {job.job_id}"
    )
    if job.status == "COMPLETED" and not job.failed:
        addresses = list(session.scalars(select(RemovalResult.address).where(mine)))
        session.execute(
            update(RemovalResult).where(mine).values(outcome=Outcome.REMOVED, updated_at=now)
        )
        for start in range(0, len(addresses), 1000):
            _mark_unsuppressed(session, addresses[start : start + 1000], now, by_us=True)
    elif job.status == "COMPLETED":
        # SES names the failed records only in its failure file; the next full sync shows
        # which of these addresses are really gone.
        message = (
            f"import job {job.job_id} completed with {job.failed} of {job.records} records "
            "failed; see its failure file, or run a full sync"
        )
        session.execute(update(RemovalResult).where(mine).values(message=message, updated_at=now))
    else:
        message = (
            f"import job {job.job_id} {job.status}: {job.failure_message or 'no reason given'}"
        )
        session.execute(
            update(RemovalResult)
            .where(mine)
            .values(outcome=Outcome.FAILED, message=message, updated_at=now)
        )


# --- The SES console's bulk removal file -------------------------------------------------


def console_bulk_delete_csv(addresses: Iterable[str]) -> bytes:
    """A CSV for the console's "Remove email addresses in bulk" (and DELETE import jobs).

    The SES developer guide's example for removal is one address per line and no header
    row (a header would be read as an address). UTF-8; each address once, in input order.
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


def console_csv_candidates(session: Session, *, confirmed_only: bool = True) -> list[str]:
    """Addresses still suppressed in the mirror, as SES spells them; by default only those
    staff confirmed valid since their last bounce (core.confirmations' rule)."""
    query = select(SuppressedDestination.email_address).where(
        SuppressedDestination.suppressed.is_(True)
    )
    if confirmed_only:
        query = query.where(SuppressedDestination.address.in_(confirmed_addresses()))
    with translated_errors():
        return list(session.scalars(query.order_by(SuppressedDestination.address)))
