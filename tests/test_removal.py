"""Taking addresses off the suppression list: per-address runs, resume, retry, import jobs,
on every database backend. The guardrails themselves are in test_guardrails.py: here an
admin includes every address on purpose, so the mechanics are what is tested.

SES is a real sesv2 client under botocore's Stubber (requests checked against the AWS
model); S3 is moto; the last tests use the local SES emulator over HTTP.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from sqlalchemy import Engine, func, select

from core.access import Role
from core.errors import AwsConfigurationError, SesUnreachable, StoreUnavailable
from core.ses.gateway import SesGateway
from core.store.db import open_session
from core.store.models import AuditEntry, ImportJob, RemovalResult, RemovalRun
from core.suppression import guardrails, import_jobs, removal
from core.suppression.mirror import sync_suppression_list
from core.suppression.removal import Remover
from core.suppression.runs import Outcome, removal_report, removal_results
from emulator.launch import EmulatorHandle, running_emulator
from emulator.state import make_entry
from tests.factories import OPS, person
from tests.suppression_kit import (
    NO_WAIT,
    FakeSes,
    expect_delete,
    expect_job,
    full_sync,
    http_gateway,
    mirror,
)

ADMIN = person("ops", Role.ADMIN)


def unguarded(name: str = "ops") -> dict[str, Any]:
    """An admin including every address on purpose."""
    return {"actor": person(name, Role.ADMIN), "override": True}


def remover(engine: Engine, gateway: SesGateway, **knobs: Any) -> Remover:
    """No per-click limit in the way and no waiting, unless a test says otherwise."""
    return Remover(engine, gateway, **{"max_per_click": 100_000, **NO_WAIT, **knobs})


@pytest.fixture
def ses() -> Iterator[tuple[SesGateway, Stubber]]:
    client = boto3.client(
        "sesv2", region_name="eu-west-1", aws_access_key_id="k", aws_secret_access_key="s"
    )
    with Stubber(client) as stubber:
        yield SesGateway(client, request_rate=1000), stubber
        stubber.assert_no_pending_responses()


def test_malformed_and_duplicate_lines_are_rejected_line_by_line_with_reasons() -> None:
    result = guardrails.validate_addresses(
        ["a@example.com", "not-an-address", "", " a@EXAMPLE.COM ", "b@example.com", "a@example"]
    )
    assert result.accepted == ["a@example.com", "b@example.com"]
    assert [(r.line, r.reason) for r in result.rejected] == [
        (2, "not a valid email address"),
        (4, "duplicate of line 1"),
        (6, "not a valid email address"),
    ]


def test_input_with_no_valid_address_makes_no_call_and_no_run(
    engine: Engine, ses: tuple[SesGateway, Stubber]
) -> None:
    gateway, _ = ses  # the stubber has no responses: any call would fail the test
    report = remover(engine, gateway).remove(["nope", "also nope"], reason="test", **unguarded())
    assert report.run_id is None and len(report.rejected) == 2 and not report.ok
    with open_session(engine) as session:
        assert session.scalar(select(func.count()).select_from(RemovalRun)) == 0


def test_each_address_is_removed_not_on_list_or_failed_with_ses_message_and_mirror_updated(
    engine: Engine, ses: tuple[SesGateway, Stubber]
) -> None:
    full_sync(engine, ses, ["gone@example.com", "ok@example.com"])
    gateway, stubber = ses
    expect_delete(stubber, "ok@example.com")
    expect_delete(stubber, "gone@example.com", ("NotFoundException", 404))
    expect_delete(stubber, "bad@example.com", ("BadRequestException", 400))
    report = remover(engine, gateway).remove(
        ["ok@example.com", "gone@example.com", "bad@example.com"],
        reason="confirmed valid",
        **unguarded("ops@qube.example"),
    )
    outcomes = {r.address: r.outcome for r in report.results}
    assert outcomes == {
        "ok@example.com": Outcome.REMOVED,
        "gone@example.com": Outcome.NOT_ON_LIST,
        "bad@example.com": Outcome.FAILED,
    }
    failed = next(r for r in report.results if r.outcome == Outcome.FAILED)
    assert "BadRequestException for bad@example.com" in (failed.message or "")
    assert report.status == "with_failures" and not report.ok
    rows = mirror(engine)
    assert (rows["ok@example.com"].suppressed, rows["ok@example.com"].removed_by_us) == (
        False,
        True,
    )
    assert rows["gone@example.com"].suppressed is False
    assert rows["gone@example.com"].removed_by_us is False
    with open_session(engine) as session:
        run = session.get(RemovalRun, report.run_id)
        assert run is not None and (run.actor, run.reason) == (
            "ops@qube.example",
            "confirmed valid",
        )
        audited = session.scalars(
            select(AuditEntry.address).where(AuditEntry.action == "suppression.remove")
        )
        assert sorted(audited) == ["bad@example.com", "gone@example.com", "ok@example.com"]


def test_a_throttled_removal_is_retried_with_backoff_and_then_counts_as_removed(
    engine: Engine, ses: tuple[SesGateway, Stubber]
) -> None:
    gateway, stubber = ses
    expect_delete(stubber, "a@example.com", ("TooManyRequestsException", 429))
    expect_delete(stubber, "a@example.com", ("TooManyRequestsException", 429))
    expect_delete(stubber, "a@example.com")
    waits: list[float] = []
    report = remover(engine, gateway, sleep=waits.append).remove(
        ["a@example.com"], reason="r", **unguarded()
    )
    [result] = report.results
    assert (result.outcome, result.attempts) == (Outcome.REMOVED, 3)
    assert len([w for w in waits if w >= 0.5]) == 2  # two back-offs, not just pacing
    with open_session(engine) as session:
        assert session.scalar(select(RemovalResult.attempts)) == 3


def test_removal_calls_ses_with_the_spelling_it_listed(
    engine: Engine, ses: tuple[SesGateway, Stubber]
) -> None:
    full_sync(engine, ses, ["Jane@Example.COM"])
    gateway, stubber = ses
    expect_delete(stubber, "Jane@Example.COM")
    report = remover(engine, gateway).remove(["Jane@example.com"], reason="r", **unguarded())
    assert report.ok


class FlakyGateway(SesGateway):
    """The network drops once, on one address."""

    def __init__(self, inner: SesGateway, drop_on: str) -> None:
        super().__init__(inner.sesv2, request_rate=1000)
        self.drop_on: str | None = drop_on

    def delete_suppressed_destination(self, email_address: str) -> None:
        if email_address == self.drop_on:
            self.drop_on = None
            raise SesUnreachable("cannot reach AWS (connection reset)")
        super().delete_suppressed_destination(email_address)


def test_a_run_interrupted_half_way_resumes_without_redoing_the_removed_addresses(
    engine: Engine, ses: tuple[SesGateway, Stubber]
) -> None:
    gateway, stubber = ses
    addresses = [f"u{i}@example.com" for i in range(5)]
    flaky = FlakyGateway(gateway, drop_on="u2@example.com")
    for address in addresses[:2]:
        expect_delete(stubber, address)
    with pytest.raises(SesUnreachable):
        remover(engine, flaky).remove(addresses, reason="r", **unguarded())
    with open_session(engine) as session:
        run_id = session.scalar(select(RemovalRun.id))
        assert run_id is not None
        assert session.get(RemovalRun, run_id).status == "interrupted"  # type: ignore[union-attr]
        assert removal_report(engine, run_id).counts == {"removed": 2, "pending": 3}

    expect_delete(stubber, "u2@example.com", ("NotFoundException", 404))
    for address in addresses[3:]:
        expect_delete(stubber, address)
    progress: list[int] = []
    report = remover(engine, flaky).resume(
        run_id,
        actor=ADMIN,
        progress=lambda done, total, _: progress.append(done),
    )
    assert progress == [3, 4, 5]
    assert report.status == "completed" and report.ok
    # u2's call was sent (its attempt is on record) and never answered: SES no longer
    # listing it on resume means that call removed it.
    assert report.counts == {"removed": 5}
    interrupted = next(r for r in report.results if r.address == "u2@example.com")
    assert "earlier, interrupted attempt" in (interrupted.message or "")


class AnswerLost(FakeSes):
    """SES carries out the removal, then the caller never hears back: the response is lost
    on the way, or the person presses Ctrl-C while the call is out."""

    def __init__(self, listed: dict[str, str], failure: BaseException | None) -> None:
        super().__init__(listed)
        self.failure: BaseException | None = failure

    def delete_suppressed_destination(self, email_address: str) -> None:
        super().delete_suppressed_destination(email_address)
        if self.failure is not None:
            failure, self.failure = self.failure, None
            raise failure


def audit_of(engine: Engine, action: str) -> list[tuple[str | None, str | None, str | None]]:
    with open_session(engine) as session:
        rows = session.execute(
            select(AuditEntry.address, AuditEntry.outcome, AuditEntry.parameters)
            .where(AuditEntry.action == action)
            .order_by(AuditEntry.id)
        )
        return [tuple(row) for row in rows]


@pytest.mark.parametrize("lost_by", ["lost response", "database failure", "Ctrl-C"])
def test_a_removal_ses_performed_without_our_hearing_is_audited_and_settled_removed_on_resume(
    engine: Engine, lost_by: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    failures: dict[str, BaseException] = {
        "lost response": SesUnreachable("cannot reach AWS (read timed out)"),
        "Ctrl-C": KeyboardInterrupt(),
    }
    ses = AnswerLost({"lost@example.com": "BOUNCE"}, failures.get(lost_by))
    if lost_by == "database failure":  # SES answered; writing its answer down failed

        def database_down(*_: Any) -> None:
            raise StoreUnavailable("database error: server closed the connection")

        monkeypatch.setattr(removal, "_record_result", database_down)
    sync_suppression_list(engine, ses, actor=OPS)
    with pytest.raises((SesUnreachable, StoreUnavailable, KeyboardInterrupt)):
        remover(engine, ses).remove(["lost@example.com"], reason="r", **unguarded())
    monkeypatch.undo()
    assert ses.listed == {}  # SES did remove it
    [(address, outcome, _)] = audit_of(engine, "suppression.remove_attempt")
    assert (address, outcome) == ("lost@example.com", "sent")  # on record before the call
    with open_session(engine) as session:
        run_id = session.scalar(select(RemovalRun.id))
        assert run_id is not None
        attempted = session.scalar(select(RemovalResult.attempted_at))
    assert attempted is not None

    report = remover(engine, ses).resume(run_id, actor=ADMIN)
    [result] = report.results
    assert (result.outcome, result.settled) == (Outcome.REMOVED, True)
    assert "settled on resume" in (result.message or "")
    assert report.counts == {"removed": 1} and report.ok
    [(address, outcome, parameters)] = audit_of(engine, "suppression.remove")
    assert (address, outcome) == ("lost@example.com", "removed")
    assert '"settled_on_resume": true' in (parameters or "")
    assert mirror(engine)["lost@example.com"].removed_by_us is True


def test_a_call_ses_answered_with_a_failure_is_not_settled_as_removed_on_retry(
    engine: Engine, ses: tuple[SesGateway, Stubber]
) -> None:
    gateway, stubber = ses
    expect_delete(stubber, "a@example.com", ("BadRequestException", 400))
    first = remover(engine, gateway).remove(["a@example.com"], reason="r", **unguarded())
    assert first.counts == {"failed": 1} and first.run_id is not None
    expect_delete(stubber, "a@example.com", ("NotFoundException", 404))  # gone meanwhile
    again = remover(engine, gateway).retry_failed(first.run_id, actor=ADMIN)
    assert again.counts == {"not_on_list": 1}
    assert not again.results[0].settled


def test_retry_failed_sends_only_the_failed_addresses_again(
    engine: Engine, ses: tuple[SesGateway, Stubber]
) -> None:
    gateway, stubber = ses
    expect_delete(stubber, "a@example.com")
    expect_delete(stubber, "b@example.com", ("InternalFailure", 500))
    first = remover(engine, gateway).remove(
        ["a@example.com", "b@example.com"], reason="r", **unguarded()
    )
    assert first.counts == {"removed": 1, "failed": 1}
    expect_delete(stubber, "b@example.com")
    assert first.run_id is not None
    again = remover(engine, gateway).retry_failed(first.run_id, actor=ADMIN)
    assert [r.address for r in again.results] == ["b@example.com"]
    assert again.counts == {"removed": 2} and again.status == "completed"


def test_removal_is_paced_to_the_configured_rate(
    engine: Engine, ses: tuple[SesGateway, Stubber]
) -> None:
    gateway, stubber = ses
    addresses = [f"p{i}@example.com" for i in range(4)]
    for address in addresses:
        expect_delete(stubber, address)
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    paced = remover(engine, gateway, rate=2.0, sleep=sleep, clock=lambda: now[0])
    paced.remove(addresses, reason="r", **unguarded())
    assert slept == [0.5, 0.5, 0.5]


@pytest.fixture
def s3_gateway(ses: tuple[SesGateway, Stubber]) -> Iterator[tuple[SesGateway, Stubber, Any]]:
    gateway, stubber = ses
    with mock_aws():
        s3 = boto3.client(
            "s3", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
        )
        s3.create_bucket(Bucket="imports")
        yield SesGateway(gateway.sesv2, s3=s3, request_rate=1000), stubber, s3


def test_bulk_removal_uploads_console_format_csvs_split_at_the_job_limit(
    engine: Engine,
    s3_gateway: tuple[SesGateway, Stubber, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gateway, stubber, s3 = s3_gateway
    addresses = [f"bulk{i}@example.com" for i in range(7)]
    for job in ("job-1", "job-2", "job-3"):
        expect_job(stubber, job)
    bulk = remover(engine, gateway, bucket="imports", prefix="bd/", job_limit=3)
    report = bulk.start_import(addresses, reason="r", **unguarded())
    assert report.counts == {"submitted": 7} and report.status == "submitted"
    with open_session(engine) as session:
        jobs = list(session.scalars(select(ImportJob).order_by(ImportJob.id)))
    assert [job.records for job in jobs] == [3, 3, 1]
    first = jobs[0].s3_url.removeprefix("s3://imports/")
    assert first.startswith("bd/run-")
    body = s3.get_object(Bucket="imports", Key=first)["Body"].read()
    assert body == b"bulk0@example.com\nbulk1@example.com\nbulk2@example.com\n"


def test_the_import_job_limit_is_the_ses_limit_for_delete_jobs() -> None:
    assert import_jobs.IMPORT_JOB_LIMIT == 10_000
    assert Remover.job_limit == import_jobs.IMPORT_JOB_LIMIT


def start_one_job(
    engine: Engine, gateway: SesGateway, stubber: Stubber, addresses: list[str]
) -> int:
    expect_job(stubber, "job-1")
    report = remover(engine, gateway, bucket="imports").start_import(
        addresses, reason="r", **unguarded()
    )
    assert report.run_id is not None
    return report.run_id


def test_polling_records_processed_and_failed_counts_and_the_failure_file(
    engine: Engine, s3_gateway: tuple[SesGateway, Stubber, Any]
) -> None:
    gateway, stubber, _ = s3_gateway
    run_id = start_one_job(engine, gateway, stubber, ["a@example.com", "b@example.com"])
    stubber.add_response("get_import_job", {"JobId": "job-1", "JobStatus": "PROCESSING"})
    assert remover(engine, gateway).poll_jobs(actor=OPS)[0].status == "PROCESSING"
    stubber.add_response(
        "get_import_job",
        {
            "JobId": "job-1",
            "JobStatus": "COMPLETED",
            "ProcessedRecordsCount": 2,
            "FailedRecordsCount": 1,
            "FailureInfo": {"FailedRecordsS3Url": "https://s3.example/failed.csv"},
        },
        {"JobId": "job-1"},
    )
    [state] = remover(engine, gateway).poll_jobs(actor=OPS, run_id=run_id)
    assert (state.status, state.processed, state.failed) == ("COMPLETED", 2, 1)
    assert state.failure_url == "https://s3.example/failed.csv"
    report = removal_report(engine, run_id)
    assert report.status == "with_failures" and report.counts == {"submitted": 2}
    assert remover(engine, gateway).poll_jobs(actor=OPS) == []  # finished jobs are not asked


def test_a_completed_job_without_failures_marks_its_addresses_removed_by_us(
    engine: Engine,
    s3_gateway: tuple[SesGateway, Stubber, Any],
    ses: tuple[SesGateway, Stubber],
) -> None:
    full_sync(engine, ses, ["a@example.com"])
    gateway, stubber, _ = s3_gateway
    run_id = start_one_job(engine, gateway, stubber, ["a@example.com"])
    stubber.add_response(
        "get_import_job",
        {
            "JobId": "job-1",
            "JobStatus": "COMPLETED",
            "ProcessedRecordsCount": 1,
            "FailedRecordsCount": 0,
        },  # fmt: skip
    )
    remover(engine, gateway).poll_jobs(actor=OPS)
    assert removal_report(engine, run_id).counts == {"removed": 1}
    assert mirror(engine)["a@example.com"].removed_by_us is True


def test_a_failed_import_job_fails_its_addresses_so_they_can_be_sent_again(
    engine: Engine, s3_gateway: tuple[SesGateway, Stubber, Any]
) -> None:
    gateway, stubber, _ = s3_gateway
    run_id = start_one_job(engine, gateway, stubber, ["a@example.com"])
    stubber.add_response(
        "get_import_job",
        {
            "JobId": "job-1",
            "JobStatus": "FAILED",
            "FailureInfo": {"ErrorMessage": "Access denied to S3 object"},
        },  # fmt: skip
    )
    remover(engine, gateway).poll_jobs(actor=OPS)
    [result] = removal_results(engine, run_id)
    assert result.outcome == Outcome.FAILED and "Access denied" in (result.message or "")
    expect_job(stubber, "job-2")
    again = remover(engine, gateway, bucket="imports").retry_failed(run_id, actor=ADMIN)
    assert again.counts == {"submitted": 1}


def test_bulk_removal_without_a_bucket_names_the_setting_to_set(
    engine: Engine, ses: tuple[SesGateway, Stubber]
) -> None:
    with pytest.raises(AwsConfigurationError, match="BOUNCEDESK_SUPPRESSION_IMPORT_BUCKET"):
        remover(engine, ses[0], bucket=None).start_import(
            ["a@example.com"], reason="r", **unguarded()
        )


@pytest.fixture
def emulator() -> Iterator[EmulatorHandle]:
    """One per test: moto's backends are process-global and other tests use mock_aws."""
    with running_emulator() as handle:
        yield handle


