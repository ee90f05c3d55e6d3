"""The demo seed holds its story at any time of day, whatever the weekday: the clock is pinned.

Seeding just after midnight once gave 59 full days, a Sunday short of mail, and suppressions
made by events still to come. Here the history is built for a pinned ``now`` and its records
(suppression list, statistics, CloudWatch metrics) seeded into the emulator; the backlog, the
slow part of the seed, is covered by test_emulator_demo_seed.py.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from emulator.demo.history import History, build_history
from emulator.demo.metrics import metric_data
from emulator.demo.people import User, make_users
from emulator.demo.seed import DEMO_SEED, seed_records
from emulator.launch import EmulatorHandle
from tests.emulator.demo_checks import (
    DAYS,
    assert_one_bounce_incident,
    assert_one_review_episode,
    assert_sixty_full_days_in_range,
    full_days,
    hourly_bounce_rates,
    midnight,
)

SATURDAY = date(2026, 11, 28)  # the day the failure was reported
TIMES = [time(0, 5), time(12, 0), time(23, 55)]


@pytest.fixture(scope="module")
def users() -> list[User]:
    return make_users(random.Random(DEMO_SEED))


def pinned(day: date, at: time) -> datetime:
    return datetime.combine(day, at, UTC)


def assert_nothing_after(history: History, now: datetime) -> None:
    """No event, sends or suppression from after ``now``; known-valid addresses suppressed."""
    population = history.population
    assert population is not None
    assert max(e.timestamp for e in history.events) <= now
    assert max(history.quarters) < now
    assert max(s.timestamp for s in population.suppressed.values()) <= now
    assert set(population.known_valid) <= set(population.suppressed)
    hard = {r for e in history.events if e.hard_bounces for r in e.recipients}
    bounced = {a for a, s in population.suppressed.items() if s.reason == "BOUNCE"}
    assert bounced <= hard


@pytest.mark.parametrize("at", TIMES, ids=lambda at: at.strftime("%H%M"))
def test_the_seeded_account_tells_the_story_at_any_time_of_day(
    clean: EmulatorHandle, users: list[User], at: time
) -> None:
    now = pinned(SATURDAY, at)
    history = build_history(users, now, DEMO_SEED + 1)
    assert_nothing_after(history, now)
    seed_records(clean.state, clean.endpoint_url, history)

    sums = full_days(clean, now, "Send", "Delivery", "Bounce", "Complaint")
    assert_sixty_full_days_in_range(sums)
    assert_one_bounce_incident(sums["send"], sums["bounce"])
    assert_one_review_episode(hourly_bounce_rates(clean, now), now)
    suppressed = clean.state.all_suppressed()
    assert suppressed
    assert max(e.last_update_time for e in suppressed) <= now.timestamp()


def by_day(data: list[dict[str, Any]], name: str) -> dict[date, float]:
    """Daily sums of one metric's datapoints: what CloudWatch answers for a 1-day period."""
    sums: dict[date, float] = defaultdict(float)
    for datum in data:
        if datum["MetricName"] == name:
            sums[datum["Timestamp"].date()] += datum["Value"]
    return dict(sorted(sums.items()))


@pytest.mark.parametrize("at", TIMES, ids=lambda at: at.strftime("%H%M"))
@pytest.mark.parametrize("days_later", range(7))
def test_the_story_holds_on_every_weekday(users: list[User], days_later: int, at: time) -> None:
    now = pinned(SATURDAY + timedelta(days=days_later), at)
    history = build_history(users, now, DEMO_SEED + 1)
    assert_nothing_after(history, now)
    data = metric_data(history)
    sends, bounces = by_day(data, "Send"), by_day(data, "Bounce")
    first = midnight(now).date() - timedelta(days=DAYS)
    assert list(sends) == [first + timedelta(days=i) for i in range(DAYS + 1)]  # and today
    full = {"send": list(sends.values())[:-1], "bounce": list(bounces.values())[:-1]}
    assert_sixty_full_days_in_range(full)
    assert_one_bounce_incident(full["send"], full["bounce"])
    rates = [d["Value"] for d in data if d["MetricName"] == "Reputation.BounceRate"]
    assert_one_review_episode(rates, now)
