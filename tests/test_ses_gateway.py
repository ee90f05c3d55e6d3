"""SesGateway against botocore's Stubber: every request is checked against the AWS model."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from core.errors import (
    AwsCallFailed,
    AwsConfigurationError,
    SesAccessDenied,
    SesNotFound,
    SesThrottled,
    SesUnreachable,
)
from core.ses.gateway import MetricQuery, Pacer, SesGateway, retry_throttled
from core.settings import Settings
from emulator.launch import EmulatorHandle, running_emulator
from emulator.state import make_entry


def _client(service: str, **kwargs: object) -> object:
    return boto3.client(
        service,
        region_name="eu-west-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
def stubbed() -> Iterator[tuple[SesGateway, Stubber, Stubber, Stubber]]:
    sesv2, ses, cloudwatch = _client("sesv2"), _client("ses"), _client("cloudwatch")
    with Stubber(sesv2) as v2, Stubber(ses) as v1, Stubber(cloudwatch) as cw:
        yield SesGateway(sesv2, ses=ses, cloudwatch=cloudwatch), v2, v1, cw  # type: ignore[arg-type]
        v2.assert_no_pending_responses()
        v1.assert_no_pending_responses()
        cw.assert_no_pending_responses()


def test_a_suppression_page_passes_token_size_and_start_date_and_returns_naive_utc(
    stubbed: tuple[SesGateway, Stubber, Stubber, Stubber],
) -> None:
    gateway, v2, _, _ = stubbed
    since = datetime(2024, 5, 1, 12, 0)
    v2.add_response(
        "list_suppressed_destinations",
        {
            "SuppressedDestinationSummaries": [
                {
                    "EmailAddress": "Recipient1@Example.com",
                    "Reason": "BOUNCE",
                    "LastUpdateTime": datetime(2024, 5, 2, 9, 30, tzinfo=UTC),
                }
            ],
            "NextToken": "page-3",
        },
        {"NextToken": "page-2", "PageSize": 500, "StartDate": since},
    )
    page = gateway.list_suppressed_destinations(
        next_token="page-2", page_size=500, start_date=since
    )
    assert page.next_token == "page-3"
    [entry] = page.summaries
    assert entry.email_address == "Recipient1@Example.com"
    assert entry.reason == "BOUNCE"
    assert entry.last_update_time == datetime(2024, 5, 2, 9, 30)


def test_the_last_suppression_page_has_no_next_token(
    stubbed: tuple[SesGateway, Stubber, Stubber, Stubber],
) -> None:
    gateway, v2, _, _ = stubbed
    v2.add_response("list_suppressed_destinations", {"SuppressedDestinationSummaries": []})
    assert gateway.list_suppressed_destinations().next_token is None


def test_suppressed_destination_detail_carries_message_and_feedback_ids(
    stubbed: tuple[SesGateway, Stubber, Stubber, Stubber],
) -> None:
    gateway, v2, _, _ = stubbed
    v2.add_response(
        "get_suppressed_destination",
        {
            "SuppressedDestination": {
                "EmailAddress": "a@example.com",
                "Reason": "COMPLAINT",
                "LastUpdateTime": datetime(2024, 1, 1, tzinfo=UTC),
                "Attributes": {"MessageId": "msg-1", "FeedbackId": "fb-1"},
            }
        },
        {"EmailAddress": "a@example.com"},
    )
    info = gateway.get_suppressed_destination("a@example.com")
    assert (info.reason, info.message_id, info.feedback_id) == ("COMPLAINT", "msg-1", "fb-1")


def test_deleting_sends_the_exact_address_and_returns_on_success(
    stubbed: tuple[SesGateway, Stubber, Stubber, Stubber],
) -> None:
    gateway, v2, _, _ = stubbed
    v2.add_response("delete_suppressed_destination", {}, {"EmailAddress": "Mixed.Case@x.org"})
    gateway.delete_suppressed_destination("Mixed.Case@x.org")


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("NotFoundException", 404, SesNotFound),
        ("TooManyRequestsException", 429, SesThrottled),
        ("BadRequestException", 400, AwsCallFailed),
        ("AccessDeniedException", 403, SesAccessDenied),
        ("UnrecognizedClientException", 403, AwsConfigurationError),
    ],
)
def test_each_ses_error_becomes_its_named_exception_with_the_ses_message(
    stubbed: tuple[SesGateway, Stubber, Stubber, Stubber],
    code: str,
    status: int,
    expected: type[Exception],
) -> None:
    gateway, v2, _, _ = stubbed
    v2.add_client_error(
        "delete_suppressed_destination",
        service_error_code=code,
        service_message="SES says no",
        http_status_code=status,
    )
    with pytest.raises(expected) as raised:
        gateway.delete_suppressed_destination("a@example.com")
    assert "SES says no" in str(raised.value) or expected is AwsConfigurationError


def test_a_closed_endpoint_is_reported_as_unreachable_not_as_a_traceback() -> None:
    client = _client(
        "sesv2",
        endpoint_url="http://127.0.0.1:9",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=1),
    )
    with pytest.raises(SesUnreachable, match="cannot reach AWS"):
        SesGateway(client).delete_suppressed_destination("a@example.com")  # type: ignore[arg-type]


def test_an_import_job_deletes_from_the_suppression_list_using_a_csv_in_s3(
    stubbed: tuple[SesGateway, Stubber, Stubber, Stubber],
) -> None:
    gateway, v2, _, _ = stubbed
    v2.add_response(
        "create_import_job",
        {"JobId": "job-1"},
        {
            "ImportDestination": {
                "SuppressionListDestination": {"SuppressionListImportAction": "DELETE"}
            },
            "ImportDataSource": {"S3Url": "s3://bucket/key.csv", "DataFormat": "CSV"},
        },
    )
    assert gateway.create_import_job("s3://bucket/key.csv", action="DELETE") == "job-1"


def test_an_import_job_reports_processed_and_failed_counts_and_the_failure_file(
    stubbed: tuple[SesGateway, Stubber, Stubber, Stubber],
) -> None:
    gateway, v2, _, _ = stubbed
    v2.add_response(
        "get_import_job",
        {
            "JobId": "job-1",
            "JobStatus": "COMPLETED",
            "ProcessedRecordsCount": 2,
            "FailedRecordsCount": 1,
            "FailureInfo": {"FailedRecordsS3Url": "https://presigned/failures.csv"},
            "CreatedTimestamp": datetime(2020, 8, 12, 17, 5, tzinfo=UTC),
        },
        {"JobId": "job-1"},
    )
    job = gateway.get_import_job("job-1")
    assert (job.status, job.processed, job.failed) == ("COMPLETED", 2, 1)
    assert job.failure_url == "https://presigned/failures.csv"


def test_get_account_keeps_the_fields_the_dashboard_shows_and_the_raw_response(
    stubbed: tuple[SesGateway, Stubber, Stubber, Stubber],
) -> None:
    gateway, v2, _, _ = stubbed
    v2.add_response(
        "get_account",
        {
            "EnforcementStatus": "PROBATION",
            "SendingEnabled": True,
            "ProductionAccessEnabled": True,
            "SendQuota": {"Max24HourSend": 50000.0, "MaxSendRate": 14.0, "SentLast24Hours": 12.0},
            "SuppressionAttributes": {"SuppressedReasons": ["BOUNCE", "COMPLAINT"]},
        },
    )
    account = gateway.get_account()
    assert account.enforcement_status == "PROBATION"
    assert account.max_send_rate == 14.0
    assert account.suppressed_reasons == ("BOUNCE", "COMPLAINT")
    assert "ResponseMetadata" not in account.raw and account.raw["SendingEnabled"] is True


def test_send_statistics_come_from_ses_v1_as_fifteen_minute_points(
    stubbed: tuple[SesGateway, Stubber, Stubber, Stubber],
) -> None:
    gateway, _, v1, _ = stubbed
    v1.add_response(
        "get_send_statistics",
        {
            "SendDataPoints": [
                {
                    "Timestamp": datetime(2016, 7, 13, 22, 43, tzinfo=UTC),
                    "DeliveryAttempts": 5,
                    "Bounces": 1,
                    "Complaints": 0,
                    "Rejects": 0,
                }
            ]
        },
    )
    [point] = gateway.get_send_statistics()
    assert (point.at, point.delivery_attempts, point.bounces) == (
        datetime(2016, 7, 13, 22, 43),
        5,
        1,
    )


def test_metric_data_follows_next_token_across_pages(
    stubbed: tuple[SesGateway, Stubber, Stubber, Stubber],
) -> None:
    gateway, _, _, cw = stubbed
    query = MetricQuery("m0_3600", "AWS/SES", "Reputation.BounceRate", "Average", 3600)
    start, end = datetime(2024, 1, 1), datetime(2024, 1, 2)
    expected = {
        "MetricDataQueries": [
            {
                "Id": "m0_3600",
                "MetricStat": {
                    "Metric": {"Namespace": "AWS/SES", "MetricName": "Reputation.BounceRate"},
                    "Period": 3600,
                    "Stat": "Average",
                },
                "ReturnData": True,
            }
        ],
        "StartTime": start.replace(tzinfo=UTC),
        "EndTime": end.replace(tzinfo=UTC),
        "ScanBy": "TimestampAscending",
    }
    first = datetime(2024, 1, 1, 0, tzinfo=UTC)
    second = datetime(2024, 1, 1, 1, tzinfo=UTC)
    cw.add_response(
        "get_metric_data",
        {
            "MetricDataResults": [{"Id": "m0_3600", "Timestamps": [first], "Values": [0.01]}],
            "NextToken": "more",
        },  # fmt: skip
        expected,
    )
    cw.add_response(
        "get_metric_data",
        {"MetricDataResults": [{"Id": "m0_3600", "Timestamps": [second], "Values": [0.02]}]},
        {**expected, "NextToken": "more"},
    )
    pages = list(gateway.get_metric_data([query], start, end))
    assert [p.timestamps for p in pages] == [[datetime(2024, 1, 1, 0)], [datetime(2024, 1, 1, 1)]]
    assert [p.values for p in pages] == [[0.01], [0.02]]


def test_throttled_calls_are_retried_with_growing_waits_until_they_succeed() -> None:
    waits: list[float] = []
    answers = iter([SesThrottled("slow down"), SesThrottled("slow down"), "done"])

    def call() -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert retry_throttled(call, sleep=waits.append) == "done"
    assert len(waits) == 2 and all(w > 0 for w in waits)


def test_throttling_that_never_ends_is_raised_after_the_last_attempt() -> None:
    calls: list[int] = []

    def call() -> None:
        calls.append(1)
        raise SesThrottled("TooManyRequestsException: rate exceeded")

    with pytest.raises(SesThrottled):
        retry_throttled(call, attempts=3, sleep=lambda _: None)
    assert len(calls) == 3


def test_errors_other_than_throttling_are_not_retried() -> None:
    calls: list[int] = []

    def call() -> None:
        calls.append(1)
        raise SesNotFound("not listed")

    with pytest.raises(SesNotFound):
        retry_throttled(call, sleep=lambda _: None)
    assert calls == [1]


def test_the_pacer_spaces_calls_at_the_configured_rate() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer = Pacer(2.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        pacer.wait()
    assert slept == [0.5, 0.5, 0.5, 0.5]
    assert now[0] == pytest.approx(102.0)


def test_the_pacer_does_not_wait_when_calls_are_already_slower_than_the_rate() -> None:
    now = [0.0]
    slept: list[float] = []
    pacer = Pacer(1.0, clock=lambda: now[0], sleep=slept.append)
    pacer.wait()
    now[0] += 3.0
    pacer.wait()
    assert slept == []


# --- The same operations over real HTTP, against the local SES emulator -------------------


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorHandle]:
    with running_emulator() as handle:
        yield handle


@pytest.fixture
def over_http(emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> SesGateway:
    """A gateway built the production way (core.ses.clients), aimed at the emulator; no botocore
    retries, so each fault the emulator injects is seen once."""
    emulator.state.reset()
    for name, value in emulator.environment().items():
        monkeypatch.setenv(name, value)
    settings = Settings(aws_region=emulator.region, aws_max_attempts=1)
    return SesGateway.from_settings(settings, endpoint_url=emulator.endpoint_url)


def test_over_http_a_long_list_is_read_page_by_page_until_there_is_no_token(
    emulator: EmulatorHandle, over_http: SesGateway
) -> None:
    emulator.state.put_many_suppressed(make_entry(f"u{i:04d}@Example.com") for i in range(2500))
    token, seen, pages = None, [], 0
    while True:
        page = over_http.list_suppressed_destinations(next_token=token, page_size=1000)
        seen += [entry.email_address for entry in page.summaries]
        pages, token = pages + 1, page.next_token
        if token is None:
            break
    assert pages == 3 and len(set(seen)) == 2500
    assert seen[0] == "u0000@Example.com"


def test_over_http_start_date_limits_the_listing_to_recent_entries(
    emulator: EmulatorHandle, over_http: SesGateway
) -> None:
    emulator.state.put_suppressed("old@example.com", last_update=datetime(2024, 1, 1))
    emulator.state.put_suppressed("new@example.com", last_update=datetime(2024, 6, 1))
    page = over_http.list_suppressed_destinations(start_date=datetime(2024, 3, 1))
    assert [s.email_address for s in page.summaries] == ["new@example.com"]
    assert page.summaries[0].last_update_time == datetime(2024, 6, 1)


def test_over_http_detail_carries_message_and_feedback_ids(
    emulator: EmulatorHandle, over_http: SesGateway
) -> None:
    emulator.state.put_suppressed("a@example.com", message_id="msg-1", feedback_id="fb-1")
    info = over_http.get_suppressed_destination("a@example.com")
    assert (info.message_id, info.feedback_id) == ("msg-1", "fb-1")


def test_over_http_delete_succeeds_once_and_then_reports_not_found(
    emulator: EmulatorHandle, over_http: SesGateway
) -> None:
    emulator.state.put_suppressed("a+tag/x@example.com")  # path-unsafe characters
    over_http.delete_suppressed_destination("a+tag/x@example.com")
    assert emulator.state.get_suppressed("a+tag/x@example.com") is None
    with pytest.raises(SesNotFound):
        over_http.delete_suppressed_destination("a+tag/x@example.com")


@pytest.mark.parametrize(
    ("status", "expected"),
    [(429, SesThrottled), (500, AwsCallFailed), (400, AwsCallFailed), (404, SesNotFound)],
)
def test_over_http_injected_errors_become_the_same_named_exceptions(
    emulator: EmulatorHandle, over_http: SesGateway, status: int, expected: type[Exception]
) -> None:
    emulator.state.put_suppressed("a@example.com")
    emulator.admin.add_fault("DeleteSuppressedDestination", status=status, message="injected")
    with pytest.raises(expected, match="injected"):
        over_http.delete_suppressed_destination("a@example.com")
    assert emulator.state.get_suppressed("a@example.com") is not None  # nothing changed


def test_over_http_an_import_job_reads_the_csv_from_s3_and_reports_failed_records(
    emulator: EmulatorHandle, over_http: SesGateway
) -> None:
    emulator.state.put_suppressed("a@example.com")
    over_http.s3.create_bucket(Bucket="imports")  # type: ignore[union-attr]
    url = over_http.upload_object(
        "imports", "k.csv", b"a@example.com\nnot an address\n", "text/csv"
    )
    job_id = over_http.create_import_job(url, action="DELETE")
    job = over_http.get_import_job(job_id)
    for _ in range(100):
        if job.status in ("COMPLETED", "FAILED"):
            break
        time.sleep(0.05)
        job = over_http.get_import_job(job_id)
    assert (job.status, job.processed, job.failed) == ("COMPLETED", 2, 1)
    assert job.failure_url and job.failure_url.startswith("http")
    assert emulator.state.get_suppressed("a@example.com") is None


def test_over_http_account_and_send_statistics_are_read(
    emulator: EmulatorHandle, over_http: SesGateway
) -> None:
    emulator.state.set_account(enforcement_status="PROBATION")
    emulator.state.record_sending(datetime.now(UTC) - timedelta(hours=1), delivery_attempts=9)
    assert over_http.get_account().enforcement_status == "PROBATION"
    [point] = over_http.get_send_statistics()
    assert point.delivery_attempts == 9


def test_over_http_cloudwatch_metric_data_is_read_from_the_emulators_moto(
    emulator: EmulatorHandle, over_http: SesGateway
) -> None:
    at = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    over_http.cloudwatch.put_metric_data(  # type: ignore[union-attr]
        Namespace="AWS/SES",
        MetricData=[{"MetricName": "Send", "Timestamp": at + timedelta(minutes=3), "Value": 7}],
    )
    query = MetricQuery("m0_3600", "AWS/SES", "Send", "Sum", 3600)
    values = list(over_http.get_metric_data([query], at, at + timedelta(hours=1)))
    assert [v for page in values for v in page.values] == [7.0]


def test_over_http_a_reset_emulator_forgets_the_ses_metrics_an_earlier_one_left_in_moto(
    emulator: EmulatorHandle, over_http: SesGateway
) -> None:
    # moto's CloudWatch backend is process-wide: a demo seed earlier in the same test worker
    # leaves its AWS/SES data points there, and the next emulator's sums would include them.
    at = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=5)
    over_http.cloudwatch.put_metric_data(  # type: ignore[union-attr]
        Namespace="AWS/SES",
        MetricData=[{"MetricName": "Send", "Timestamp": at + timedelta(minutes=3), "Value": 5}],
    )
    emulator.state.reset()
    query = MetricQuery("m0_3600", "AWS/SES", "Send", "Sum", 3600)
    values = list(over_http.get_metric_data([query], at, at + timedelta(hours=1)))
    assert [v for page in values for v in page.values] == []