def test_over_http_a_removal_rides_out_throttling_and_records_not_found_and_failures(
    engine: Engine, emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway = http_gateway(emulator, monkeypatch)
    for address in ("a@example.com", "b@example.com"):
        emulator.state.put_suppressed(address)
    admin = emulator.admin
    admin.add_fault("DeleteSuppressedDestination", 429, count=2, email_address="a@example.com")
    admin.add_fault("DeleteSuppressedDestination", 500, count=5, email_address="b@example.com")
    report = remover(engine, gateway).remove(
        ["a@example.com", "b@example.com", "c@example.com"], reason="r", **unguarded()
    )
    results = {r.address: r for r in report.results}
    assert (results["a@example.com"].outcome, results["a@example.com"].attempts) == ("removed", 3)
    assert results["b@example.com"].outcome == "failed"
    assert "InternalFailure" in (results["b@example.com"].message or "")
    assert results["c@example.com"].outcome == "not_on_list"
    assert emulator.state.get_suppressed("a@example.com") is None
    assert emulator.state.get_suppressed("b@example.com") is not None


def test_over_http_a_removal_cut_off_by_a_lost_connection_resumes_where_it_stopped(
    engine: Engine, emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    addresses = [f"r{i}@example.com" for i in range(5)]
    for address in addresses:
        emulator.state.put_suppressed(address)
    gateway = http_gateway(emulator, monkeypatch)

    def cut_after_two(done: int, total: int, result: removal.AddressResult) -> None:
        if done == 2:
            emulator.stop()

    with pytest.raises(SesUnreachable):
        remover(engine, gateway).remove(
            addresses, reason="r", **unguarded(), progress=cut_after_two
        )
    with open_session(engine) as session:
        run_id = session.scalar(select(RemovalRun.id))
    assert run_id is not None
    assert removal_report(engine, run_id).counts == {"removed": 2, "pending": 3}

    with running_emulator() as back:  # SES again, still listing the three not yet removed
        for address in addresses[2:]:
            back.state.put_suppressed(address)
        report = remover(engine, http_gateway(back, monkeypatch)).resume(run_id, actor=ADMIN)
        assert back.state.all_suppressed() == []
    assert report.counts == {"removed": 5} and report.status == "completed"
    assert sorted(r.address for r in report.results) == addresses[2:]


def test_over_http_an_oversized_import_job_fails_and_a_retry_in_10000_address_jobs_succeeds(
    engine: Engine,
    emulator: EmulatorHandle,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gateway = http_gateway(emulator, monkeypatch)
    gateway.s3.create_bucket(Bucket="imports")  # type: ignore[union-attr]
    addresses = [f"bulk{i:05d}@example.com" for i in range(10_001)]
    emulator.state.put_many_suppressed(make_entry(a) for a in addresses)
    oversized = remover(engine, gateway, bucket="imports", job_limit=20_000)  # SES refuses
    report = oversized.start_import(addresses, reason="r", **unguarded())
    assert report.run_id is not None
    wait_for_jobs(engine, gateway)
    failed = removal_report(engine, report.run_id)
    assert failed.counts == {"failed": 10_001} and failed.status == "with_failures"

    remover(engine, gateway, bucket="imports").retry_failed(report.run_id, actor=ADMIN)
    wait_for_jobs(engine, gateway)
    done = removal_report(engine, report.run_id)
    assert done.counts == {"removed": 10_001} and done.status == "completed"
    assert len(emulator.state.all_suppressed()) == 0


def wait_for_jobs(engine: Engine, gateway: SesGateway) -> None:
    for _ in range(200):
        states = remover(engine, gateway).poll_jobs(actor=OPS)
        if all(state.status in import_jobs.TERMINAL_JOB_STATES for state in states):
            return
        time.sleep(0.05)
    raise AssertionError("import jobs did not finish")
