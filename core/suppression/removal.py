"""Taking addresses off the SES account-level suppression list, and what became of each.

- `remove_from_suppression_list` removes addresses one call at a time, paced to the SES
  management rate, writing each result as it returns so a run can be resumed.
- `start_import_removal` / `poll_import_jobs` do the same in bulk with SES import jobs.

Every request is first planned by `core.suppression.guardrails` for the acting person and
refused unless every address is allowed, and the plan is checked again when a run is resumed
or retried.
Each run, each address's outcome and each import job are written to the audit log in the
same transaction as the result itself.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.access import Action, Actor, require
from core.audit import audit_row, record_audit, record_audit_rows
from core.chunks import IN_LIST_SIZE, chunked
from core.clock import utcnow
from core.errors import (
    AwsCallFailed,
    AwsConfigurationError,
    InvalidInput,
    SesAccessDenied,
    SesNotFound,
    SesUnreachable,
)
from core.ses.gateway import Pacer, SesGateway, retry_throttled
from core.store.db import translated_errors
from core.store.models import ImportJob, RemovalResult, RemovalRun, SuppressedDestination
from core.suppression.guardrails import (
    RejectedLine,
    RemovalPlan,
    authorise,
    flags_of,
    plan_removal,
    require_for_flags,
)
from core.suppression.mirror import console_bulk_delete_csv

SessionFactory = Callable[[], Session]

IMPORT_JOB_LIMIT = 10_000  # SES: at most 10,000 addresses per DELETE import job
TERMINAL_JOB_STATES = frozenset({"COMPLETED", "FAILED", "CANCELLED"})


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
    actor: Actor,
    reason: str,
    max_per_click: int,
    override: bool = False,
    rate: float | None = None,
    progress: RemovalProgress | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> RemovalReport:
    """Take addresses off the SES suppression list, one DeleteSuppressedDestination each.

    The request is planned for `actor` (`core.suppression.guardrails.plan_removal`, with
    `reason` and `override`) and refused before any call unless every address is allowed and
    there are at most `max_per_click` of them (more go through `start_import_removal`).
    Rejected lines are reported and never sent. The run and one pending result per address
    are committed before the first call, and each result as its call returns, so an
    interrupted run loses nothing: `resume_removal` finishes it. `rate` defaults to the
    gateway's.
    """
    plan = plan_removal(
        session_factory, addresses, actor=actor, reason=reason, override=override,
        max_per_click=max_per_click,
    )  # fmt: skip
    authorise(plan, actor)
    if not plan.items:
        return RemovalReport(None, "api", RunStatus.COMPLETED, 0, {}, plan.rejected, ())
    if len(plan.allowed) > max_per_click:
        raise InvalidInput(
            f"{len(plan.allowed)} addresses are more than {max_per_click} per click: remove "
            "them with an SES import job, which asks to confirm their number once more"
        )
    run_id = _create_run(session_factory, plan, actor, reason, "api")
    pacer = Pacer(rate or gateway.request_rate, clock=clock, sleep=sleep)
    results = _process_pending(session_factory, gateway, run_id, pacer, progress, sleep, actor)
    return removal_report(session_factory, run_id, rejected=plan.rejected, results=results)


def resume_removal(
    session_factory: SessionFactory,
    gateway: SesGateway,
    run_id: int,
    *,
    actor: Actor,
    rate: float | None = None,
    progress: RemovalProgress | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    bucket: str | None = None,
    prefix: str = "",
) -> RemovalReport:
    """Finish an interrupted run: only addresses still pending are sent again, and only if
    `actor` may remove each of them now. For an import-job run, the pending addresses go
    into new jobs (`bucket` is required).
    """
    _authorise_run(session_factory, run_id, actor, Outcome.PENDING)
    pacer = Pacer(rate or gateway.request_rate, clock=clock, sleep=sleep)
    if _run_field(session_factory, run_id, RemovalRun.method) == "import_job":
        if not bucket:
            raise AwsConfigurationError(NO_BUCKET)
        _submit_pending(session_factory, gateway, run_id, actor, bucket, prefix, pacer, sleep)
        return removal_report(session_factory, run_id)
    results = _process_pending(session_factory, gateway, run_id, pacer, progress, sleep, actor)
    return removal_report(session_factory, run_id, results=results)


def retry_failed(
    session_factory: SessionFactory,
    gateway: SesGateway,
    run_id: int,
    *,
    actor: Actor,
    rate: float | None = None,
    progress: RemovalProgress | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    bucket: str | None = None,
    prefix: str = "",
) -> RemovalReport:
    """Send the failed addresses of a run again; removed and not-listed ones are left alone."""
    _authorise_run(session_factory, run_id, actor, Outcome.FAILED)
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
        actor=actor,
        rate=rate,
        progress=progress,
        sleep=sleep,
        clock=clock,
        bucket=bucket,
        prefix=prefix,
    )


def _authorise_run(
    session_factory: SessionFactory, run_id: int, actor: Actor, outcome: Outcome
) -> None:
    """The guardrails again, for the addresses a resume or retry would send: the facts may
    have changed since the run was planned, and someone else may be resuming it."""
    require(actor, Action.REMOVE_CONFIRMED)
    with session_factory() as session, translated_errors():
        _get_run(session, run_id)
        addresses = list(
            session.scalars(
                select(RemovalResult.address).where(
                    RemovalResult.run_id == run_id, RemovalResult.outcome == outcome
                )
            )
        )
    flags = flags_of(session_factory, addresses)
    require_for_flags(actor, (flag for found in flags.values() for flag in found))


def _create_run(
    session_factory: SessionFactory, plan: RemovalPlan, actor: Actor, reason: str, method: str
) -> int:
    """Record the request and one pending result per allowed address, before any SES call.
    The audit entry keeps the reason and, for addresses an admin included on purpose, why
    they needed an admin."""
    addresses = plan.allowed
    now = utcnow()
    with session_factory() as session, translated_errors():
        run = RemovalRun(
            actor=actor.name,
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
        parameters = {"run_id": run.id, "addresses": len(addresses), "reason": reason}
        if plan.flagged:
            parameters["admin_override"] = plan.flagged
        record_audit(
            session.connection(), actor, "suppression.removal_requested", None, method, parameters
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
    actor: Actor,
) -> list[AddressResult]:
    """Send every pending address of the run; each outcome is audited as `actor`'s."""
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
            _record_result(session_factory, row.id, result, actor, run_id, run_actor)
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
    session_factory: SessionFactory,
    result_id: int,
    result: AddressResult,
    actor: Actor,
    run_id: int,
    run_actor: str,
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
        parameters: dict[str, Any] = {"run_id": run_id, "message": result.message}
        if run_actor != actor.name:
            parameters["requested_by"] = run_actor
        record_audit(
            session.connection(),
            actor,
            "suppression.remove",
            result.address,
            result.outcome,
            parameters,
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
    for chunk in chunked(addresses, IN_LIST_SIZE):
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
    actor: Actor,
    reason: str,
    bucket: str | None,
    max_per_click: int,
    confirm_count: int | None = None,
    override: bool = False,
    prefix: str = "",
    rate: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> RemovalReport:
    """Remove many addresses with SES import jobs (action DELETE), 10,000 per job.

    Planned and refused like `remove_from_suppression_list`; more than `max_per_click`
    addresses also need `confirm_count` equal to their number (the extra confirmation).
    Each chunk is uploaded as a console-format CSV to s3://bucket/prefix..., then a job is
    created and recorded; its addresses become `submitted` until `poll_import_jobs` sees
    the job finish. If a chunk fails, the rest stay pending and `resume_removal` sends them.
    """
    if not bucket:
        raise AwsConfigurationError(NO_BUCKET)
    plan = plan_removal(
        session_factory, addresses, actor=actor, reason=reason, override=override,
        max_per_click=max_per_click,
    )  # fmt: skip
    authorise(plan, actor)
    if not plan.items:
        return RemovalReport(None, "import_job", RunStatus.COMPLETED, 0, {}, plan.rejected, ())
    count = len(plan.allowed)
    if count > max_per_click and confirm_count != count:
        raise InvalidInput(
            f"removing {count} addresses at once (more than {max_per_click}) needs one more "
            f"confirmation: give their number, {count}"
        )
    run_id = _create_run(session_factory, plan, actor, reason, "import_job")
    pacer = Pacer(rate or gateway.request_rate, sleep=sleep)
    _submit_pending(session_factory, gateway, run_id, actor, bucket, prefix, pacer, sleep)
    return removal_report(session_factory, run_id, rejected=plan.rejected)


def _submit_pending(
    session_factory: SessionFactory,
    gateway: SesGateway,
    run_id: int,
    actor: Actor,
    bucket: str,
    prefix: str,
    pacer: Pacer,
    sleep: Callable[[float], None],
) -> None:
    with session_factory() as session, translated_errors():
        _get_run(session, run_id)
        pending = list(
            session.scalars(
                select(RemovalResult.address)
                .where(RemovalResult.run_id == run_id, RemovalResult.outcome == Outcome.PENDING)
                .order_by(RemovalResult.id)
            )
        )
        spelling = _ses_spelling(session, pending)
    try:
        for chunk in chunked(pending, IMPORT_JOB_LIMIT):
            # SES reads this file, matching each address byte for byte: written as listed.
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
    actor: Actor,
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
        for chunk in chunked(addresses, IN_LIST_SIZE):
            session.execute(
                update(RemovalResult)
                .where(RemovalResult.run_id == run_id, RemovalResult.address.in_(chunk))
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
    session_factory: SessionFactory,
    gateway: SesGateway,
    *,
    actor: Actor,
    run_id: int | None = None,
) -> list[ImportJobState]:
    """Ask SES about every unfinished job (of one run, or all) and record what it says
    (operator role; a finished job and its addresses' outcomes go into the audit log).

    When a job completes with no failed records, its addresses become `removed` and leave
    the mirror; with failures, they stay `submitted` (SES names the failures only in its
    failure file) and the next full sync shows which are really gone. A FAILED or
    CANCELLED job fails all its addresses, so `retry_failed` can send them again.
    """
    require(actor, Action.SYNC)
    with session_factory() as session, translated_errors():
        query = select(ImportJob.job_id).where(ImportJob.status.not_in(TERMINAL_JOB_STATES))
        if run_id is not None:
            query = query.where(ImportJob.run_id == run_id)
        job_ids = list(session.scalars(query.order_by(ImportJob.id)))
    return [_poll_one(session_factory, gateway, job_id, actor) for job_id in job_ids]


def _poll_one(
    session_factory: SessionFactory, gateway: SesGateway, job_id: str, actor: Actor
) -> ImportJobState:
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
            _settle_job_results(session, job, now, actor)
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


def _settle_job_results(session: Session, job: ImportJob, now: datetime, actor: Actor) -> None:
    """Outcomes of a finished job's addresses, and their audit entries (per address when
    the outcome is known, for the job as a whole always)."""
    mine = (RemovalResult.run_id == job.run_id) & (
        RemovalResult.message == f"import job {job.job_id}"
    )
    addresses = list(session.scalars(select(RemovalResult.address).where(mine)))
    outcome: Outcome | None = None
    if job.status == "COMPLETED" and not job.failed:
        outcome, message = Outcome.REMOVED, f"import job {job.job_id} completed"
        session.execute(update(RemovalResult).where(mine).values(outcome=outcome, updated_at=now))
        for chunk in chunked(addresses, IN_LIST_SIZE):
            _mark_unsuppressed(session, chunk, now, by_us=True)
    elif job.status == "COMPLETED":
        # SES names the failed records only in its failure file; the next full sync shows
        # which of these addresses are really gone.
        message = (
            f"import job {job.job_id} completed with {job.failed} of {job.records} records "
            "failed; see its failure file, or run a full sync"
        )
        session.execute(update(RemovalResult).where(mine).values(message=message, updated_at=now))
    else:
        outcome = Outcome.FAILED
        message = (
            f"import job {job.job_id} {job.status}: {job.failure_message or 'no reason given'}"
        )
        session.execute(
            update(RemovalResult)
            .where(mine)
            .values(outcome=outcome, message=message, updated_at=now)
        )
    _audit_job(session, job, actor, addresses, outcome, message)


def _audit_job(
    session: Session,
    job: ImportJob,
    actor: Actor,
    addresses: list[str],
    outcome: Outcome | None,
    message: str,
) -> None:
    common = {"run_id": job.run_id, "job_id": job.job_id}
    rows = [
        audit_row(
            actor,
            "suppression.import_job",
            None,
            job.status,
            {**common, "records": job.records, "processed": job.processed, "failed": job.failed},
            detail=job.failure_message or job.failure_url,
        )
    ]
    if outcome is not None:
        rows += [
            audit_row(actor, "suppression.remove", a, outcome, {**common, "message": message})
            for a in addresses
        ]
    record_audit_rows(session.connection(), rows)
