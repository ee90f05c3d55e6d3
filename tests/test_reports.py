"""The overview figures: trends against the official rate, breakdowns, account health,
and the ingestion page's counts. Seeded through the real ingestion path."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import Engine, insert

from core.reports.ingestion import ingestion_counts, recent_runs, store_counts
from core.reports.overview import (
    DomainCount,
    TypeCount,
    account_health,
    bounces_by_type,
    rate_trend,
    top_domains,
)
from core.reports.rates import RateStatus
from core.store.models import AccountSnapshot, IngestionRun, MetricPoint
from tests.factories import ingest, make_bounce, make_complaint, make_delivery, make_send

DAY1 = date(2026, 10, 1)


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour)


def sends(day: date, count: int) -> dict:
    return make_send([f"r{i}@example.com" for i in range(count)], at=at(day, 8))


def metric(engine: Engine, name: str, when: datetime, value: float, period: int = 86400) -> None:
    row = {
        "source": "cloudwatch",
        "metric": name,
        "period_seconds": period,
        "at": when,
        "value": value,
        "pulled_at": datetime(2026, 10, 9),
    }
    with engine.begin() as connection:
        connection.execute(insert(MetricPoint.__table__), [row])


def test_the_trend_counts_only_bounces_that_count_toward_the_rate(engine: Engine) -> None:
    ingest(
        engine,
        sends(DAY1, 20),
        make_bounce(["h1@example.com", "h2@example.com"], at=at(DAY1)),
        make_bounce(["s@example.com"], bounce_type="Transient", subtype="MailboxFull", at=at(DAY1)),
        make_bounce(["x@example.com"], subtype="OnAccountSuppressionList", at=at(DAY1)),
    )
    [point] = rate_trend(engine, DAY1, DAY1)
    assert (point.sends, point.sends_source, point.events) == (20, "own", 2)
    assert point.daily_rate == 0.1


def test_cloudwatch_sends_replace_our_own_for_the_days_it_has(engine: Engine) -> None:
    day2 = DAY1 + timedelta(days=1)
    ingest(engine, sends(DAY1, 10), sends(day2, 10), make_bounce(["a@x.jp"], at=at(day2)))
    metric(engine, "Send", at(day2, 0), 40.0)
    first, second = rate_trend(engine, DAY1, day2)
    assert (first.sends, first.sends_source) == (10, "own")
    assert (second.sends, second.sends_source, second.daily_rate) == (40, "cloudwatch", 0.025)


def test_the_rolling_rate_covers_the_seven_days_ending_that_day(engine: Engine) -> None:
    days = [DAY1 + timedelta(days=i) for i in range(8)]
    for day in days:
        metric(engine, "Send", at(day, 0), 100.0)
    ingest(
        engine,
        make_bounce([f"a{i}@x.jp" for i in range(7)], at=at(days[0])),
        make_bounce(["b@x.jp"], at=at(days[7])),
    )
    points = rate_trend(engine, days[6], days[7])
    assert points[0].rolling_7d_rate == 7 / 700  # days 0..6
    assert points[1].rolling_7d_rate == 1 / 700  # days 1..7: day 0 has left the window
    assert points[1].daily_rate == 0.01


def test_a_day_without_sends_has_no_rate_instead_of_zero(engine: Engine) -> None:
    [point] = rate_trend(engine, DAY1, DAY1)
    assert (point.sends, point.sends_source, point.daily_rate) == (0, "none", None)


def test_the_official_rate_is_the_daily_point_or_else_the_days_last_hourly_one(
    engine: Engine,
) -> None:
    day2 = DAY1 + timedelta(days=1)
    metric(engine, "Reputation.BounceRate", at(DAY1, 0), 0.031)
    metric(engine, "Reputation.BounceRate", at(DAY1, 23), 0.5, period=3600)
    metric(engine, "Reputation.BounceRate", at(day2, 1), 0.020, period=3600)
    metric(engine, "Reputation.BounceRate", at(day2, 22), 0.024, period=3600)
    metric(engine, "Reputation.ComplaintRate", at(DAY1, 0), 0.0004)
    first, second = rate_trend(engine, DAY1, day2)
    assert (first.official_rate, second.official_rate) == (0.031, 0.024)
    [complaints] = rate_trend(engine, DAY1, DAY1, kind="complaint")
    assert complaints.official_rate == 0.0004


def test_complaints_about_suppressed_addresses_do_not_count_toward_the_complaint_rate(
    engine: Engine,
) -> None:
    ingest(
        engine,
        sends(DAY1, 1000),
        make_complaint(["a@x.jp", "b@x.jp"], at=at(DAY1)),
        make_complaint(["c@x.jp"], subtype="OnAccountSuppressionList", at=at(DAY1)),
    )
    [point] = rate_trend(engine, DAY1, DAY1, kind="complaint")
    assert (point.events, point.daily_rate) == (2, 0.002)


def test_account_health_uses_the_official_rate_and_shows_the_headroom(engine: Engine) -> None:
    today = DAY1 + timedelta(days=6)
    for i in range(7):
        metric(engine, "Send", at(DAY1 + timedelta(days=i), 0), 100.0)
    ingest(engine, make_bounce([f"a{i}@x.jp" for i in range(14)], at=at(DAY1)))
    metric(engine, "Reputation.BounceRate", at(today, 5), 0.052, period=3600)
    with engine.begin() as connection:
        connection.execute(
            insert(AccountSnapshot.__table__),
            [
                {
                    "taken_at": at(today, 6),
                    "enforcement_status": "PROBATION",
                    "sending_enabled": True,
                    "production_access_enabled": True,
                    "raw": "{}",
                }
            ],
        )
    health = account_health(engine, today=today)
    assert (health.official_bounce_rate, health.official_bounce_rate_at) == (0.052, at(today, 5))
    assert (health.bounce_status, health.bounce_status_source) == (RateStatus.REVIEW, "official")
    assert (health.enforcement_status, health.sending_enabled) == ("PROBATION", True)
    assert (health.sends_7d, health.counting_bounces_7d, health.own_bounce_rate_7d) == (
        700,
        14,
        0.02,
    )
    assert (health.headroom_to_review, health.headroom_to_pause) == (21, 56)


def test_account_health_before_any_pull_falls_back_to_our_own_rate(engine: Engine) -> None:
    ingest(engine, sends(DAY1, 10), make_bounce(["a@x.jp"], at=at(DAY1)))
    health = account_health(engine, today=DAY1)
    assert health.official_bounce_rate is None and health.enforcement_status is None
    assert health.production_access is None and health.last_metrics_at is None
    assert (health.bounce_status, health.bounce_status_source) == (RateStatus.PAUSE, "own")
    assert health.complaint_status is RateStatus.HEALTHY
    assert health.headroom_to_pause == 0


def test_bounces_by_type_reports_every_bounce_and_complaint_per_day(engine: Engine) -> None:
    day2 = DAY1 + timedelta(days=1)
    ingest(
        engine,
        make_bounce(["a@x.jp", "b@x.jp"], at=at(DAY1)),
        make_bounce(["c@x.jp"], subtype="OnAccountSuppressionList", at=at(DAY1)),
        make_bounce(["d@x.jp"], bounce_type="Transient", subtype="MailboxFull", at=at(day2)),
        make_bounce(["e@x.jp"], bounce_type="Undetermined", subtype="Undetermined", at=at(day2)),
        make_complaint(["f@x.jp"], at=at(day2)),
        make_delivery(["g@x.jp"], at=at(day2)),
    )
    assert bounces_by_type(engine, DAY1, day2) == [
        TypeCount(DAY1, "hard", "General", 2),
        TypeCount(DAY1, "hard", "OnAccountSuppressionList", 1),
        TypeCount(day2, "complaint", "", 1),
        TypeCount(day2, "soft", "MailboxFull", 1),
        TypeCount(day2, "undetermined", "Undetermined", 1),
    ]
    assert bounces_by_type(engine, day2, day2)[0].day == day2


def test_top_domains_ranks_domains_by_bounces_and_complaints_in_the_window(
    engine: Engine,
) -> None:
    ingest(
        engine,
        make_bounce(["a@docomo.ne.jp", "b@docomo.ne.jp"], at=at(DAY1)),
        make_bounce(["c@docomo.ne.jp"], bounce_type="Transient", subtype="General", at=at(DAY1)),
        make_complaint(["d@gmail.com"], at=at(DAY1)),
        make_bounce(["e@gmail.com"], bounce_type="Undetermined", at=at(DAY1)),
        make_bounce(["f@old.example"], at=at(DAY1 - timedelta(days=1))),
        make_delivery(["g@docomo.ne.jp"], at=at(DAY1)),
    )
    assert top_domains(engine, DAY1, DAY1) == [
        DomainCount("docomo.ne.jp", hard=2, soft=1, undetermined=0, complaints=0, total=3),
        DomainCount("gmail.com", hard=0, soft=0, undetermined=1, complaints=1, total=2),
    ]
    assert [d.domain for d in top_domains(engine, DAY1, DAY1, limit=1)] == ["docomo.ne.jp"]


def test_the_ingestion_page_counts_runs_per_day_and_what_is_stored(engine: Engine) -> None:
    ingest(engine, make_bounce(["a@x.jp", "b@x.jp"]), make_complaint(["c@x.jp"]))
    ingest(engine, make_delivery(["d@x.jp"]))
    with engine.begin() as connection:
        connection.execute(
            insert(IngestionRun.__table__),
            [
                {
                    "entry_point": "sqs",
                    "source": "queue",
                    "started_at": datetime(2020, 1, 2, 3),
                    "received": 5,
                    "stored": 4,
                    "duplicates": 1,
                    "dead_lettered": 0,
                }
            ],
        )
    [old] = ingestion_counts(engine, date(2020, 1, 1), date(2020, 1, 3))
    assert (old.day, old.entry_point, old.received, old.stored, old.duplicates) == (
        date(2020, 1, 2),
        "sqs",
        5,
        4,
        1,
    )
    runs = recent_runs(engine, limit=2)
    assert [r.stored for r in runs] == [1, 3]  # newest first
    counts = store_counts(engine)
    assert counts.total_facts == 4
    assert counts.by_kind == {"bounce": 2, "complaint": 1, "delivery": 1}
    assert counts.by_classification == {"hard": 2, "complaint": 1}
    assert counts.last_received_at is not None and counts.open_dead_letters == 0


def test_account_health_reports_an_old_official_rate_with_its_time(engine: Engine) -> None:
    metric(engine, "Reputation.BounceRate", at(DAY1, 0), 0.11)
    metric(engine, "Reputation.ComplaintRate", at(DAY1, 0), 0.0002)
    health = account_health(engine, today=DAY1 + timedelta(days=30))
    assert (health.official_bounce_rate, health.official_bounce_rate_at) == (0.11, at(DAY1, 0))
    assert (health.bounce_status, health.bounce_status_source) == (RateStatus.PAUSE, "official")
    assert health.complaint_status is RateStatus.HEALTHY
    assert health.last_metrics_at == datetime(2026, 10, 9)
