"""One function per job: each builds its wing's service from settings and calls it once.

No job holds logic of its own: the sync is `core.suppression.mirror`, the figures are
`core.ses.metrics`, import jobs are the `Remover`'s, SQS is `core.ingest.intake`.
"""

from __future__ import annotations

from datetime import timedelta

from core.errors import SettingsError
from core.ingest.intake import poll_queue
from core.ingest.pipeline import Ingester
from core.jobs.spec import JobContext, JobResult
from core.ses import metrics
from core.suppression import mirror
from core.suppression.removal import Remover

# A job's SQS round waits this long on an empty queue: long enough to catch a message in
# flight, short enough that a bounded run ends promptly.
SQS_WAIT_SECONDS = 1


def sync_suppression_list(ctx: JobContext) -> JobResult:
    """Incremental, except when the last full sync is older than `job_full_sync_hours`
    (an incremental sync cannot see addresses removed from the list)."""
    last_full = mirror.last_full_sync(ctx.engine)
    full_every = timedelta(hours=ctx.settings.job_full_sync_hours)
    full = last_full is None or ctx.now - last_full >= full_every
    report = mirror.sync_suppression_list(
        ctx.engine, ctx.gateway(), actor=ctx.actor, incremental=not full
    )
    kind = "incremental" if report.incremental else "full"
    return JobResult(
        f"{kind} sync {report.sync_id}: {report.seen} listed, {report.added} newly "
        f"suppressed, {report.gone} no longer listed"
    )


def pull_metrics(ctx: JobContext) -> JobResult:
    reports = metrics.pull_metrics(ctx.engine, ctx.gateway(), now=ctx.now)
    return JobResult("; ".join(f"{r.source}: {r.points} points" for r in reports))


def record_account_snapshot(ctx: JobContext) -> JobResult:
    health = metrics.record_account_snapshot(ctx.engine, ctx.gateway())
    return JobResult(
        f"enforcement status {health.enforcement_status}, sending enabled {health.sending_enabled}"
    )


def poll_import_jobs(ctx: JobContext) -> JobResult:
    remover = Remover.from_settings(ctx.settings, ctx.engine, ctx.gateway())
    states = remover.poll_jobs(actor=ctx.actor)
    if not states:
        return JobResult("no unfinished import jobs")
    statuses = ", ".join(f"{state.job_id} {state.status}" for state in states)
    return JobResult(f"{len(states)} import job(s): {statuses}")


def poll_sqs(ctx: JobContext) -> JobResult:
    """One bounded round: at most `job_sqs_poll_max_messages` messages."""
    queue_url = ctx.settings.sqs_queue_url
    if not queue_url:
        raise SettingsError(
            "sqs-poll needs the queue: set sqs_queue_url (BOUNCEDESK_SQS_QUEUE_URL)"
        )
    ingester = Ingester.from_settings(ctx.settings, ctx.engine, entry_point="sqs")
    report = poll_queue(
        ctx.sqs(),
        queue_url,
        ingester,
        ctx.actor,
        max_messages=ctx.settings.job_sqs_poll_max_messages,
        wait_seconds=SQS_WAIT_SECONDS,
    )
    counts = ", ".join(f"{name} {n}" for name, n in report.summary.as_dict().items() if n)
    summary = f"{report.messages} message(s), {report.deleted} deleted; {counts or 'nothing'}"
    error = "; ".join(report.errors) or None
    if report.left_on_queue and error is None:
        error = f"{report.left_on_queue} message(s) left on the queue"
    return JobResult(summary, error)
