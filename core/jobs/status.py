"""Where each job stands: its last run, when it is next due, and whether it is stale.

A job is stale when it is on (has an interval) and either its last two finished runs
failed, or it has not succeeded for more than twice its interval (counting from its first
run when it never succeeded). A job that never ran is due, not stale: nothing has been
scheduled yet, and `bouncedesk doctor` is where that is a finding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, case, func, select
from sqlalchemy.orm import Session

from core.jobs.spec import JobSpec
from core.settings import Settings
from core.store.db import open_session, translated_errors
from core.store.models import JobOutcome, JobRun

FINISHED = (JobOutcome.SUCCEEDED, JobOutcome.FAILED)


@dataclass(frozen=True, slots=True)
class JobStatus:
    name: str
    does: str
    interval: timedelta | None  # None: turned off
    changes: bool
    last_started: datetime | None  # the last run that was not skipped
    last_outcome: JobOutcome | None
    last_summary: str | None
    last_error: str | None
    last_success: datetime | None
    next_due: datetime | None  # None: turned off
    due: bool
    stale: bool
    why_stale: str | None


@dataclass(frozen=True, slots=True)
class _Times:
    first: datetime | None = None
    last: datetime | None = None
    success: datetime | None = None


def job_statuses(
    engine: Engine, settings: Settings, jobs: Sequence[JobSpec], now: datetime
) -> list[JobStatus]:
    """The status of each of `jobs` at `now` (naive UTC)."""
    with translated_errors(), open_session(engine) as session:
        times = _times(session, [spec.name for spec in jobs])
        statuses = []
        for spec in jobs:
            recent = session.scalars(
                select(JobRun)
                .where(JobRun.job == spec.name, JobRun.outcome != JobOutcome.SKIPPED)
                .order_by(JobRun.started_at.desc(), JobRun.id.desc())
                .limit(3)
            ).all()
            statuses.append(_status(spec, settings, times.get(spec.name, _Times()), recent, now))
    return statuses


def _times(session: Session, names: list[str]) -> dict[str, _Times]:
    succeeded = case((JobRun.outcome == JobOutcome.SUCCEEDED, JobRun.started_at))
    query = (
        select(
            JobRun.job,
            func.min(JobRun.started_at),
            func.max(JobRun.started_at),
            func.max(succeeded),
        )
        .where(JobRun.job.in_(names), JobRun.outcome != JobOutcome.SKIPPED)
        .group_by(JobRun.job)
    )
    rows = session.execute(query).all()
    return {job: _Times(first, last, success) for job, first, last, success in rows}


def _status(
    spec: JobSpec, settings: Settings, times: _Times, recent: Sequence[JobRun], now: datetime
) -> JobStatus:
    interval = spec.interval(settings)
    last = recent[0] if recent else None
    next_due = None
    if interval is not None:
        next_due = now if times.last is None else times.last + interval
    why = _why_stale(interval, times, recent, now)
    return JobStatus(
        name=spec.name,
        does=spec.does,
        interval=interval,
        changes=spec.changes,
        last_started=times.last,
        last_outcome=JobOutcome(last.outcome) if last else None,
        last_summary=last.summary if last else None,
        last_error=last.error if last else None,
        last_success=times.success,
        next_due=next_due,
        due=next_due is not None and next_due <= now,
        stale=why is not None,
        why_stale=why,
    )


def _why_stale(
    interval: timedelta | None, times: _Times, recent: Sequence[JobRun], now: datetime
) -> str | None:
    if interval is None or times.first is None:
        return None
    finished = [run for run in recent if run.outcome in FINISHED][:2]
    if len(finished) == 2 and all(run.outcome == JobOutcome.FAILED for run in finished):
        return "failed twice in a row"
    since = times.success or times.first
    if now - since > 2 * interval:
        what = "last succeeded" if times.success else "never succeeded; first ran"
        return f"{what} {_ago(now - since)} ago (more than twice its interval)"
    return None


def _ago(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h" if hours < 48 else f"{hours // 24} days"
