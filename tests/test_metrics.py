"""Account health and SES metrics kept as history: CloudWatch (moto), GetSendStatistics and
GetAccount (Stubber), upserted so a re-pull never duplicates points."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from sqlalchemy import Engine, func, select

from core.ses import metrics
from core.ses.gateway import SesGateway
from core.store.db import open_session
from core.store.models import AccountSnapshot, MetricPoint

CREDENTIALS = {"aws_access_key_id": "k", "aws_secret_access_key": "s"}
HOUR = datetime(2024, 6, 1, 0, 0)


@pytest.fixture
def cloudwatch() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("cloudwatch", region_name="eu-west-1", **CREDENTIALS)


@pytest.fixture
def stubbed() -> Iterator[tuple[SesGateway, Stubber, Stubber]]:
    sesv2 = boto3.client("sesv2", region_name="eu-west-1", **CREDENTIALS)
    ses = boto3.client("ses", region_name="eu-west-1", **CREDENTIALS)
    with Stubber(sesv2) as v2, Stubber(ses) as v1:
        yield SesGateway(sesv2, ses=ses), v2, v1
        v2.assert_no_pending_responses()
        v1.assert_no_pending_responses()


def put(cloudwatch: Any, metric: str, at: datetime, value: float) -> None:
    cloudwatch.put_metric_data(
        Namespace="AWS/SES",
        MetricData=[{"MetricName": metric, "Timestamp": at.replace(tzinfo=UTC), "Value": value}],
    )


def count_points(engine: Engine, source: str) -> int:
    with open_session(engine) as session:
        query = select(func.count()).select_from(MetricPoint).where(MetricPoint.source == source)
        return int(session.scalar(query) or 0)


def test_cloudwatch_bounce_rate_is_stored_hourly_and_read_back_as_a_series(
    engine: Engine, cloudwatch: Any
) -> None:
    for hour, rate in enumerate([0.01, 0.02, 0.06]):
        put(cloudwatch, "Reputation.BounceRate", HOUR + timedelta(hours=hour, minutes=5), rate)
    gateway = SesGateway(cloudwatch, cloudwatch=cloudwatch)
    report = metrics.pull_cloudwatch_metrics(
        engine, gateway, start=HOUR, end=HOUR + timedelta(hours=3), periods=(metrics.HOURLY,)
    )
    assert report.by_metric["Reputation.BounceRate/3600"] == 3
    series = metrics.metric_series(
        engine, "Reputation.BounceRate", 3600, HOUR, HOUR + timedelta(hours=3)
    )
    assert series == [
        (HOUR, pytest.approx(0.01)),
        (HOUR + timedelta(hours=1), pytest.approx(0.02)),
        (HOUR + timedelta(hours=2), pytest.approx(0.06)),
    ]


def test_pulling_the_same_window_again_replaces_points_instead_of_adding_them(
    engine: Engine, cloudwatch: Any
) -> None:
    put(cloudwatch, "Send", HOUR + timedelta(minutes=1), 100)
    gateway = SesGateway(cloudwatch, cloudwatch=cloudwatch)
    window = {"start": HOUR, "end": HOUR + timedelta(days=1)}
    metrics.pull_cloudwatch_metrics(engine, gateway, **window)
    first = count_points(engine, metrics.CLOUDWATCH)
    put(cloudwatch, "Send", HOUR + timedelta(minutes=2), 50)
    metrics.pull_cloudwatch_metrics(engine, gateway, **window)
    assert count_points(engine, metrics.CLOUDWATCH) == first == 2  # hourly + daily
    daily = metrics.metric_series(engine, "Send", 86400, HOUR, HOUR + timedelta(days=1))
    assert daily == [(HOUR, 150.0)]


def test_counts_are_summed_and_rates_averaged_within_a_period(
    engine: Engine, cloudwatch: Any
) -> None:
    for minute, (sent, rate) in enumerate([(10, 0.02), (30, 0.04)]):
        put(cloudwatch, "Send", HOUR + timedelta(minutes=minute), sent)
        put(cloudwatch, "Reputation.BounceRate", HOUR + timedelta(minutes=minute), rate)
    gateway = SesGateway(cloudwatch, cloudwatch=cloudwatch)
    metrics.pull_cloudwatch_metrics(
        engine, gateway, start=HOUR, end=HOUR + timedelta(hours=1), periods=(3600,)
    )
    end = HOUR + timedelta(hours=1)
    assert metrics.metric_series(engine, "Send", 3600, HOUR, end) == [(HOUR, 40.0)]
    [(_, rate)] = metrics.metric_series(engine, "Reputation.BounceRate", 3600, HOUR, end)
    assert rate == pytest.approx(0.03)


def send_statistics(bounces: int) -> dict[str, Any]:
    return {
        "SendDataPoints": [
            {
                "Timestamp": datetime(2024, 6, 1, 10, 15, tzinfo=UTC),
                "DeliveryAttempts": 200,
                "Bounces": bounces,
                "Complaints": 1,
                "Rejects": 0,
            },
            {
                "Timestamp": datetime(2024, 6, 1, 10, 30, tzinfo=UTC),
                "DeliveryAttempts": 100,
                "Bounces": 0,
                "Complaints": 0,
                "Rejects": 2,
            },
        ]
    }


def test_send_statistics_are_a_second_source_in_fifteen_minute_buckets_without_duplicates(
    engine: Engine, stubbed: tuple[SesGateway, Stubber, Stubber]
) -> None:
    gateway, _, v1 = stubbed
    v1.add_response("get_send_statistics", send_statistics(bounces=3))
    v1.add_response("get_send_statistics", send_statistics(bounces=4))
    metrics.pull_send_statistics(engine, gateway)
    report = metrics.pull_send_statistics(engine, gateway)
    assert report.points == 8
    assert count_points(engine, metrics.SEND_STATISTICS) == 8
    day = (datetime(2024, 6, 1), datetime(2024, 6, 2))
    bounces = metrics.metric_series(engine, "Bounces", 900, *day, source=metrics.SEND_STATISTICS)
    assert bounces == [(datetime(2024, 6, 1, 10, 15), 4.0), (datetime(2024, 6, 1, 10, 30), 0.0)]


def test_metric_series_keeps_sources_periods_and_the_window_apart(
    engine: Engine, stubbed: tuple[SesGateway, Stubber, Stubber]
) -> None:
    gateway, _, v1 = stubbed
    v1.add_response("get_send_statistics", send_statistics(bounces=3))
    metrics.pull_send_statistics(engine, gateway)
    start, end = datetime(2024, 6, 1, 10, 15), datetime(2024, 6, 1, 10, 30)
    assert metrics.metric_series(engine, "Bounces", 900, start, end) == []  # cloudwatch
    assert metrics.metric_series(
        engine, "Bounces", 900, start, end, source=metrics.SEND_STATISTICS
    ) == [(start, 3.0)]


def account(status: str) -> dict[str, Any]:
    return {
        "EnforcementStatus": status,
        "SendingEnabled": status != "SHUTDOWN",
        "ProductionAccessEnabled": True,
        "SendQuota": {"Max24HourSend": 50000.0, "MaxSendRate": 14.0, "SentLast24Hours": 120.0},
        "SuppressionAttributes": {"SuppressedReasons": ["BOUNCE", "COMPLAINT"]},
    }


def test_every_account_pull_is_kept_so_enforcement_changes_have_a_history(
    engine: Engine, stubbed: tuple[SesGateway, Stubber, Stubber]
) -> None:
    gateway, v2, _ = stubbed
    assert metrics.latest_account_snapshot(engine) is None
    v2.add_response("get_account", account("HEALTHY"))
    v2.add_response("get_account", account("PROBATION"))
    metrics.record_account_snapshot(engine, gateway)
    metrics.record_account_snapshot(engine, gateway)
    with open_session(engine) as session:
        history = list(session.scalars(select(AccountSnapshot.enforcement_status)))
        latest = metrics.latest_account_snapshot(engine)
    assert sorted(history) == ["HEALTHY", "PROBATION"]
    assert latest is not None and latest.enforcement_status == "PROBATION"
    assert latest.suppressed_reasons == ("BOUNCE", "COMPLAINT")
    assert latest.max_send_rate == 14.0
