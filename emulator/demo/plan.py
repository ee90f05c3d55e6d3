"""How much mail the demo account sent each day, and how much of it bounced.

The story: a Japanese B2B service sends a couple of thousand mails a day (fewer at weekends,
mostly in Japanese office hours) with a healthy hard-bounce rate of about 0.15 %. Around
25 days ago a re-engagement campaign went to long-dormant users while one customer's mail
server wrongly rejected every recipient: the hard-bounce rate crossed the 5 % review
threshold for three days, then recovered. Counts are drawn from a seeded RNG only, never from
the clock, so the story is the same whenever it is generated.

The plan covers the DAYS full UTC days before today, then today (index DAYS) in full; the
history cuts today off at the moment of seeding, so whatever the time of day, the account
holds exactly DAYS complete days. A day's volume is drawn from a normal distribution cut at
VOLUME_SPREAD standard deviations: an everyday account has no freak days, and the volumes
stay in their range whichever days of the plan fall on a weekend.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

DAYS = 60  # full days of history before today
# Day index (0 = 60 days ago, DAYS = today) -> hard-bounce rate; the middle three cross 5 % once.
INCIDENT_RATES = {33: 0.012, 34: 0.058, 35: 0.071, 36: 0.056, 37: 0.018}
MISCONFIGURED_DAY = 35  # the customer's mail server rejected everyone that day
BASE_HARD_RATE = 0.0015
WEEKDAY_SENDS, WEEKEND_SENDS, SENDS_DEVIATION = 2300, 1100, 120
VOLUME_SPREAD = 2  # a day's sends stay within this many standard deviations of the mean
# Relative sending volume per UTC hour (JST office hours are UTC 23:00-10:00).
HOUR_WEIGHTS = [2.0, 2.2, 2.0, 1.6, 1.8, 2.0, 1.9, 1.6, 1.2, 0.9, 0.7, 0.5,
                0.4, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.4, 0.5, 0.7, 1.0, 1.6]  # fmt: skip


@dataclass(frozen=True)
class DayPlan:
    """Counts for one day; ``on_list_rate`` scales with the suppression list's size."""

    index: int
    sends: int
    hard: int
    soft: int
    undetermined: int
    complaints: int
    send_events: int
    delivery_events: int
    on_list_rate: float = 0.012

    @property
    def incident(self) -> bool:
        return self.index in INCIDENT_RATES


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson-ish count (normal approximation above 30, Knuth's method below)."""
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def day_sends(rng: random.Random, weekend: bool) -> int:
    """One day's volume: normal around the weekday or weekend mean, redrawn beyond the spread."""
    mean = WEEKEND_SENDS if weekend else WEEKDAY_SENDS
    while True:
        sends = round(rng.gauss(mean, SENDS_DEVIATION))
        if abs(sends - mean) <= VOLUME_SPREAD * SENDS_DEVIATION:
            return sends


def plan_days(rng: random.Random, weekday_of_first_day: int) -> list[DayPlan]:
    """DAYS full days and today; ``weekday_of_first_day`` (Monday = 0) places the weekends."""
    plans = []
    for index in range(DAYS + 1):
        weekend = (weekday_of_first_day + index) % 7 >= 5
        sends = day_sends(rng, weekend)
        rate = INCIDENT_RATES.get(index, BASE_HARD_RATE)
        plans.append(
            DayPlan(
                index=index,
                sends=sends,
                hard=max(1, round(sends * rate))
                if index in INCIDENT_RATES
                else poisson(rng, sends * rate),
                soft=poisson(rng, 5.0),
                undetermined=poisson(rng, 0.5),
                complaints=1 if index % 4 == 2 else 0,  # rare and regular: < 0.1 %
                send_events=10,
                delivery_events=20,
            )
        )
    return plans


def quarter_sends(rng: random.Random, sends: int) -> list[int]:
    """Split a day's sends over its 96 quarter-hours, following HOUR_WEIGHTS with jitter."""
    weights = [HOUR_WEIGHTS[q // 4] * rng.uniform(0.8, 1.2) for q in range(96)]
    total = sum(weights)
    exact = [sends * w / total for w in weights]
    counts = [math.floor(x) for x in exact]
    by_remainder = sorted(range(96), key=lambda q: exact[q] - counts[q], reverse=True)
    for q in by_remainder[: sends - sum(counts)]:
        counts[q] += 1
    return counts
