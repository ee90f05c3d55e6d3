"""The only module that talks to SES (and the S3 / CloudWatch calls that serve it).

`SesGateway` wraps the boto3 clients and returns plain dataclasses. Every botocore error is
translated here into one of the named exceptions of `core.errors`, so the rest of the code
never imports botocore. Also here: `Pacer`, which spaces calls to the SES management rate
(about one request per second by default), and `retry_throttled`, which backs off when SES
still answers TooManyRequests after botocore's own retries.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ReadTimeoutError,
)
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from core.clock import naive_utc
from core.errors import (
    AwsCallFailed,
    AwsConfigurationError,
    SesAccessDenied,
    SesNotFound,
    SesThrottled,
    SesUnreachable,
)
from core.ses.clients import (
    HOW_TO_CONFIGURE_CREDENTIALS,
    HOW_TO_CONFIGURE_REGION,
    AwsClients,
    make_clients,
)
from core.settings import Settings

if TYPE_CHECKING:  # the boto3-stubs packages are development-only
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_cloudwatch.type_defs import MetricDataQueryTypeDef, MetricTypeDef
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_ses import SESClient
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_sqs import SQSClient

T = TypeVar("T")
C = TypeVar("C")
ImportAction = Literal["PUT", "DELETE"]
ImportFormat = Literal["CSV", "JSON"]

THROTTLING_CODES = frozenset(
    {"TooManyRequestsException", "Throttling", "ThrottlingException", "LimitExceededException"}
)
NOT_FOUND_CODES = frozenset({"NotFoundException", "NoSuchKey", "NoSuchBucket"})
DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException"})
BAD_CREDENTIAL_CODES = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidAccessKeyId",
        "ExpiredToken",
        "ExpiredTokenException",
        "SignatureDoesNotMatch",
    }
)
UNREACHABLE = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ConnectionClosedError,
)


# --- Plain values ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SuppressedSummary:
    """One entry of ListSuppressedDestinations, exactly as SES spells the address."""

    email_address: str
    reason: str
    last_update_time: datetime | None


@dataclass(frozen=True, slots=True)
class SuppressionPage:
    summaries: list[SuppressedSummary]
    next_token: str | None


@dataclass(frozen=True, slots=True)
class SuppressedDestinationInfo:
    """GetSuppressedDestination: the entry plus the message / feedback that put it there."""

    email_address: str
    reason: str
    last_update_time: datetime | None
    message_id: str | None
    feedback_id: str | None


@dataclass(frozen=True, slots=True)
class ImportJobInfo:
    job_id: str
    status: str
    processed: int | None
    failed: int | None
    failure_url: str | None
    failure_message: str | None
    created_at: datetime | None
    completed_at: datetime | None


@dataclass(frozen=True, slots=True)
class AccountInfo:
    """GetAccount, the fields the dashboard shows, and the whole response for the record."""

    enforcement_status: str | None
    sending_enabled: bool | None
    production_access_enabled: bool | None
    max_24_hour_send: float | None
    max_send_rate: float | None
    sent_last_24_hours: float | None
    suppressed_reasons: tuple[str, ...]
    raw: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ConfigurationSetInfo:
    """GetConfigurationSet, the fields alerts and the guard use."""

    name: str
    sending_enabled: bool
    reputation_metrics_enabled: bool


@dataclass(frozen=True, slots=True)
class SendDataPoint:
    """One 15-minute bucket of SES v1 GetSendStatistics."""

    at: datetime
    delivery_attempts: int
    bounces: int
    complaints: int
    rejects: int


@dataclass(frozen=True, slots=True)
class MetricQuery:
    """One CloudWatch series: `query_id` must start with a lowercase letter (AWS rule)."""

    query_id: str
    namespace: str
    metric: str
    stat: str
    period_seconds: int
    # (name, value) pairs, e.g. (("ses:configuration-set", "bulk"),) for one stream's figure.
    dimensions: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class MetricValues:
    """Part of one series, as one GetMetricData page returns it."""

    query_id: str
    timestamps: list[datetime]
    values: list[float]


# --- Error translation -------------------------------------------------------------------


def translate_client_error(exc: ClientError, what: str) -> Exception:
    """ClientError -> the named exception that says what an operator can do about it."""
    error = exc.response.get("Error", {})
    code = str(error.get("Code", "") or "")
    message = str(error.get("Message", "") or "").strip() or str(exc)
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    text = f"{code}: {message}" if code else message
    if code in THROTTLING_CODES or status == 429:
        return SesThrottled(f"{what}: {text}")
    if code in NOT_FOUND_CODES or status == 404:
        return SesNotFound(f"{what}: {text}")
    if code in BAD_CREDENTIAL_CODES:
        return AwsConfigurationError(
            f"AWS rejected the credentials ({text}). {HOW_TO_CONFIGURE_CREDENTIALS}"
        )
    if code in DENIED_CODES or status == 403:
        return SesAccessDenied(
            f"{what}: {text}. The AWS identity needs the permissions in iam/bouncedesk-policy.json "
            "(see docs/aws.md)."
        )
    return AwsCallFailed(f"{what}: {text}")


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Run an AWS call; anything botocore raises leaves as one of our named exceptions."""
    try:
        yield
    except ClientError as exc:
        raise translate_client_error(exc, what) from exc
    except NoCredentialsError:
        raise AwsConfigurationError(HOW_TO_CONFIGURE_CREDENTIALS) from None
    except NoRegionError:
        raise AwsConfigurationError(HOW_TO_CONFIGURE_REGION) from None
    except UNREACHABLE as exc:
        raise SesUnreachable(f"{what}: cannot reach AWS ({exc})") from exc
    except BotoCoreError as exc:
        raise AwsCallFailed(f"{what}: {exc}") from exc


