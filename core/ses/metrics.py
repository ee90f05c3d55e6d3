"""Account health and the official SES figures, kept as history.

Three sources, all pulled through `SesGateway` and stored so the dashboard can chart them
without calling AWS:
- GetAccount -> one `account_snapshots` row per pull (enforcement status over time);
- CloudWatch AWS/SES reputation and volume metrics, hourly and daily -> `metric_points`;
- SES v1 GetSendStatistics, 15-minute buckets of the last two weeks -> `metric_points`
  with source ``send_statistics``.
`metric_points` is keyed on (source, metric, period, time), and every write is an upsert,
so pulling an overlapping window again replaces points instead of adding them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from core.clock import utcnow
from core.ses.gateway import MetricQuery, SesGateway
from core.store.db import open_session, translated_errors
from core.store.models import AccountSnapshot, MetricPoint
from core.store.tables import POINTS, SET_POINTS
from core.store.upsert import Merge, upsert

CLOUDWATCH = "cloudwatch"
SEND_STATISTICS = "send_statistics"
SES_NAMESPACE = "AWS/SES"
HOURLY, DAILY = 3600, 86400
SEND_STATISTICS_PERIOD = 900

# The reputation metrics are fractions (0.05 = 5 %); their average over a period is the
# figure SES shows. The volume metrics are counts, so they are summed.
CLOUDWATCH_METRICS: dict[str, str] = {
    "Reputation.BounceRate": "Average",
    "Reputation.ComplaintRate": "Average",
    "Send": "Sum",
    "Delivery": "Sum",
    "Bounce": "Sum",
    "Complaint": "Sum",
}
REPUTATION_METRICS = ("Reputation.BounceRate", "Reputation.ComplaintRate")
# The dimension SES publishes a configuration set's figures under.
SET_DIMENSION = "ses:configuration-set"
CONFIGURATION_SET = "configuration_set"
SEND_STATISTICS_METRICS = ("DeliveryAttempts", "Bounces", "Complaints", "Rejects")
_MERGES = [("value", Merge.REPLACE), ("pulled_at", Merge.REPLACE)]


@dataclass(frozen=True, slots=True)
class AccountHealth:
    """The latest GetAccount as the dashboard shows it."""

    taken_at: datetime
    enforcement_status: str | None
    sending_enabled: bool | None
    production_access_enabled: bool | None
    max_24_hour_send: float | None
    max_send_rate: float | None
    sent_last_24_hours: float | None
    suppressed_reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PullReport:
    source: str
    start: datetime | None
    end: datetime | None
    points: int
    by_metric: dict[str, int]


# --- Pulling -----------------------------------------------------------------------------


def record_account_snapshot(engine: Engine, gateway: SesGateway) -> AccountHealth:
    """Call GetAccount and keep the answer, so enforcement changes leave a history."""
    info = gateway.get_account()
    snapshot = AccountSnapshot(
        taken_at=utcnow(),
        enforcement_status=info.enforcement_status,
        sending_enabled=info.sending_enabled,
        production_access_enabled=info.production_access_enabled,
        max_24_hour_send=info.max_24_hour_send,
        max_send_rate=info.max_send_rate,
        sent_last_24_hours=info.sent_last_24_hours,
        suppressed_reasons=",".join(info.suppressed_reasons) or None,
        raw=json.dumps(info.raw, default=str, sort_keys=True),
    )
    with open_session(engine) as session, translated_errors():
        session.add(snapshot)
        session.commit()
        return _health(snapshot)


def pull_cloudwatch_metrics(
    engine: Engine,
    gateway: SesGateway,
    *,
    start: datetime,
    end: datetime,
    periods: Sequence[int] = (HOURLY, DAILY),
    metrics: Iterable[str] = tuple(CLOUDWATCH_METRICS),
) -> PullReport:
    """GetMetricData for each metric and period in [start, end); every page is upserted as
    it arrives. `start`/`end` are naive UTC (or aware, converted)."""
    queries = {q.query_id: q for q in _queries(metrics, periods)}
    pulled_at = utcnow()
    by_metric: dict[str, int] = {}
    with open_session(engine) as session, translated_errors():
        for values in gateway.get_metric_data(list(queries.values()), start, end):
            query = queries[values.query_id]
            rows = [
                _point(CLOUDWATCH, query.metric, query.period_seconds, at, value, pulled_at)
                for at, value in zip(values.timestamps, values.values, strict=True)
            ]
            upsert(session.connection(), POINTS, rows, _KEYS, _MERGES)
            session.commit()
            key = f"{query.metric}/{query.period_seconds}"
            by_metric[key] = by_metric.get(key, 0) + len(rows)
    return PullReport(CLOUDWATCH, start, end, sum(by_metric.values()), by_metric)


def _queries(
    metrics: Iterable[str],
    periods: Sequence[int],
    *,
    prefix: str = "",
    set_name: str | None = None,
) -> list[MetricQuery]:
    """Ids must start with a lowercase letter and contain only letters, digits and _."""
    dimensions = ((SET_DIMENSION, set_name),) if set_name is not None else ()
    return [
        MetricQuery(
            query_id=f"{prefix}m{index}_{period}",
            namespace=SES_NAMESPACE,
            metric=metric,
            stat=CLOUDWATCH_METRICS.get(metric, "Sum"),
            period_seconds=period,
            dimensions=dimensions,
        )
        for index, metric in enumerate(metrics)
        for period in periods
    ]


def pull_send_statistics(engine: Engine, gateway: SesGateway) -> PullReport:
    """SES v1 GetSendStatistics: the two weeks it returns, one row per bucket and figure."""
    points = gateway.get_send_statistics()
    pulled_at = utcnow()
    rows = [
        _point(SEND_STATISTICS, name, SEND_STATISTICS_PERIOD, point.at, float(value), pulled_at)
        for point in points
        for name, value in zip(
            SEND_STATISTICS_METRICS,
            (point.delivery_attempts, point.bounces, point.complaints, point.rejects),
            strict=True,
        )
    ]
    with open_session(engine) as session, translated_errors():
        upsert(session.connection(), POINTS, rows, _KEYS, _MERGES)
        session.commit()
    times = [point.at for point in points]
    by_metric = {name: len(points) for name in SEND_STATISTICS_METRICS} if points else {}
    return PullReport(
        SEND_STATISTICS, min(times, default=None), max(times, default=None), len(rows), by_metric
    )


def pull_configuration_set_metrics(
    engine: Engine,
    gateway: SesGateway,
    names: Sequence[str],
    *,
    start: datetime,
    end: datetime,
    periods: Sequence[int] = (HOURLY, DAILY),
) -> PullReport:
    """The official `Reputation.*` figures of each named configuration set (dimension
    ``ses:configuration-set``; SES publishes them only for sets with reputation metrics on,
    so a set without them simply has no points)."""
    queries = {
        q.query_id: (name, q)
        for index, name in enumerate(names)
        for q in _queries(REPUTATION_METRICS, periods, prefix=f"s{index}_", set_name=name)
    }
    pulled_at = utcnow()
    by_metric: dict[str, int] = {}
    if not queries:
        return PullReport(CONFIGURATION_SET, start, end, 0, by_metric)
    with open_session(engine) as session, translated_errors():
        plain = [q for _, q in queries.values()]
        for values in gateway.get_metric_data(plain, start, end):
            name, query = queries[values.query_id]
            rows = [
                {
                    "configuration_set": name,
                    "metric": query.metric,
                    "period_seconds": query.period_seconds,
                    "at": at,
                    "value": value,
                    "pulled_at": pulled_at,
                }
                for at, value in zip(values.timestamps, values.values, strict=True)
            ]
            upsert(session.connection(), SET_POINTS, rows, _SET_KEYS, _MERGES)
            session.commit()
            key = f"{name}/{query.metric}/{query.period_seconds}"
            by_metric[key] = by_metric.get(key, 0) + len(rows)
    return PullReport(CONFIGURATION_SET, start, end, sum(by_metric.values()), by_metric)


def pull_metrics(
    engine: Engine,
    gateway: SesGateway,
    *,
    days: int = 14,
    now: datetime | None = None,
    configuration_sets: Sequence[str] | None = None,
) -> list[PullReport]:
    """What `python -m core metrics pull` does: CloudWatch for the last `days` days (hourly
    and daily), GetSendStatistics, and the reputation figures of each configuration set
    (`configuration_sets`, or every set ListConfigurationSets names). Safe to repeat."""
    end = now or utcnow()
    start = end - timedelta(days=days)
    names = gateway.list_configuration_sets() if configuration_sets is None else configuration_sets
    return [
        pull_cloudwatch_metrics(engine, gateway, start=start, end=end),
        pull_send_statistics(engine, gateway),
        pull_configuration_set_metrics(engine, gateway, names, start=start, end=end),
    ]


_KEYS = ["source", "metric", "period_seconds", "at"]
_SET_KEYS = ["configuration_set", "metric", "period_seconds", "at"]


def _point(
    source: str, metric: str, period: int, at: datetime, value: float, pulled_at: datetime
) -> dict[str, Any]:
    return {
        "source": source,
        "metric": metric,
        "period_seconds": period,
        "at": at,
        "value": value,
        "pulled_at": pulled_at,
    }


# --- Reading -----------------------------------------------------------------------------


def metric_series(
    engine: Engine,
    metric: str,
    period_seconds: int,
    start: datetime,
    end: datetime,
    source: str = CLOUDWATCH,
) -> list[tuple[datetime, float]]:
    """Stored points of one series with start <= time < end, oldest first."""
    with translated_errors(), engine.connect() as connection:
        rows = connection.execute(
            select(MetricPoint.at, MetricPoint.value)
            .where(
                MetricPoint.source == source,
                MetricPoint.metric == metric,
                MetricPoint.period_seconds == period_seconds,
                MetricPoint.at >= start,
                MetricPoint.at < end,
            )
            .order_by(MetricPoint.at)
        )
        return [(at, float(value)) for at, value in rows]


def latest_account_snapshot(engine: Engine) -> AccountHealth | None:
    """The most recent GetAccount we stored, or None before the first pull."""
    with translated_errors(), open_session(engine) as session:
        snapshot = session.scalars(
            select(AccountSnapshot)
            .order_by(AccountSnapshot.taken_at.desc(), AccountSnapshot.id.desc())
            .limit(1)
        ).first()
    return _health(snapshot) if snapshot is not None else None


def _health(snapshot: AccountSnapshot) -> AccountHealth:
    reasons = tuple(r for r in (snapshot.suppressed_reasons or "").split(",") if r)
    return AccountHealth(
        taken_at=snapshot.taken_at,
        enforcement_status=snapshot.enforcement_status,
        sending_enabled=snapshot.sending_enabled,
        production_access_enabled=snapshot.production_access_enabled,
        max_24_hour_send=snapshot.max_24_hour_send,
        max_send_rate=snapshot.max_send_rate,
        sent_last_24_hours=snapshot.sent_last_24_hours,
        suppressed_reasons=reasons,
    )
