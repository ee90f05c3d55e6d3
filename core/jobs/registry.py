"""The jobs there are. Registering a job is one entry in `JOBS` (see docs/architecture.md,
"A job"): a `JobSpec` naming the job, what it does, its interval setting (minutes, in
`core/settings.py`), whether it changes anything, and the function that runs it (in
`core/jobs/tasks.py`, a few lines over the wing's service built from settings)."""

from __future__ import annotations

from core.errors import InvalidInput
from core.jobs import tasks
from core.jobs.spec import JobSpec

JOBS: tuple[JobSpec, ...] = (
    JobSpec(
        "suppression-sync",
        "mirror the SES suppression list (incremental; a full sync daily)",
        "job_suppression_sync_minutes",
        changes=True,
        run=tasks.sync_suppression_list,
    ),
    JobSpec(
        "metrics-pull",
        "store CloudWatch reputation metrics and GetSendStatistics",
        "job_metrics_pull_minutes",
        changes=False,
        run=tasks.pull_metrics,
    ),
    JobSpec(
        "account-snapshot",
        "record SES account health (GetAccount)",
        "job_account_snapshot_minutes",
        changes=False,
        run=tasks.record_account_snapshot,
    ),
    JobSpec(
        "import-job-poll",
        "record the state of unfinished SES import jobs",
        "job_import_job_poll_minutes",
        changes=True,
        run=tasks.poll_import_jobs,
    ),
    JobSpec(
        "sqs-poll",
        "store what waits on the SQS queue (deployments without the ingest Lambda)",
        "job_sqs_poll_minutes",
        changes=True,
        run=tasks.poll_sqs,
    ),
    JobSpec(
        "alerts-check",
        "evaluate the alert rules, notify the channels, let the guard act",
        "job_alerts_check_minutes",
        changes=True,
        run=tasks.check_alerts,
    ),
    JobSpec(
        "retention",
        "delete raw facts past their kind's age (the retention_* settings)",
        "job_retention_minutes",
        changes=True,
        run=tasks.apply_retention,
    ),
)


def find_job(name: str, jobs: tuple[JobSpec, ...] = JOBS) -> JobSpec:
    """The job called `name`; InvalidInput naming the jobs there are otherwise."""
    for spec in jobs:
        if spec.name == name:
            return spec
    known = ", ".join(spec.name for spec in jobs)
    raise InvalidInput(f"no job called {name!r}; the jobs are: {known}")
