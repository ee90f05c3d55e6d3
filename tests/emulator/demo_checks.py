"""The demo story's invariants, read back through boto3 the way the dashboard reads them.

Every window is measured from the moment the demo was seeded (``now``), never from the clock
at the time of the check: the account holds the 60 full UTC days before ``now``'s date, then
that day up to ``now``.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from emulator.launch import EmulatorHandle

DAYS = 60
REVIEW_THRESHOLD = 0.05


def midnight(moment: datetime) -> datetime:
    """The start of ``moment``'s UTC day."""
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def daily_sums(
    handle: EmulatorHandle, start: datetime, end: datetime, *names: str
) -> dict[str, list[float]]:
    """Daily sums of AWS/SES metrics over [start, end), midnight-aligned, oldest first."""
    queries = [
        {
            "Id": name.lower(),
            "MetricStat": {
                "Metric": {"Namespace": "AWS/SES", "MetricName": name},
                "Period": 86400,
                "Stat": "Sum",
            },
        }
        for name in names
    ]
    result = handle.client("cloudwatch").get_metric_data(
        MetricDataQueries=queries, StartTime=start, EndTime=end, ScanBy="TimestampAscending"
    )
    return {r["Id"]: r["Values"] for r in result["MetricDataResults"]}


def full_days(handle: EmulatorHandle, now: datetime, *names: str) -> dict[str, list[float]]:
    """The daily sums of the DAYS complete days before ``now``'s date."""
    today = midnight(now)
    return daily_sums(handle, today - timedelta(days=DAYS), today, *names)


def hourly_bounce_rates(handle: EmulatorHandle, now: datetime) -> list[float]:
    """Reputation.BounceRate, hour by hour, from the first full day up to ``now``."""
    result = handle.client("cloudwatch").get_metric_data(
        MetricDataQueries=[
            {
                "Id": "rate",
                "MetricStat": {
                    "Metric": {"Namespace": "AWS/SES", "MetricName": "Reputation.BounceRate"},
                    "Period": 3600,
                    "Stat": "Average",
                },
            }
        ],
        StartTime=midnight(now) - timedelta(days=DAYS),
        EndTime=now + timedelta(hours=1),
        ScanBy="TimestampAscending",
    )
    return result["MetricDataResults"][0]["Values"]


def upward_crossings(values: list[float], threshold: float) -> int:
    return sum(1 for a, b in zip(values, values[1:], strict=False) if a < threshold <= b)


def assert_sixty_full_days_in_range(sums: dict[str, list[float]]) -> None:
    """Every metric has DAYS daily values; every day sent 800 to 3,000 mails."""
    assert {name: len(values) for name, values in sums.items()} == dict.fromkeys(sums, DAYS)
    out_of_range = [sent for sent in sums["send"] if not 800 <= sent <= 3000]
    assert not out_of_range, sums["send"]


def assert_one_bounce_incident(sends: list[float], bounces: list[float]) -> None:
    """The daily bounce rate crosses 5 % once, stays above it 2-4 days, and has recovered."""
    rates = [bounced / sent for bounced, sent in zip(bounces, sends, strict=True)]
    assert upward_crossings(rates, REVIEW_THRESHOLD) == 1, rates
    assert 2 <= sum(rate >= REVIEW_THRESHOLD for rate in rates) <= 4, rates
    assert rates[-1] < 0.02, rates


def assert_one_review_episode(rates: list[float], now: datetime) -> None:
    """One hourly rate per hour begun since the first full day; one episode above 5 %."""
    hours_today = math.ceil((now - midnight(now)) / timedelta(hours=1))
    assert len(rates) == DAYS * 24 + hours_today
    assert upward_crossings(rates, REVIEW_THRESHOLD) == 1
    assert max(rates) < 0.10
