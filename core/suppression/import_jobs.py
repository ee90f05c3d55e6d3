"""Removal in bulk: SES import jobs (action DELETE), up to 10,000 addresses each.

`submit_pending` uploads a run's pending addresses as console-format CSVs and creates one
job per chunk; each result then names its job (`removal_results.import_job_id`) and is
`submitted` until `poll_import_jobs` sees the job finish. `core.suppression.removal`'s
`Remover` is the way in; this module holds the mechanics.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from core.access import Action, Actor, require
from core.audit import audit_row, record_audit, record_audit_rows
from core.chunks import IN_LIST_SIZE, chunked
from core.clock import utcnow
from core.ses.gateway import Pacer, SesGateway, retry_throttled
from core.store.db import open_session, translated_errors
from core.store.models import ImportJob, Outcome, RemovalResult, RunStatus
from core.suppression.mirror import console_bulk_delete_csv
from core.suppression.runs import (
    TERMINAL_JOB_STATES,
    get_run,
    mark_unsuppressed,
    ses_spelling,
    set_run_status,
    settle_run,
)

IMPORT_JOB_LIMIT = 10_000  # SES: at most 10,000 addresses per DELETE import job
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


@dataclass(frozen=True, slots=True)
class JobTarget:
    """Where a run's import files go and how they are sent."""

    gateway: SesGateway
    bucket: str
    prefix: str
    pacer: Pacer
    sleep: Callable[[float], None]
    limit: int = IMPORT_JOB_LIMIT


def submit_pending(engine: Engine, target: JobTarget, run_id: int, actor: Actor) -> None:
    """Send a run's pending addresses in import jobs of at most `target.limit` each. If a
    chunk fails, the run is interrupted and the rest stay pending (a resume sends them)."""
    with open_session(engine) as session, translated_errors():
        get_run(session, run_id)
        pending = list(
            session.scalars(
                select(RemovalResult.address)
                .where(RemovalResult.run_id == run_id, RemovalResult.outcome == Outcome.PENDING)
                .order_by(RemovalResult.id)
            )
        )
        spelling = ses_spelling(session, pending)
    try:
        for chunk in chunked(pending, target.limit):
            # SES reads this file, matching each address byte for byte: written as listed.
            body = console_bulk_delete_csv(spelling.get(a, a) for a in chunk)
            key = f"{target.prefix}run-{run_id}/{uuid.uuid4().hex}.csv"
            s3_url = target.gateway.upload_object(target.bucket, key, body, "text/csv")

            def create(url: str = s3_url) -> str:
                target.pacer.wait()
                return target.gateway.create_import_job(url, action="DELETE")

            job_id = retry_throttled(create, sleep=target.sleep)
            _record_job(engine, run_id, actor, job_id, s3_url, chunk)
    except BaseException:
        set_run_status(engine, run_id, RunStatus.INTERRUPTED, finished=False)
        raise
    set_run_status(engine, run_id, RunStatus.SUBMITTED, finished=False)


def _record_job(
    engine: Engine, run_id: int, actor: Actor, job_id: str, s3_url: str, addresses: Sequence[str]
) -> None:
    now = utcnow()
    with open_session(engine) as session, translated_errors():
        job = ImportJob(
            run_id=run_id,
            job_id=job_id,
            action="DELETE",
            s3_url=s3_url,
            records=len(addresses),
            status="CREATED",
            created_at=now,
            updated_at=now,
        )
        session.add(job)
        session.flush()
        for chunk in chunked(addresses, IN_LIST_SIZE):
            session.execute(
                update(RemovalResult)
                .where(
                    RemovalResult.run_id == run_id,
                    RemovalResult.address.in_(chunk),
                )
                .values(
                    outcome=Outcome.SUBMITTED,
                    import_job_id=job.id,
                    message=f"import job {job_id}",
                    updated_at=now,
                )
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
    engine: Engine, gateway: SesGateway, *, actor: Actor, run_id: int | None = None
) -> list[ImportJobState]:
    """Ask SES about every unfinished job (of one run, or all) and record what it says
    (operator role; a finished job and its addresses' outcomes go into the audit log).

    When a job completes with no failed records, its addresses become `removed` and leave
    the mirror; with failures, they stay `submitted` (SES names the failures only in its
    failure file) and the next full sync shows which are really gone. A FAILED or
    CANCELLED job fails all its addresses, so `retry_failed` can send them again.
    """
    require(actor, Action.SYNC)
    with open_session(engine) as session, translated_errors():
        query = select(ImportJob.job_id).where(ImportJob.status.not_in(TERMINAL_JOB_STATES))
        if run_id is not None:
            query = query.where(ImportJob.run_id == run_id)
        job_ids = list(session.scalars(query.order_by(ImportJob.id)))
    return [_poll_one(engine, gateway, job_id, actor) for job_id in job_ids]


def _poll_one(engine: Engine, gateway: SesGateway, job_id: str, actor: Actor) -> ImportJobState:
    info = gateway.get_import_job(job_id)
    now = utcnow()
    with open_session(engine) as session, translated_errors():
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
        settle_run(engine, state.run_id)
    return state


def _settle_job_results(session: Session, job: ImportJob, now: datetime, actor: Actor) -> None:
    """Outcomes of a finished job's addresses, and their audit entries (per address when
    the outcome is known, for the job as a whole always)."""
    mine = (RemovalResult.import_job_id == job.id) & (RemovalResult.outcome == Outcome.SUBMITTED)
    addresses = list(session.scalars(select(RemovalResult.address).where(mine)))
    outcome: Outcome | None = None
    if job.status == "COMPLETED" and not job.failed:
        outcome, message = Outcome.REMOVED, f"import job {job.job_id} completed"
        session.execute(update(RemovalResult).where(mine).values(outcome=outcome, updated_at=now))
        for chunk in chunked(addresses, IN_LIST_SIZE):
            mark_unsuppressed(session, chunk, now, by_us=True)
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
