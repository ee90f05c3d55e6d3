"""The suppression-list mirror, removals and import jobs, on every database backend.

SES is a real sesv2 client under botocore's Stubber (requests checked against the AWS
model); S3 is moto.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from core import suppression
from core.db import session_factory
from core.errors import AwsCallFailed, AwsConfigurationError, SesUnreachable
from core.models import (
    AuditEntry,
    Confirmation,
    Fact,
    ImportJob,
    RemovalResult,
    RemovalRun,
    SuppressedDestination,
    SuppressionSync,
)
from core.ses import SesGateway
from core.settings import Settings
from core.suppression import Outcome
from emulator.launch import EmulatorHandle, running_emulator
from emulator.state import make_entry

NO_WAIT = {"sleep": lambda _: None}


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


@pytest.fixture
def ses() -> Iterator[tuple[SesGateway, Stubber]]:
    client = boto3.client(
        "sesv2", region_name="eu-west-1", aws_access_key_id="k", aws_secret_access_key="s"
    )
    with Stubber(client) as stubber:
        yield SesGateway(client, request_rate=1000), stubber
        stubber.assert_no_pending_responses()


def listed(*addresses: str, reason: str = "BOUNCE") -> list[dict[str, Any]]:
    stamp = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
    return [{"EmailAddress": a, "Reason": reason, "LastUpdateTime": stamp} for a in addresses]


def expect_page(
    stubber: Stubber,
    addresses: list[str],
    *,
    token: str | None = None,
    next_token: str | None = None,
    page_size: int = 1000,
    since: datetime | None = None,
) -> None:
    response: dict[str, Any] = {"SuppressedDestinationSummaries": listed(*addresses)}
    if next_token:
        response["NextToken"] = next_token
    params: dict[str, Any] = {"PageSize": page_size}
    if token:
        params["NextToken"] = token
    if since:
        params["StartDate"] = since
    stubber.add_response("list_suppressed_destinations", response, params)


def mirror(sessions: sessionmaker[Session]) -> dict[str, SuppressedDestination]:
    with sessions() as session:
        return {row.address: row for row in session.scalars(select(SuppressedDestination))}


def full_sync(
    sessions: sessionmaker[Session], ses: tuple[SesGateway, Stubber], addresses: list[str]
) -> suppression.SyncReport:
    gateway, stubber = ses
    expect_page(stubber, addresses)
    return suppression.sync_suppression_list(sessions, gateway, **NO_WAIT)


# --- Sync --------------------------------------------------------------------------------


def test_a_full_sync_streams_every_page_into_the_mirror_and_records_the_counts(
    sessions: sessionmaker[Session], ses: tuple[SesGateway, Stubber]
) -> None:
    gateway, stubber = ses
    pages = [[f"user{p}{i}@example.com" for i in range(3)] for p in range(4)]
    for number, page in enumerate(pages):
        expect_page(
            stubber,
            page,
            page_size=3,
            token=f"t{number}" if number else None,
            next_token=f"t{number + 1}" if number < 3 else None,
        )
    progress: list[tuple[int, int]] = []
    report = suppression.sync_suppression_list(
        sessions, gateway, page_size=3, progress=lambda p, s: progress.append((p, s)), **NO_WAIT
    )
    assert (report.pages, report.seen, report.added, report.gone) == (4, 12, 12, 0)
    assert progress == [(1, 3), (2, 6), (3, 9), (4, 12)]
    assert len(mirror(sessions)) == 12
    with sessions() as session:
        sync = session.get(SuppressionSync, report.sync_id)
        assert sync is not None
        assert (sync.status, sync.pages, sync.seen, sync.added) == ("completed", 4, 12, 12)
        assert sync.finished_at is not None


def test_an_address_removed_outside_bounce_desk_is_kept_but_marked_no_longer_suppressed(
    sessions: sessionmaker[Session], ses: tuple[SesGateway, Stubber]
) -> None:
    full_sync(sessions, ses, ["a@example.com", "b@example.com", "c@example.com"])
    report = full_sync(sessions, ses, ["a@example.com", "c@example.com"])
    assert (report.added, report.gone) == (0, 1)
    rows = mirror(sessions)
    assert rows["b@example.com"].suppressed is False
    assert rows["b@example.com"].unsuppressed_at is not None
    assert rows["b@example.com"].removed_by_us is False
    assert rows["a@example.com"].suppressed is True


def test_an_address_listed_again_after_it_was_gone_counts_as_added(
    sessions: sessionmaker[Session], ses: tuple[SesGateway, Stubber]
) -> None:
    full_sync(sessions, ses, ["a@example.com", "b@example.com"])
    full_sync(sessions, ses, ["a@example.com"])
    report = full_sync(sessions, ses, ["a@example.com", "b@example.com"])
    assert report.added == 1
    assert mirror(sessions)["b@example.com"].suppressed is True
    assert mirror(sessions)["b@example.com"].unsuppressed_at is None


def test_an_incremental_sync_reads_changes_since_last_sync_minus_a_margin_and_marks_none_gone(
    sessions: sessionmaker[Session], ses: tuple[SesGateway, Stubber]
) -> None:
    first = full_sync(sessions, ses, ["a@example.com", "b@example.com"])
    with sessions() as session:
        started = session.get(SuppressionSync, first.sync_id).started_at  # type: ignore[union-attr]
    gateway, stubber = ses
    since = started - suppression.INCREMENTAL_MARGIN
    expect_page(stubber, ["new@example.com"], since=since)
    report = suppression.sync_suppression_list(sessions, gateway, incremental=True, **NO_WAIT)
    assert report.incremental and report.since == since
    assert (report.added, report.gone) == (1, 0)
    assert report.detects_removals is False
    assert any("cannot see addresses removed" in note for note in report.notes)
    assert all(row.suppressed for row in mirror(sessions).values())


def test_an_incremental_sync_without_a_previous_sync_reads_the_whole_list(
    sessions: sessionmaker[Session], ses: tuple[SesGateway, Stubber]
) -> None:
    gateway, stubber = ses
    expect_page(stubber, ["a@example.com"])
    report = suppression.sync_suppression_list(sessions, gateway, incremental=True, **NO_WAIT)
    assert report.incremental is False and report.detects_removals is True
    assert report.notes


def test_the_mirror_matches_on_a_lowercased_domain_but_keeps_the_spelling_ses_lists(
    sessions: sessionmaker[Session], ses: tuple[SesGateway, Stubber]
) -> None:
    full_sync(sessions, ses, ["  Jane.Doe@Example.COM"])
    row = mirror(sessions)["Jane.Doe@example.com"]
    assert row.email_address == "  Jane.Doe@Example.COM"


def test_a_sync_that_fails_half_way_is_recorded_as_failed_and_marks_nothing_gone(
    sessions: sessionmaker[Session], ses: tuple[SesGateway, Stubber]
) -> None:
    full_sync(sessions, ses, ["old@example.com"])
    gateway, stubber = ses
    expect_page(stubber, ["a@example.com"], next_token="t1")
    stubber.add_client_error(
        "list_suppressed_destinations", "InvalidNextTokenException", "token expired", 400
    )
    with pytest.raises(AwsCallFailed, match="token expired"):
        suppression.sync_suppression_list(sessions, gateway, **NO_WAIT)
    rows = mirror(sessions)
    assert rows["old@example.com"].suppressed is True
    assert rows["a@example.com"].suppressed is True
    with sessions() as session:
        failed = session.scalars(
            select(SuppressionSync).order_by(SuppressionSync.id.desc())
        ).first()
        assert failed is not None and failed.status == "failed"
        assert "token expired" in (failed.error or "")


# --- Validation --------------------------------------------------------------------------


def test_malformed_and_duplicate_lines_are_rejected_line_by_line_with_reasons() -> None:
    result = suppression.validate_addresses(
        ["a@example.com", "not-an-address", "", " a@EXAMPLE.COM ", "b@example.com", "a@example"]
    )
    assert result.accepted == ["a@example.com", "b@example.com"]
    assert [(r.line, r.reason) for r in result.rejected] == [
        (2, "not a valid email address"),
        (4, "duplicate of line 1"),
        (6, "not a valid email address"),
    ]


def test_input_with_no_valid_address_makes_no_call_and_no_run(
    sessions: sessionmaker[Session], ses: tuple[SesGateway, Stubber]
) -> None:
    gateway, _ = ses  # the stubber has no responses: any call would fail the test
    report = suppression.remove_from_suppression_list(
        sessions, gateway, ["nope", "also nope"], actor="ops", reason="test", **NO_WAIT
    )
    assert report.run_id is None and len(report.rejected) == 2 and not report.ok
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(RemovalRun)) == 0


# --- Removal -----------------------------------------------------------------------------


def expect_delete(stubber: Stubber, address: str, error: tuple[str, int] | None = None) -> None:
    if error is None:
        stubber.add_response("delete_suppressed_destination", {}, {"EmailAddress": address})
    else:
        stubber.add_client_error(
            "delete_suppressed_destination",
            error[0],
            f"{error[0]} for {address}",
            error[1],
            expected_params={"EmailAddress": address},
        )


def test_each_address_is_removed_not_on_list_or_failed_with_ses_message_and_mirror_updated(
    sessions: sessionmaker[Session], ses: tuple[SesGateway, Stubber]
) -> None:
    full_sync(sessions, ses, ["gone@example.com", "ok@example.com"])
    gateway, stubber = ses
    expect_delete(stubber, "ok@example.com")
    expect_delete(stubber, "gone@example.com", ("NotFoundException", 404))
    expect_delete(stubber, "bad@example.com", ("BadRequestException", 400))
    report = suppression.remove_from_suppression_list(
        sessions, gateway, ["ok@example.com", "gone@example.com", "bad@example.com"],
        actor="ops@qube.example", reason="confirmed valid", **NO_WAIT,
    )  # fmt: skip
    outcomes = {r.address: r.outcome for r in report.results}
    assert outcomes == {
        "ok@example.com": Outcome.REMOVED,
        "gone@example.com": Outcome.NOT_ON_LIST,
        "bad@example.com": Outcome.FAILED,
    }
    failed = next(r for r in report.results if r.outcome == Outcome.FAILED)
    assert "BadRequestException for bad@example.com" in (failed.message or "")
    assert report.status == "with_failures" and not report.ok
    rows = mirror(sessions)
    assert (rows["ok@example.com"].suppressed, rows["ok@example.com"].removed_by_us) == (
        False,
        True,
    )
    assert rows["gone@example.com"].suppressed is False
    assert rows["gone@example.com"].removed_by_us is False
    with sessions() as session:
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
    sessions: sessionmaker[Session], ses: tuple[SesGateway, Stubber]
) -> None:
    gateway, stubber = ses
    expect_delete(stubber, "a@example.com", ("TooManyRequestsException", 429))
    expect_delete(stubber, "a@example.com", ("TooManyRequestsException", 429))
    expect_delete(stubber, "a@example.com")
    waits: list[float] = []
    report = suppression.remove_from_suppression_list(
        sessions, gateway, ["a@example.com"], actor="ops", reason="r", sleep=waits.append
    )
    [result] = report.results
    assert (result.outcome, result.attempts) == (Outcome.REMOVED, 3)
    assert len([w for w in waits if w >= 0.5]) == 2  # two back-offs, not just pacing
    with sessions() as session:
        assert session.scalar(select(RemovalResult.attempts)) == 3


def test_removal_calls_ses_with_the_spelling_it_listed(
    sessions: sessionmaker[Session], ses: tuple[SesGateway, Stubber]
) -> None:
    full_sync(sessions, ses, ["Jane@Example.COM"])
    gateway, stubber = ses
    expect_delete(stubber, "Jane@Example.COM")
    report = suppression.remove_from_suppression_list(
        sessions, gateway, ["Jane@example.com"], actor="ops", reason="r", **NO_WAIT
    )
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
    sessions: sessionmaker[Session], ses: tuple[SesGateway, Stubber]
) -> None:
    gateway, stubber = ses
    addresses = [f"u{i}@example.com" for i in range(5)]
    flaky = FlakyGateway(gateway, drop_on="u2@example.com")
    for address in addresses[:2]:
        expect_delete(stubber, address)
    with pytest.raises(SesUnreachable):
        suppression.remove_from_suppression_list(
            sessions, flaky, addresses, actor="ops", reason="r", **NO_WAIT
        )
    with sessions() as session:
        run_id = session.scalar(select(RemovalRun.id))
        assert run_id is not None
        assert session.get(RemovalRun, run_id).status == "interrupted"  # type: ignore[union-attr]
        assert suppression.removal_report(sessions, run_id).counts == {"removed": 2, "pending": 3}

    expect_delete(stubber, "u2@example.com", ("NotFoundException", 404))
    for address in addresses[3:]:
        expect_delete(stubber, address)
    progress: list[int] = []
    report = suppression.resume_removal(
        sessions, flaky, run_id, progress=lambda done, total, _: progress.append(done), **NO_WAIT
    )
    assert progress == [3, 4, 5]
    assert report.status == "completed" and report.ok
    assert report.counts == {"removed": 4, "not_on_list": 1}
    interrupted = next(r for r in report.results if r.address == "u2@example.com")
    assert "earlier, interrupted attempt" in (interrupted.message or "")


def test_retry_failed_sends_only_the_failed_addresses_again(
    sessions: sessionmaker[Session], ses: tuple[SesGateway, Stubber]
) -> None:
    gateway, stubber = ses
    expect_delete(stubber, "a@example.com")
    expect_delete(stubber, "b@example.com", ("InternalFailure", 500))
    first = suppression.remove_from_suppression_list(
        sessions, gateway, ["a@example.com", "b@example.com"], actor="ops", reason="r", **NO_WAIT
    )
    assert first.counts == {"removed": 1, "failed": 1}
    expect_delete(stubber, "b@example.com")
    assert first.run_id is not None
    again = suppression.retry_failed(sessions, gateway, first.run_id, **NO_WAIT)
    assert [r.address for r in again.results] == ["b@example.com"]
    assert again.counts == {"removed": 2} and again.status == "completed"


def test_removal_is_paced_to_the_configured_rate(
    sessions: sessionmaker[Session], ses: tuple[SesGateway, Stubber]
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

    suppression.remove_from_suppression_list(
        sessions, gateway, addresses, actor="ops", reason="r", rate=2.0,
        sleep=sleep, clock=lambda: now[0],
    )  # fmt: skip
    assert slept == [0.5, 0.5, 0.5]


# --- Detail ------------------------------------------------------------------------------


def test_detail_joins_what_ses_says_to_our_stored_bounce_and_caches_the_ids(
    sessions: sessionmaker[Session], ses: tuple[SesGateway, Stubber]
) -> None:
    full_sync(sessions, ses, ["Jane@Example.com"])
    occurred = datetime(2024, 2, 29, 23, 0)
    with sessions() as session:
        session.add(make_fact("Jane@example.com", feedback_id="fb-9", occurred_at=occurred))
        session.commit()
    gateway, stubber = ses
    stubber.add_response(
        "get_suppressed_destination",
        {
            "SuppressedDestination": {
                "EmailAddress": "Jane@Example.com",
                "Reason": "BOUNCE",
                "LastUpdateTime": datetime(2024, 3, 1, tzinfo=UTC),
                "Attributes": {"MessageId": "msg-9", "FeedbackId": "fb-9"},
            }
        },
        {"EmailAddress": "Jane@Example.com"},
    )
    with sessions() as session:
        detail = suppression.suppression_detail(session, gateway, "Jane@EXAMPLE.com")
    assert detail.on_list and detail.feedback is not None
    assert (detail.feedback.bounce_type, detail.feedback.occurred_at) == ("Permanent", occurred)
    assert mirror(sessions)["Jane@example.com"].ses_feedback_id == "fb-9"


def test_detail_of_an_address_not_on_the_list_says_so(
    sessions: sessionmaker[Session], ses: tuple[SesGateway, Stubber]
) -> None:
    gateway, stubber = ses
    stubber.add_client_error("get_suppressed_destination", "NotFoundException", "nope", 404)
    with sessions() as session:
        detail = suppression.suppression_detail(session, gateway, "x@example.com")
    assert detail.on_list is False and detail.feedback is None


def make_fact(address: str, **overrides: Any) -> Fact:
    now = datetime(2024, 3, 1)
    values: dict[str, Any] = {
        "dedup_key": f"{address}-{overrides.get('feedback_id')}",
        "event_key": "feedback:fb",
        "family": "feedback",
        "kind": "bounce",
        "recipient": address,
        "address": address,
        "domain": address.rpartition("@")[2],
        "bounce_type": "Permanent",
        "bounce_subtype": "General",
        "classification": "hard",
        "occurred_at": now,
        "received_at": now,
        "ses_message_id": "msg-9",
    }
    values.update(overrides)
    return Fact(**values)


# --- Import jobs -------------------------------------------------------------------------


@pytest.fixture
def s3_gateway(ses: tuple[SesGateway, Stubber]) -> Iterator[tuple[SesGateway, Stubber, Any]]:
    gateway, stubber = ses
    with mock_aws():
        s3 = boto3.client(
            "s3", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
        )
        s3.create_bucket(Bucket="imports")
        yield SesGateway(gateway.sesv2, s3=s3, request_rate=1000), stubber, s3


def expect_job(stubber: Stubber, job_id: str) -> None:
    stubber.add_response(
        "create_import_job",
        {"JobId": job_id},
        {
            "ImportDestination": {
                "SuppressionListDestination": {"SuppressionListImportAction": "DELETE"}
            },
            "ImportDataSource": {"S3Url": ANY, "DataFormat": "CSV"},
        },
    )


def test_bulk_removal_uploads_console_format_csvs_split_at_the_job_limit(
    sessions: sessionmaker[Session],
    s3_gateway: tuple[SesGateway, Stubber, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gateway, stubber, s3 = s3_gateway
    monkeypatch.setattr(suppression, "IMPORT_JOB_LIMIT", 3)
    addresses = [f"bulk{i}@example.com" for i in range(7)]
    for job in ("job-1", "job-2", "job-3"):
        expect_job(stubber, job)
    report = suppression.start_import_removal(
        sessions, gateway, addresses, actor="ops", reason="r", bucket="imports", prefix="bd/"
    )
    assert report.counts == {"submitted": 7} and report.status == "submitted"
    with sessions() as session:
        jobs = list(session.scalars(select(ImportJob).order_by(ImportJob.id)))
    assert [job.records for job in jobs] == [3, 3, 1]
    first = jobs[0].s3_url.removeprefix("s3://imports/")
    assert first.startswith("bd/run-")
    body = s3.get_object(Bucket="imports", Key=first)["Body"].read()
    assert body == b"bulk0@example.com\nbulk1@example.com\nbulk2@example.com\n"


def test_the_import_job_limit_is_the_ses_limit_for_delete_jobs() -> None:
    assert suppression.IMPORT_JOB_LIMIT == 10_000


def start_one_job(
    sessions: sessionmaker[Session], gateway: SesGateway, stubber: Stubber, addresses: list[str]
) -> int:
    expect_job(stubber, "job-1")
    report = suppression.start_import_removal(
        sessions, gateway, addresses, actor="ops", reason="r", bucket="imports"
    )
    assert report.run_id is not None
    return report.run_id


def test_polling_records_processed_and_failed_counts_and_the_failure_file(
    sessions: sessionmaker[Session], s3_gateway: tuple[SesGateway, Stubber, Any]
) -> None:
    gateway, stubber, _ = s3_gateway
    run_id = start_one_job(sessions, gateway, stubber, ["a@example.com", "b@example.com"])
    stubber.add_response("get_import_job", {"JobId": "job-1", "JobStatus": "PROCESSING"})
    assert suppression.poll_import_jobs(sessions, gateway)[0].status == "PROCESSING"
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
    [state] = suppression.poll_import_jobs(sessions, gateway, run_id=run_id)
    assert (state.status, state.processed, state.failed) == ("COMPLETED", 2, 1)
    assert state.failure_url == "https://s3.example/failed.csv"
    report = suppression.removal_report(sessions, run_id)
    assert report.status == "with_failures" and report.counts == {"submitted": 2}
    assert suppression.poll_import_jobs(sessions, gateway) == []  # finished jobs are not asked


def test_a_completed_job_without_failures_marks_its_addresses_removed_by_us(
    sessions: sessionmaker[Session],
    s3_gateway: tuple[SesGateway, Stubber, Any],
    ses: tuple[SesGateway, Stubber],
) -> None:
    full_sync(sessions, ses, ["a@example.com"])
    gateway, stubber, _ = s3_gateway
    run_id = start_one_job(sessions, gateway, stubber, ["a@example.com"])
    stubber.add_response(
        "get_import_job",
        {
            "JobId": "job-1",
            "JobStatus": "COMPLETED",
            "ProcessedRecordsCount": 1,
            "FailedRecordsCount": 0,
        },  # fmt: skip
    )
    suppression.poll_import_jobs(sessions, gateway)
    assert suppression.removal_report(sessions, run_id).counts == {"removed": 1}
    assert mirror(sessions)["a@example.com"].removed_by_us is True


def test_a_failed_import_job_fails_its_addresses_so_they_can_be_sent_again(
    sessions: sessionmaker[Session], s3_gateway: tuple[SesGateway, Stubber, Any]
) -> None:
    gateway, stubber, _ = s3_gateway
    run_id = start_one_job(sessions, gateway, stubber, ["a@example.com"])
    stubber.add_response(
        "get_import_job",
        {
            "JobId": "job-1",
            "JobStatus": "FAILED",
            "FailureInfo": {"ErrorMessage": "Access denied to S3 object"},
        },  # fmt: skip
    )
    suppression.poll_import_jobs(sessions, gateway)
    [result] = suppression.removal_results(sessions(), run_id)
    assert result.outcome == Outcome.FAILED and "Access denied" in (result.message or "")
    expect_job(stubber, "job-2")
    again = suppression.retry_failed(sessions, gateway, run_id, bucket="imports")
    assert again.counts == {"submitted": 1}


def test_bulk_removal_without_a_bucket_names_the_setting_to_set(
    sessions: sessionmaker[Session], ses: tuple[SesGateway, Stubber]
) -> None:
    with pytest.raises(AwsConfigurationError, match="BOUNCEDESK_SUPPRESSION_IMPORT_BUCKET"):
        suppression.start_import_removal(
            sessions, ses[0], ["a@example.com"], actor="ops", reason="r", bucket=None
        )


# --- Console CSV -------------------------------------------------------------------------


def test_the_console_csv_has_one_address_per_line_and_no_header() -> None:
    body = suppression.console_bulk_delete_csv(
        [" a@example.com", "Ünïcode@example.jp", "a@example.com", ""]
    )
    assert body == "a@example.com\nÜnïcode@example.jp\n".encode()


def test_console_csv_candidates_are_confirmed_valid_and_still_suppressed(
    sessions: sessionmaker[Session], ses: tuple[SesGateway, Stubber]
) -> None:
    full_sync(sessions, ses, ["Ok@Example.com", "revoked@example.com", "plain@example.com"])
    now = datetime(2024, 3, 2)
    with sessions() as session:
        session.add_all(
            [
                Confirmation(address="Ok@example.com", confirmed_at=now, actor="s", note="n"),
                Confirmation(
                    address="revoked@example.com", confirmed_at=now, actor="s", note="n",
                    revoked_at=now + timedelta(hours=1), revoked_by="s",
                ),
            ]
        )  # fmt: skip
        session.commit()
    with sessions() as session:
        assert suppression.console_csv_candidates(session) == ["Ok@Example.com"]
        assert len(suppression.console_csv_candidates(session, confirmed_only=False)) == 3


# --- The same flows over real HTTP, against the local SES emulator ------------------------


@pytest.fixture
def emulator() -> Iterator[EmulatorHandle]:
    """One per test: moto's backends are process-global and other tests use mock_aws."""
    with running_emulator() as handle:
        yield handle


