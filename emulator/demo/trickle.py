"""A slow live trickle of notifications while the demo runs, so "new events" show up.

Each tick is one mail: mostly delivered, sometimes a soft or hard bounce, a bounce from the
suppression list, or a complaint. A hard bounce or complaint also lands on the suppression
list, and every tick adds to the send statistics and the CloudWatch counts (not to the
reputation rates, which only the seed computes).
"""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime

from emulator.clients import make_client
from emulator.demo.history import SOFT_SUBTYPES, Event
from emulator.demo.metrics import NAMESPACE, event_metric_data
from emulator.demo.people import User, is_dead_domain
from emulator.demo.population import Population
from emulator.demo.seed import Wiring, publish_event
from emulator.state import EmulatorState

# (weight, kind, bounce type, bounce subtype)
MIX = [
    (70, "Delivery", None, None),
    (10, "Bounce", "Transient", "soft"),
    (6, "Bounce", "Permanent", "General"),
    (8, "Bounce", "Permanent", "OnAccountSuppressionList"),
    (4, "Complaint", None, None),
    (2, "Bounce", "Undetermined", "Undetermined"),
]


class Trickle:
    """Publishes one event every ``interval`` seconds on a daemon thread until stopped."""

    def __init__(
        self,
        state: EmulatorState,
        endpoint_url: str,
        wiring: Wiring,
        population: Population,
        users: list[User],
        interval: float = 5.0,
        seed: int = 1,
    ) -> None:
        self.state = state
        self.wiring = wiring
        self.population = population
        self.users = {u.email: u for u in users}
        self.interval = interval
        self.rng = random.Random(seed)
        self.published = 0
        self._sns = make_client("sns", endpoint_url)
        self._cloudwatch = make_client("cloudwatch", endpoint_url)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ses-emulator-trickle", daemon=True)

    def start(self) -> Trickle:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - a failed tick must not end the demo's trickle
                continue

    def tick(self) -> Event:
        """Make, record and publish one event now."""
        event = self._next_event(datetime.now(UTC))
        self._record(event)
        publish_event(self._sns, self.wiring.topic_arn, event, self.users, self.rng)
        self.published += 1
        return event

    def _next_event(self, now: datetime) -> Event:
        _, kind, bounce_type, subtype = self.rng.choices(MIX, weights=[m[0] for m in MIX])[0]
        pop = self.population
        if subtype == "OnAccountSuppressionList" and pop.suppressed:
            address = pop.pick_suppressed(1, before=now)[0]
        elif subtype == "soft":
            address, subtype = pop.pick_flaky(), self.rng.choice(SOFT_SUBTYPES)
        elif subtype == "General":
            address = pop.pick_hard(campaign=False)
            subtype = "NoEmail" if is_dead_domain(address) else subtype
        else:
            address = pop.pick_active()
            if subtype == "OnAccountSuppressionList":
                kind, bounce_type, subtype = "Delivery", None, None
        shape = "event" if self.rng.random() < 0.55 else "feedback"
        feedback = pop.feedback_id(now) if kind != "Delivery" else None
        return Event(
            kind,
            now,
            (address,),
            (address,),
            shape,
            pop.message_id(now),
            feedback,
            bounce_type,
            subtype,
        )

    def _record(self, event: Event) -> None:
        if event.hard_bounces or event.complaints:
            reason = "COMPLAINT" if event.complaints else "BOUNCE"
            self.population.suppress(event.recipients[0], reason, event)
            self.state.put_suppressed(
                event.recipients[0], reason, event.timestamp, event.message_id, event.feedback_id
            )
        self.state.record_sending(
            event.timestamp,
            delivery_attempts=len(event.destination),
            bounces=event.bounces,
            complaints=event.complaints,
        )
        data = event_metric_data(event, event.timestamp)
        self._cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=data)
