"""Sixty days of SES events for the demo users, consistent with the suppression list.

Every hard bounce puts its address on the suppression list (as SES does); later mail to a
suppressed address comes back as ``Permanent/OnAccountSuppressionList``. The known-valid
addresses are suppressed ones that staff have since confirmed: the users of one customer
whose mail server wrongly rejected everyone on the incident day, and a few others. Send and
Delivery events are a *sample* (a few dozen a day); the full volume is in the metrics.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from emulator.demo.people import User, is_dead_domain
from emulator.demo.plan import DAYS, MISCONFIGURED_DAY, DayPlan, plan_days, poisson, quarter_sends
from emulator.demo.population import Population

QUARTER = timedelta(minutes=15)
SOFT_SUBTYPES = (["MailboxFull"] * 5) + (["General"] * 3) + ["MessageTooLarge", "ContentRejected"]


@dataclass(frozen=True)
class Event:
    """One SES notification to publish: who, when, what, and in which JSON family."""

    kind: str  # Send | Delivery | Bounce | Complaint
    timestamp: datetime  # when SES reports it; the mail left a moment earlier
    recipients: tuple[str, ...]
    destination: tuple[str, ...]
    shape: str  # "event" (eventType, configuration set) | "feedback" (notificationType)
    message_id: str
    feedback_id: str | None = None
    bounce_type: str | None = None
    bounce_subtype: str | None = None
    campaign: bool = False
    misconfigured: bool = False

    @property
    def bounces(self) -> int:
        """Recipients that count as bounces in SES's metrics (suppression-list ones do not)."""
        if self.kind != "Bounce" or self.bounce_subtype == "OnAccountSuppressionList":
            return 0
        return len(self.recipients)

    @property
    def hard_bounces(self) -> int:
        """Recipients that count toward the reputation bounce rate."""
        return self.bounces if self.bounce_type == "Permanent" else 0

    @property
    def complaints(self) -> int:
        return len(self.recipients) if self.kind == "Complaint" else 0


@dataclass
class History:
    """The generated past: events in time order and sends per quarter-hour."""

    events: list[Event] = field(default_factory=list)
    quarters: dict[datetime, int] = field(default_factory=dict)
    population: Population | None = None


def build_history(users: list[User], now: datetime, seed: int) -> History:
    """The DAYS full UTC days before ``now``'s date, and that day up to ``now``.

    Every day is generated in full (so the account depends on the seed and ``now``'s date
    only), then whatever lies after ``now`` is cut off: events, the sends of the quarter-hours
    still to come (the current one pro rata) and the suppressions those events made.
    """
    rng = random.Random(seed)
    first = now.astimezone(UTC).date() - timedelta(days=DAYS)
    population = Population(users, rng)
    history = History(population=population)
    for plan in plan_days(rng, first.weekday()):
        _add_day(history, plan, first + timedelta(days=plan.index), rng)
    history.events = sorted((e for e in history.events if e.timestamp <= now), key=_when)
    history.quarters = {
        q: round(n * min(1.0, (now - q) / QUARTER)) for q, n in history.quarters.items() if q < now
    }
    population.forget_after(now)
    return history


def _when(event: Event) -> datetime:
    return event.timestamp


def _add_day(history: History, plan: DayPlan, day: date, rng: random.Random) -> None:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    counts = quarter_sends(rng, plan.sends)
    for q, count in enumerate(counts):
        history.quarters[start + q * QUARTER] = count

    def moment() -> datetime:
        q = rng.choices(range(96), weights=counts)[0]
        return start + q * QUARTER + timedelta(seconds=rng.uniform(0, 899))

    assert history.population is not None
    maker = _EventMaker(history.population, rng, moment, start)
    events = maker.hard_bounces(plan)
    events += maker.soft_bounces(plan)
    events += maker.complaints(plan)
    events += maker.on_list_bounces(plan)
    events += maker.samples(plan)
    history.events.extend(events)