def http_gateway(handle: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> SesGateway:
    for name, value in handle.environment().items():
        monkeypatch.setenv(name, value)
    settings = Settings(aws_region=handle.region, aws_max_attempts=1, ses_request_rate=100)
    return SesGateway.from_settings(settings, endpoint_url=handle.endpoint_url)


def test_over_http_sync_pages_through_the_list_and_sees_an_outside_removal_only_in_full(
    sessions: sessionmaker[Session], emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway = http_gateway(emulator, monkeypatch)
    emulator.state.put_many_suppressed(make_entry(f"u{i:04d}@Example.com") for i in range(2500))
    first = suppression.sync_suppression_list(sessions, gateway, **NO_WAIT)
    assert (first.pages, first.seen, first.added) == (3, 2500, 2500)
    emulator.state.delete_suppressed("u0007@Example.com")  # someone used the console
    emulator.state.put_suppressed("late@example.com")
    incremental = suppression.sync_suppression_list(sessions, gateway, incremental=True, **NO_WAIT)
    assert (incremental.added, incremental.gone) == (1, 0)
    assert mirror(sessions)["u0007@example.com"].suppressed is True  # cannot know yet
    full = suppression.sync_suppression_list(sessions, gateway, **NO_WAIT)
    assert (full.seen, full.added, full.gone) == (2500, 0, 1)
    gone = mirror(sessions)["u0007@example.com"]
    assert (gone.suppressed, gone.removed_by_us) == (False, False)


def test_over_http_a_removal_rides_out_throttling_and_records_not_found_and_failures(
    sessions: sessionmaker[Session], emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway = http_gateway(emulator, monkeypatch)
    for address in ("a@example.com", "b@example.com"):
        emulator.state.put_suppressed(address)
    admin = emulator.admin
    admin.add_fault("DeleteSuppressedDestination", 429, count=2, email_address="a@example.com")
    admin.add_fault("DeleteSuppressedDestination", 500, count=5, email_address="b@example.com")
    report = suppression.remove_from_suppression_list(
        sessions, gateway, ["a@example.com", "b@example.com", "c@example.com"],
        actor="ops", reason="r", **NO_WAIT,
    )  # fmt: skip
    results = {r.address: r for r in report.results}
    assert (results["a@example.com"].outcome, results["a@example.com"].attempts) == ("removed", 3)
    assert results["b@example.com"].outcome == "failed"
    assert "InternalFailure" in (results["b@example.com"].message or "")
    assert results["c@example.com"].outcome == "not_on_list"
    assert emulator.state.get_suppressed("a@example.com") is None
    assert emulator.state.get_suppressed("b@example.com") is not None


def test_over_http_a_removal_cut_off_by_a_lost_connection_resumes_where_it_stopped(
    sessions: sessionmaker[Session], emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    addresses = [f"r{i}@example.com" for i in range(5)]
    for address in addresses:
        emulator.state.put_suppressed(address)
    gateway = http_gateway(emulator, monkeypatch)

    def cut_after_two(done: int, total: int, result: suppression.AddressResult) -> None:
        if done == 2:
            emulator.stop()

    with pytest.raises(SesUnreachable):
        suppression.remove_from_suppression_list(
            sessions, gateway, addresses, actor="ops", reason="r",
            progress=cut_after_two, **NO_WAIT,
        )  # fmt: skip
    with sessions() as session:
        run_id = session.scalar(select(RemovalRun.id))
    assert run_id is not None
    assert suppression.removal_report(sessions, run_id).counts == {"removed": 2, "pending": 3}

    with running_emulator() as back:  # SES again, still listing the three not yet removed
        for address in addresses[2:]:
            back.state.put_suppressed(address)
        report = suppression.resume_removal(
            sessions, http_gateway(back, monkeypatch), run_id, **NO_WAIT
        )
        assert back.state.all_suppressed() == []
    assert report.counts == {"removed": 5} and report.status == "completed"
    assert sorted(r.address for r in report.results) == addresses[2:]


def test_over_http_an_oversized_import_job_fails_and_a_retry_in_10000_address_jobs_succeeds(
    sessions: sessionmaker[Session],
    emulator: EmulatorHandle,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gateway = http_gateway(emulator, monkeypatch)
    gateway.s3.create_bucket(Bucket="imports")  # type: ignore[union-attr]
    addresses = [f"bulk{i:05d}@example.com" for i in range(10_001)]
    emulator.state.put_many_suppressed(make_entry(a) for a in addresses)
    monkeypatch.setattr(suppression, "IMPORT_JOB_LIMIT", 20_000)  # what SES refuses
    report = suppression.start_import_removal(
        sessions, gateway, addresses, actor="ops", reason="r", bucket="imports", **NO_WAIT
    )
    assert report.run_id is not None
    wait_for_jobs(sessions, gateway)
    failed = suppression.removal_report(sessions, report.run_id)
    assert failed.counts == {"failed": 10_001} and failed.status == "with_failures"

    monkeypatch.setattr(suppression, "IMPORT_JOB_LIMIT", 10_000)
    suppression.retry_failed(sessions, gateway, report.run_id, bucket="imports", **NO_WAIT)
    wait_for_jobs(sessions, gateway)
    done = suppression.removal_report(sessions, report.run_id)
    assert done.counts == {"removed": 10_001} and done.status == "completed"
    assert len(emulator.state.all_suppressed()) == 0


def wait_for_jobs(sessions: sessionmaker[Session], gateway: SesGateway) -> None:
    for _ in range(200):
        states = suppression.poll_import_jobs(sessions, gateway)
        if all(state.status in suppression.TERMINAL_JOB_STATES for state in states):
            return
        time.sleep(0.05)
    raise AssertionError("import jobs did not finish")
