"""One function per job: each builds its wing's service from settings and calls it once.

No job holds logic of its own: the sync is `core.suppression.mirror`, the figures are
`core.ses.metrics`, import jobs are the `Remover`'s, SQS is `core.ingest.intake`, the
alerts check is `core.alerts.checker.AlertChecker` (handed the other jobs' health).
"""

from __future__ import annotations

from datetime import timedelta

from core.alerts.channels import Notifier
from core.alerts.checker import AlertChecker
from core.alerts.rules import JobHealth
from core.errors import AwsConfigurationError, SettingsError
from core.ingest.intake import poll_queue
from core.ingest.pipeline import Ingester
from core.jobs.spec import JobContext, JobResult
from core.jobs.status import JobStatus, job_statuses
from core.retention.purge import Retention
from core.ses import metrics
from core.ses.gateway import SesGateway
from core.store.models import JobOutcome
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


def check_alerts(ctx: JobContext) -> JobResult:
    """Every alert rule once, with the other jobs' health handed in (alerts never import
    the runner); no gateway when AWS is not configured, and then the SES rules say so."""
    from core.jobs.registry import JOBS  # the registry imports this module: read it late

    def health() -> list[JobHealth]:
        return [
            JobHealth(status.name, job_problem(status), status.last_started)
            for status in job_statuses(ctx.engine, ctx.settings, JOBS, ctx.now)
            if status.name != "alerts-check"
        ]

    try:
        gateway: SesGateway | None = ctx.gateway()
    except AwsConfigurationError:
        gateway = None  # the SES rules then judge what the other jobs stored
    checker = AlertChecker.from_settings(
        ctx.settings, ctx.engine, gateway, Notifier.from_settings(ctx.settings),
        job_statuses=health,
    )  # fmt: skip
    summary = checker.check(ctx.now)
    text = (
        f"{summary.findings} conditions hold; opened {len(summary.opened)}, "
        f"re-notified {len(summary.renotified)}, resolved {len(summary.resolved)}"
    )
    problems = [f"{name} not evaluated: {why}" for name, why in sorted(summary.skipped.items())]
    if summary.failed_deliveries:
        problems.append(f"{summary.failed_deliveries} delivery(ies) failed")
    return JobResult(text, "; ".join(problems) or None)


def job_problem(status: JobStatus) -> str | None:
    """Why a job needs attention (stale, or its last run failed), or None."""
    if status.stale:
        return f"stale ({status.why_stale})"
    if status.last_outcome == JobOutcome.FAILED:
        return f"failing: {status.last_error or 'see its last run'}"
    return None


def apply_retention(ctx: JobContext) -> JobResult:
    """Until nothing is due: each batch is its own transaction, so a run that is stopped
    leaves the rest to the next one."""
    summary = Retention.from_settings(ctx.settings, ctx.engine, actor=ctx.actor).run(ctx.now)
    kinds = ", ".join(
        f"{kind} {summary.facts.get(kind, 0) + summary.keys.get(kind, 0)}"
        for kind in summary.cutoffs
        if summary.facts.get(kind, 0) + summary.keys.get(kind, 0)
    )
    return JobResult(
        f"{summary.deleted} rows deleted in {summary.batches} batches ({kinds or 'none due'})"
    )
