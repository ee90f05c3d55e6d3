"""Job freshness: each scheduled job ran recently and did not fail twice (`core.jobs`)."""

from __future__ import annotations

from core.clock import utcnow
from core.doctor.findings import Finding, ok, problem, warning
from core.errors import BounceDeskError
from core.jobs.registry import JOBS
from core.jobs.status import job_statuses
from core.settings import Settings
from core.store.db import make_engine
from core.store.models import JobOutcome


def check_jobs(settings: Settings) -> list[Finding]:
    """One line per job that is on: stale is a problem, never run a warning."""
    try:
        engine = make_engine(settings.database_url, auto_upgrade=False)
        try:
            statuses = job_statuses(engine, settings, JOBS, utcnow())
        finally:
            engine.dispose()
    except BounceDeskError as exc:
        return [warning("jobs", f"not checked: {exc}", "fix the database first")]
    found = []
    for status in statuses:
        name = f"job {status.name}"
        if status.interval is None:
            continue  # turned off in settings
        if status.stale:
            found.append(
                problem(
                    name,
                    f"stale: {status.why_stale}"
                    + (f" (last error: {status.last_error})" if status.last_error else ""),
                    f"look at `bouncedesk jobs list`, fix the cause, then "
                    f"`bouncedesk jobs run {status.name}`; check that `jobs run-due` is scheduled",
                )
            )
        elif status.last_started is None:
            found.append(
                warning(
                    name,
                    "has never run",
                    "schedule `bouncedesk jobs run-due` (cron, systemd timer, EventBridge)",
                )
            )
        elif status.last_outcome == JobOutcome.FAILED:
            found.append(
                warning(
                    name,
                    f"its last run failed: {status.last_error or 'no error recorded'}",
                    "see `bouncedesk jobs list`; a second failure in a row makes it stale",
                )
            )
        else:
            when = f"{status.last_started:%Y-%m-%d %H:%M} UTC"
            found.append(ok(name, f"last run {when}, {status.last_outcome}"))
    return found
