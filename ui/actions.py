"""Every write the dashboard makes: one function per page action, built from this server's
settings, store and SES (no rules live here; core checks the role and writes the audit entry).

Pages and the shared widgets call these instead of core, so each change the dashboard can
make is listed in one place, and a page holds no knobs from settings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from core.access import Actor
from core.alerts import guard, lifecycle
from core.alerts.lifecycle import AlertRecord
from core.ingest import dead_letters
from core.ingest.dead_letters import RetryOutcome
from core.ingest.intake import ingest_upload, poll_queue
from core.ingest.pipeline import Ingester, IngestSummary
from core.ingest.sqs import PollReport
from core.jobs import runner as jobs
from core.jobs.runner import JobRunner, RunResult
from core.recipients import confirmations, directory
from core.recipients.confirmations import ConfirmResult
from core.recipients.directory import DirectoryImportReport
from core.suppression import guardrails, mirror
from core.suppression.guardrails import RemovalPlan
from core.suppression.import_jobs import ImportJobState
from core.suppression.mirror import SyncProgress, SyncReport
from core.suppression.removal import Remover
from core.suppression.runs import RemovalProgress, RemovalReport
from ui import resources

# --- Ingestion ---------------------------------------------------------------------------


def ingester(entry_point: str) -> Ingester:
    """The configured Ingester of `entry_point` for this database; cheap, so built per action
    rather than cached."""
    return Ingester.from_settings(resources.settings(), resources.engine(), entry_point=entry_point)


def store_upload(actor: Actor, name: str, data: bytes) -> IngestSummary:
    """Store an uploaded notification file (JSON, array, NDJSON, optionally gzip)."""
    return ingest_upload(ingester("upload"), actor, name, data)


def poll_sqs(actor: Actor, queue_url: str, max_messages: int) -> PollReport:
    """One round of the production SQS entry point, without the long-poll wait."""
    return poll_queue(
        resources.sqs_client(),
        queue_url,
        ingester("sqs"),
        actor,
        max_messages=max_messages,
        wait_seconds=1,
    )


def retry_dead_letters(actor: Actor, ids: Sequence[int] | None = None) -> list[RetryOutcome]:
    """Re-run open dead letters (all, or `ids`) through today's parser."""
    return dead_letters.retry_dead_letters(resources.engine(), ingester("retry"), actor, ids)


# --- Recipients --------------------------------------------------------------------------


def confirm_valid(actor: Actor, addresses: Iterable[str], note: str) -> list[ConfirmResult]:
    """Record that staff checked these addresses exist; `note` says how."""
    return confirmations.confirm_valid(resources.engine(), addresses, actor=actor, note=note)


def revoke_confirmation(actor: Actor, addresses: Iterable[str], note: str) -> list[ConfirmResult]:
    """Withdraw the confirmations of these addresses; `note` says why."""
    return confirmations.revoke_confirmation(resources.engine(), addresses, actor=actor, note=note)


def import_users(actor: Actor, name: str, data: bytes) -> DirectoryImportReport:
    """Import (or update) users from an uploaded CSV named `name`."""
    return directory.import_users_csv(resources.engine(), actor, data, source=name)


# --- The suppression list ----------------------------------------------------------------


def sync_suppression_list(
    actor: Actor, *, incremental: bool, progress: SyncProgress | None = None
) -> SyncReport:
    """Bring the mirror up to date with SES (all of it, or the changes since the last sync)."""
    return mirror.sync_suppression_list(
        resources.engine(),
        resources.gateway(),
        actor=actor,
        incremental=incremental,
        progress=progress,
    )


def _remover() -> Remover:
    """The removal service for this server's settings, store and SES (cheap to build; it
    holds the shared engine and gateway and never changes them)."""
    return Remover.from_settings(resources.settings(), resources.engine(), resources.gateway())


def plan_removal(
    actor: Actor, addresses: Iterable[str], *, reason: str = "", override: bool = False
) -> RemovalPlan:
    """The dry run of `remove_addresses`, changing nothing; it needs no SES, so it works
    before AWS is configured."""
    return guardrails.plan_removal(
        resources.engine(), addresses, actor=actor, reason=reason, override=override,
        max_per_click=resources.settings().max_removals_per_click,
    )  # fmt: skip


def remove_addresses(
    actor: Actor,
    addresses: Iterable[str],
    *,
    reason: str,
    override: bool,
    progress: RemovalProgress | None = None,
) -> RemovalReport:
    """Take addresses off the SES suppression list, one call each (up to the per-click limit)."""
    return _remover().remove(
        addresses, actor=actor, reason=reason, override=override, progress=progress
    )


def start_removal_import(
    actor: Actor, addresses: Iterable[str], *, reason: str, override: bool, confirm_count: int
) -> RemovalReport:
    """Take many addresses off the list with SES import jobs; `confirm_count` is the number
    the person typed to confirm."""
    return _remover().start_import(
        addresses, actor=actor, reason=reason, override=override, confirm_count=confirm_count
    )


def retry_failed_removals(actor: Actor, run_id: int) -> RemovalReport:
    """Send the failed addresses of a removal run again."""
    return _remover().retry_failed(run_id, actor=actor)


def poll_import_jobs(actor: Actor, run_id: int) -> list[ImportJobState]:
    """Record what SES says about the unfinished import jobs of a removal run."""
    return _remover().poll_jobs(actor=actor, run_id=run_id)


# --- Alerts --------------------------------------------------------------------------------


def acknowledge_alert(actor: Actor, alert_id: int, note: str) -> AlertRecord:
    """No more notifications for this alert until it resolves (audited)."""
    return lifecycle.acknowledge(resources.engine(), actor, alert_id, note)


def snooze_alert(actor: Actor, alert_id: int, duration: str) -> AlertRecord:
    """No notifications for `duration` ("4h", "30m", "2d"); audited."""
    return lifecycle.snooze(resources.engine(), actor, alert_id, lifecycle.parse_duration(duration))


def resume_sending(actor: Actor, configuration_set: str, reason: str) -> None:
    """An admin turns sending back on for a configuration set, with a reason (audited)."""
    guard.resume_sending(resources.engine(), resources.gateway(), actor, configuration_set, reason)


# --- Jobs ----------------------------------------------------------------------------------


def run_job_now(actor: Actor, name: str) -> RunResult:
    """Run one job now (admins), with this server's settings, store and AWS clients."""
    runner = JobRunner.from_settings(
        resources.settings(),
        resources.engine(),
        gateway=resources.gateway,
        sqs=resources.sqs_client,
    )
    return jobs.run_now(runner, name, actor)