class _EventMaker:
    """Draws one day's events from the population, updating its suppression list."""

    def __init__(
        self,
        population: Population,
        rng: random.Random,
        moment: Callable[[], datetime],
        day_start: datetime,
    ) -> None:
        self.pop = population
        self.rng = rng
        self.moment = moment
        self.day_start = day_start

    def _event(
        self,
        kind: str,
        recipients: list[str],
        bounce_type: str | None = None,
        bounce_subtype: str | None = None,
        campaign: bool = False,
        misconfigured: bool = False,
    ) -> Event:
        when = self.moment()
        shape = "event" if kind == "Send" or self.rng.random() < 0.55 else "feedback"
        destination = list(recipients)
        if kind == "Bounce" and self.rng.random() < 0.08:
            destination.append(self.pop.pick_active())  # a co-recipient who got the mail
        return Event(
            kind,
            when,
            tuple(recipients),
            tuple(destination),
            shape,
            self.pop.message_id(when),
            self.pop.feedback_id(when) if kind in ("Bounce", "Complaint") else None,
            bounce_type,
            bounce_subtype,
            campaign,
            misconfigured,
        )

    def hard_bounces(self, plan: DayPlan) -> list[Event]:
        events: list[Event] = []
        remaining = plan.hard
        if plan.index == MISCONFIGURED_DAY:
            batch = self.pop.misconfigured_users(30)
            events += self._grouped(batch, "General", misconfigured=True)
            remaining -= len(batch)
        for _ in range(max(0, remaining)):
            address = self.pop.pick_hard(campaign=plan.incident)
            if is_dead_domain(address):
                subtype = "NoEmail"
            else:
                subtype = "Suppressed" if self.rng.random() < 0.12 else "General"
            events += self._grouped([address], subtype, campaign=plan.incident)
            if subtype == "General" and not plan.incident:
                self.pop.maybe_mark_valid(address)
        return events

    def _grouped(
        self,
        addresses: list[str],
        subtype: str,
        campaign: bool = False,
        misconfigured: bool = False,
    ) -> list[Event]:
        """Hard bounces, several recipients of one mail sometimes bouncing together."""
        events = []
        while addresses:
            size = min(len(addresses), self.rng.choice([1, 2, 2, 3] if misconfigured else [1]))
            group, addresses = addresses[:size], addresses[size:]
            event = self._event("Bounce", group, "Permanent", subtype, campaign, misconfigured)
            for address in group:
                self.pop.suppress(address, "BOUNCE", event)
            events.append(event)
        return events

    def soft_bounces(self, plan: DayPlan) -> list[Event]:
        events = [
            self._event(
                "Bounce",
                [self.pop.pick_flaky()],
                bounce_type="Transient",
                bounce_subtype=self.rng.choice(SOFT_SUBTYPES),
            )
            for _ in range(plan.soft)
        ]
        events += [
            self._event(
                "Bounce",
                [self.pop.pick_active()],
                bounce_type="Undetermined",
                bounce_subtype="Undetermined",
            )
            for _ in range(plan.undetermined)
        ]
        return events

    def complaints(self, plan: DayPlan) -> list[Event]:
        events = []
        for _ in range(plan.complaints):
            event = self._event("Complaint", [self.pop.pick_active()])
            self.pop.suppress(event.recipients[0], "COMPLAINT", event)
            events.append(event)
        return events

    def on_list_bounces(self, plan: DayPlan) -> list[Event]:
        count = poisson(self.rng, self.pop.suppressed_count(self.day_start) * plan.on_list_rate)
        return [
            self._event(
                "Bounce",
                [address],
                bounce_type="Permanent",
                bounce_subtype="OnAccountSuppressionList",
            )
            for address in self.pop.pick_suppressed(count, before=self.day_start)
        ]

    def samples(self, plan: DayPlan) -> list[Event]:
        kinds = ["Send"] * plan.send_events + ["Delivery"] * plan.delivery_events
        return [self._event(kind, self._audience()) for kind in kinds]

    def _audience(self) -> list[str]:
        """Mostly one recipient; sometimes a mail to a small team."""
        size = self.rng.choice([1] * 9 + [2, 3])
        return list(dict.fromkeys(self.pop.pick_active() for _ in range(size)))