# --- Pacing and back-off -----------------------------------------------------------------


class Pacer:
    """Spaces calls at most `rate` per second; the clock and sleep are injectable for tests."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._next: float | None = None

    def wait(self) -> None:
        """Block until the next call is allowed, then reserve the slot after it."""
        now = self._clock()
        if self._next is not None and now < self._next:
            self._sleep(self._next - now)
            now = self._next
        self._next = now + self.interval


def retry_throttled(
    call: Callable[[], T],
    *,
    attempts: int = 4,
    sleep: Callable[[float], None] = time.sleep,
    on_attempt: Callable[[int], None] | None = None,
) -> T:
    """Call again, with exponential back-off and jitter, while SES answers TooManyRequests.

    botocore has already retried inside the call; this is the slower, outer layer that lets a
    long removal ride out a throttling episode instead of failing addresses.
    """
    retrying = Retrying(
        retry=retry_if_exception_type(SesThrottled),
        stop=stop_after_attempt(attempts),
        wait=wait_exponential_jitter(initial=1, max=30),
        sleep=sleep,
        reraise=True,
    )
    for attempt in retrying:
        with attempt:
            if on_attempt is not None:
                on_attempt(attempt.retry_state.attempt_number)
            return call()
    raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover


# --- The gateway -------------------------------------------------------------------------


class SesGateway:
    """SES suppression list, import jobs, account and statistics, plus the S3 upload and
    CloudWatch reads they need. Holds clients only; safe to share between threads."""

    def __init__(
        self,
        sesv2: SESV2Client,
        *,
        ses: SESClient | None = None,
        cloudwatch: CloudWatchClient | None = None,
        s3: S3Client | None = None,
        sqs: SQSClient | None = None,
        request_rate: float = 1.0,
    ) -> None:
        self.sesv2 = sesv2
        self.ses = ses
        self.cloudwatch = cloudwatch
        self.s3 = s3
        self.sqs = sqs
        # The pace for SES management calls; callers build a Pacer from it.
        self.request_rate = request_rate

    @classmethod
    def from_clients(cls, clients: AwsClients, *, request_rate: float = 1.0) -> SesGateway:
        return cls(
            clients.sesv2,
            ses=clients.ses,
            cloudwatch=clients.cloudwatch,
            s3=clients.s3,
            sqs=clients.sqs,
            request_rate=request_rate,
        )

    @classmethod
    def from_settings(cls, settings: Settings, *, endpoint_url: str | None = None) -> SesGateway:
        """The usual way: clients from the standard AWS chain, pace from settings."""
        clients = make_clients(settings, endpoint_url=endpoint_url)
        return cls.from_clients(clients, request_rate=settings.ses_request_rate)

    # Suppression list

    def list_suppressed_destinations(
        self,
        *,
        next_token: str | None = None,
        page_size: int = 1000,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        reasons: Sequence[str] = (),
    ) -> SuppressionPage:
        """One page; botocore has no paginator for this operation, so callers loop."""
        params: dict[str, Any] = {"PageSize": page_size}
        if next_token:
            params["NextToken"] = next_token
        if start_date is not None:
            params["StartDate"] = start_date
        if end_date is not None:
            params["EndDate"] = end_date
        if reasons:
            params["Reasons"] = list(reasons)
        with translated("ListSuppressedDestinations"):
            response = self.sesv2.list_suppressed_destinations(**params)
        summaries = [
            SuppressedSummary(
                email_address=item["EmailAddress"],
                reason=item.get("Reason", ""),
                last_update_time=naive_utc(item.get("LastUpdateTime")),
            )
            for item in response.get("SuppressedDestinationSummaries", [])
        ]
        return SuppressionPage(summaries=summaries, next_token=response.get("NextToken") or None)

    def get_suppressed_destination(self, email_address: str) -> SuppressedDestinationInfo:
        """Raises SesNotFound when the address is not on the list."""
        with translated(f"GetSuppressedDestination {email_address}"):
            response = self.sesv2.get_suppressed_destination(EmailAddress=email_address)
        item = response["SuppressedDestination"]
        attributes = item.get("Attributes") or {}
        return SuppressedDestinationInfo(
            email_address=item["EmailAddress"],
            reason=item.get("Reason", ""),
            last_update_time=naive_utc(item.get("LastUpdateTime")),
            message_id=attributes.get("MessageId"),
            feedback_id=attributes.get("FeedbackId"),
        )

    def delete_suppressed_destination(self, email_address: str) -> None:
        """Returns only when SES confirmed the removal; SesNotFound when it was not listed."""
        with translated(f"DeleteSuppressedDestination {email_address}"):
            self.sesv2.delete_suppressed_destination(EmailAddress=email_address)

    # Import jobs

    def upload_object(self, bucket: str, key: str, body: bytes, content_type: str) -> str:
        """Put a file where SES can read it; returns its s3:// URL."""
        with translated(f"S3 PutObject s3://{bucket}/{key}"):
            self._require(self.s3, "s3").put_object(
                Bucket=bucket, Key=key, Body=body, ContentType=content_type
            )
        return f"s3://{bucket}/{key}"

    def create_import_job(
        self, s3_url: str, *, action: ImportAction, data_format: ImportFormat = "CSV"
    ) -> str:
        """Start a suppression-list import (PUT or DELETE) from an S3 object; returns JobId."""
        with translated("CreateImportJob"):
            response = self.sesv2.create_import_job(
                ImportDestination={
                    "SuppressionListDestination": {"SuppressionListImportAction": action}
                },
                ImportDataSource={"S3Url": s3_url, "DataFormat": data_format},
            )
        return str(response["JobId"])

    def get_import_job(self, job_id: str) -> ImportJobInfo:
        with translated(f"GetImportJob {job_id}"):
            response = self.sesv2.get_import_job(JobId=job_id)
        failure = response.get("FailureInfo") or {}
        return ImportJobInfo(
            job_id=response.get("JobId", job_id),
            status=response.get("JobStatus", ""),
            processed=response.get("ProcessedRecordsCount"),
            failed=response.get("FailedRecordsCount"),
            failure_url=failure.get("FailedRecordsS3Url"),
            failure_message=failure.get("ErrorMessage"),
            created_at=naive_utc(response.get("CreatedTimestamp")),
            completed_at=naive_utc(response.get("CompletedTimestamp")),
        )

    # Account and statistics

    def get_account(self) -> AccountInfo:
        with translated("GetAccount"):
            response = self.sesv2.get_account()
        raw: dict[str, Any] = {k: v for k, v in response.items() if k != "ResponseMetadata"}
        quota = raw.get("SendQuota") or {}
        reasons = (raw.get("SuppressionAttributes") or {}).get("SuppressedReasons") or []
        return AccountInfo(
            enforcement_status=raw.get("EnforcementStatus"),
            sending_enabled=raw.get("SendingEnabled"),
            production_access_enabled=raw.get("ProductionAccessEnabled"),
            max_24_hour_send=quota.get("Max24HourSend"),
            max_send_rate=quota.get("MaxSendRate"),
            sent_last_24_hours=quota.get("SentLast24Hours"),
            suppressed_reasons=tuple(reasons),
            raw=raw,
        )

    # Configuration sets (the streams alerts watch and the guard may pause)

    def list_configuration_sets(self) -> list[str]:
        """Every configuration set's name (ListConfigurationSets, following NextToken)."""
        names: list[str] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"PageSize": 100}
            if token:
                params["NextToken"] = token
            with translated("ListConfigurationSets"):
                response = self.sesv2.list_configuration_sets(**params)
            names.extend(response.get("ConfigurationSets", []))
            token = response.get("NextToken") or None
            if token is None:
                return names

    def get_configuration_set(self, name: str) -> ConfigurationSetInfo:
        """Raises SesNotFound when there is no such configuration set."""
        with translated(f"GetConfigurationSet {name}"):
            response = self.sesv2.get_configuration_set(ConfigurationSetName=name)
        sending = response.get("SendingOptions") or {}
        reputation = response.get("ReputationOptions") or {}
        return ConfigurationSetInfo(
            name=response.get("ConfigurationSetName", name),
            # SES leaves SendingOptions out for a set nobody has changed: sending is on.
            sending_enabled=bool(sending.get("SendingEnabled", True)),
            reputation_metrics_enabled=bool(reputation.get("ReputationMetricsEnabled", False)),
        )

    def set_configuration_set_sending(self, name: str, *, enabled: bool) -> None:
        """PutConfigurationSetSendingOptions: pause (or resume) sending for one set only."""
        with translated(f"PutConfigurationSetSendingOptions {name}"):
            self.sesv2.put_configuration_set_sending_options(
                ConfigurationSetName=name, SendingEnabled=enabled
            )

    def queue_depth(self, queue_url: str) -> int:
        """Messages waiting or in flight on an SQS queue (a dead-letter queue's backlog)."""
        with translated(f"SQS GetQueueAttributes {queue_url}"):
            response = self._require(self.sqs, "sqs").get_queue_attributes(
                QueueUrl=queue_url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )
        attributes = response.get("Attributes", {})
        return sum(
            int(attributes.get(name, 0))
            for name in ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")
        )

    def get_send_statistics(self) -> list[SendDataPoint]:
        """SES v1: 15-minute buckets of the last two weeks, in no particular order."""
        with translated("GetSendStatistics"):
            response = self._require(self.ses, "ses").get_send_statistics()
        return [
            SendDataPoint(
                at=naive_utc(point["Timestamp"]),
                delivery_attempts=int(point.get("DeliveryAttempts", 0)),
                bounces=int(point.get("Bounces", 0)),
                complaints=int(point.get("Complaints", 0)),
                rejects=int(point.get("Rejects", 0)),
            )
            for point in response.get("SendDataPoints", [])
        ]

    def get_metric_data(
        self, queries: Sequence[MetricQuery], start: datetime, end: datetime
    ) -> Iterator[MetricValues]:
        """Stream GetMetricData results page by page (the paginator follows NextToken)."""
        paginator = self._require(self.cloudwatch, "cloudwatch").get_paginator("get_metric_data")
        pages = paginator.paginate(
            MetricDataQueries=[_metric_query(q) for q in queries],
            StartTime=start.replace(tzinfo=start.tzinfo or UTC),
            EndTime=end.replace(tzinfo=end.tzinfo or UTC),
            ScanBy="TimestampAscending",
        )
        with translated("CloudWatch GetMetricData"):
            for page in pages:
                for result in page.get("MetricDataResults", []):
                    yield MetricValues(
                        query_id=result["Id"],
                        timestamps=[naive_utc(t) for t in result.get("Timestamps", [])],
                        values=[float(v) for v in result.get("Values", [])],
                    )

    @staticmethod
    def _require(client: C | None, name: str) -> C:
        if client is None:
            raise AwsConfigurationError(f"this gateway was built without a {name} client")
        return client


def _metric_query(query: MetricQuery) -> MetricDataQueryTypeDef:
    metric: MetricTypeDef = {"Namespace": query.namespace, "MetricName": query.metric}
    if query.dimensions:
        metric["Dimensions"] = [{"Name": n, "Value": v} for n, v in query.dimensions]
    return {
        "Id": query.query_id,
        "MetricStat": {"Metric": metric, "Period": query.period_seconds, "Stat": query.stat},
        "ReturnData": True,
    }
