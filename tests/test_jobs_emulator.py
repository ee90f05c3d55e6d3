"""Each job against the local SES emulator, built the way production builds it: the
runner's default clients from settings and the standard AWS variables."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from core.jobs.runner import JobRunner
from core.store.db import open_session
from core.store.models import (
    AccountSnapshot,
    AuditEntry,
    Fact,
    ImportJob,
    JobOutcome,
    MetricPoint,
    SuppressedDestination,
)
from core.suppression.removal import Remover
from emulator.controls import FaultRule
from emulator.launch import EmulatorHandle, running_emulator
from tests.factories import ADMIN, OPS, make_bounce
from tests.jobs_kit import Clock, job_audit, point_at, runs, settings_for


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorHandle]:
    with running_emulator(seed="none", resource_name="bouncedesk-jobs") as handle:
        yield handle


@pytest.fixture
def aws(emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> EmulatorHandle:
    emulator.state.reset()
    point_at(emulator, monkeypatch)
    return emulator


def runner(
    engine: Engine, aws: EmulatorHandle, clock: Clock | None = None, **knobs: object
) -> JobRunner:
    return JobRunner(settings_for(engine, aws, **knobs), engine, clock=clock or Clock())


def drain(sqs: Any, queue_url: str) -> None:
    """Empty the queue (PurgeQueue is allowed once a minute only)."""
    while messages := sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
    ).get("Messages"):
        for message in messages:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def jobs_in(engine: Engine) -> list[ImportJob]:
    with open_session(engine) as session:
        return list(session.scalars(select(ImportJob)))


def finished(aws: EmulatorHandle, job_id: str, timeout: float = 30) -> None:
    """Wait until the emulator has finished an import job (it runs on a thread)."""
    deadline = time.monotonic() + timeout
    sesv2 = aws.client("sesv2")
    while sesv2.get_import_job(JobId=job_id)["JobStatus"] != "COMPLETED":
        assert time.monotonic() < deadline, f"import job {job_id} did not finish"
        time.sleep(0.1)


def count(engine: Engine, model: type, *where: object) -> int:
    with open_session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_suppression_sync_runs_in_full_first_then_incrementally_then_in_full_a_day_on(
    engine: Engine, aws: EmulatorHandle
) -> None:
    aws.state.put_suppressed("a@example.com", "BOUNCE", last_update=time.time() - 60)
    clock = Clock()
    jobs = runner(engine, aws, clock)
    first = jobs.run("suppression-sync", actor=OPS)
    assert first.outcome == JobOutcome.SUCCEEDED, first.error
    assert first.summary is not None and first.summary.startswith("full sync")
    assert count(engine, SuppressedDestination, SuppressedDestination.suppressed) == 1
    aws.state.put_suppressed("b@example.com", "COMPLAINT", last_update=time.time())
    second = jobs.run("suppression-sync", actor=OPS)
    assert second.summary is not None and second.summary.startswith("incremental sync")
    assert count(engine, SuppressedDestination, SuppressedDestination.suppressed) == 2
    aws.state.delete_suppressed("a@example.com")
    clock.advance(hours=24, minutes=1)  # the sync stamps itself with the real clock
    third = jobs.run("suppression-sync", actor=OPS)
    assert third.summary is not None and third.summary.startswith("full sync")
    assert "1 no longer listed" in third.summary
    assert [e.outcome for e in job_audit(engine)] == ["succeeded"] * 3


def test_a_full_sync_comes_sooner_when_the_setting_says_so(
    engine: Engine, aws: EmulatorHandle
) -> None:
    clock = Clock()
    jobs = runner(engine, aws, clock, job_full_sync_hours=2)
    jobs.run("suppression-sync", actor=OPS)
    clock.advance(hours=1)
    assert (jobs.run("suppression-sync", actor=OPS).summary or "").startswith("incremental")
    clock.advance(hours=1, minutes=1)
    assert (jobs.run("suppression-sync", actor=OPS).summary or "").startswith("full")


def test_metrics_pull_stores_cloudwatch_points_and_send_statistics(
    engine: Engine, aws: EmulatorHandle
) -> None:
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    aws.client("cloudwatch").put_metric_data(
        Namespace="AWS/SES",
        MetricData=[{"MetricName": "Reputation.BounceRate", "Timestamp": hour, "Value": 0.02}],
    )
    aws.state.record_sending(hour, delivery_attempts=100, bounces=2)
    result = runner(engine, aws).run("metrics-pull", actor=OPS)
    assert result.outcome == JobOutcome.SUCCEEDED, result.error
    assert count(engine, MetricPoint, MetricPoint.source == "cloudwatch") >= 1
    assert count(engine, MetricPoint, MetricPoint.source == "send_statistics") == 4
    assert "send_statistics: 4 points" in (result.summary or "")
    assert job_audit(engine) == []  # history only: nothing people act on changed


def test_account_snapshot_records_the_enforcement_status(
    engine: Engine, aws: EmulatorHandle
) -> None:
    aws.state.set_account(enforcement_status="PROBATION")
    result = runner(engine, aws).run("account-snapshot", actor=OPS)
    assert result.outcome == JobOutcome.SUCCEEDED, result.error
    assert "PROBATION" in (result.summary or "")
    assert count(engine, AccountSnapshot, AccountSnapshot.enforcement_status == "PROBATION") == 1


def test_import_job_poll_records_finished_import_jobs(engine: Engine, aws: EmulatorHandle) -> None:
    settings = settings_for(engine, aws, suppression_import_bucket="imports")
    aws.client("s3").create_bucket(Bucket="imports")
    for address in ("x@example.com", "y@example.com"):
        aws.state.put_suppressed(address, "BOUNCE", last_update=time.time())
    jobs = JobRunner(settings, engine)
    jobs.run("suppression-sync", actor=OPS)
    gateway = jobs._gateway()
    Remover.from_settings(settings, engine, gateway).start_import(
        ["x@example.com", "y@example.com"], actor=ADMIN, reason="checked", override=True
    )
    [job_id] = [job.job_id for job in jobs_in(engine)]
    finished(aws, job_id)
    result = jobs.run("import-job-poll", actor=OPS)
    assert result.outcome == JobOutcome.SUCCEEDED, result.error
    assert "COMPLETED" in (result.summary or "")
    assert count(engine, ImportJob, ImportJob.status == "COMPLETED") == 1
    again = jobs.run("import-job-poll", actor=OPS)
    assert again.summary == "no unfinished import jobs"


def test_sqs_poll_stores_what_waits_and_takes_at_most_its_share_per_run(
    engine: Engine, aws: EmulatorHandle
) -> None:
    sqs = aws.client("sqs")
    drain(sqs, aws.queue_url)
    for number in range(5):
        body = json.dumps(make_bounce([f"user{number}@example.com"]))
        sqs.send_message(QueueUrl=aws.queue_url, MessageBody=body)
    jobs = runner(engine, aws, job_sqs_poll_max_messages=3)
    first = jobs.run("sqs-poll", actor=OPS)
    assert first.outcome == JobOutcome.SUCCEEDED, first.error
    assert (first.summary or "").startswith("3 message(s), 3 deleted")
    assert count(engine, Fact) == 3
    second = jobs.run("sqs-poll", actor=OPS)
    assert (second.summary or "").startswith("2 message(s), 2 deleted")
    assert count(engine, Fact) == 5
    with open_session(engine) as session:
        polls = session.scalar(select(func.count()).where(AuditEntry.action == "ingest.poll_sqs"))
    assert polls == 2 and len(job_audit(engine)) == 2


def test_sqs_poll_without_a_queue_fails_saying_which_setting_to_set(
    engine: Engine, aws: EmulatorHandle
) -> None:
    result = JobRunner(settings_for(engine), engine).run("sqs-poll", actor=OPS)
    assert result.failed and "BOUNCEDESK_SQS_QUEUE_URL" in (result.error or "")
    assert [run.outcome for run in runs(engine, "sqs-poll")] == ["failed"]


def test_a_job_whose_ses_call_fails_is_recorded_as_failed(
    engine: Engine, aws: EmulatorHandle
) -> None:
    aws.state.add_fault(FaultRule(operation="GetAccount", status=500, count=5))
    result = runner(engine, aws).run("account-snapshot", actor=OPS)
    assert result.failed and result.error
    assert count(engine, AccountSnapshot) == 0
