"""The demo history as CloudWatch ``AWS/SES`` metrics and SES v1 send statistics.

Definitions (SES publishes no formula, these keep the numbers mutually consistent):
- ``Send`` = mails sent; ``Bounce`` = bounced recipients *except* OnAccountSuppressionList
  (those are not counted by SES); ``Delivery`` = Send minus all bounces; ``Complaint``.
- ``Reputation.BounceRate`` = hard bounces (Permanent, not OnAccountSuppressionList) over
  sends of the most recent hours holding at least REPRESENTATIVE_SENDS mails (SES speaks of a
  "representative volume"), published hourly; ``Reputation.ComplaintRate`` likewise. The
  story has one review episode, so between the first and the last hour at or above 5 % the
  bounce rate is held at 5 % at least (hourly noise would otherwise dip under and back).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from emulator.demo.history import Event, History

NAMESPACE = "AWS/SES"
REPRESENTATIVE_SENDS = 5000
REVIEW_THRESHOLD = 0.05
BATCH = 500


@dataclass
class Tally:
    """Counts for one time slot."""

    sends: int = 0
    bounces: int = 0
    hard: int = 0
    on_list: int = 0
    complaints: int = 0

    def add(self, event: Event) -> None:
        self.bounces += event.bounces
        self.hard += event.hard_bounces
        self.complaints += event.complaints
        if event.bounce_subtype == "OnAccountSuppressionList":
            self.on_list += len(event.recipients)


def tallies(history: History, slot: timedelta) -> dict[datetime, Tally]:
    """Sends and events per slot (an hour or a quarter-hour), keyed by slot start."""
    seconds = int(slot.total_seconds())
    result: dict[datetime, Tally] = defaultdict(Tally)
    for start, sends in history.quarters.items():
        result[_floor(start, seconds)].sends += sends
    for event in history.events:
        result[_floor(event.timestamp, seconds)].add(event)
    return dict(sorted(result.items()))


def metric_data(history: History) -> list[dict[str, Any]]:
    """Hourly datapoints for Send, Delivery, Bounce, Complaint and the two reputation rates."""
    hours = tallies(history, timedelta(hours=1))
    data: list[dict[str, Any]] = []
    bounce_rates: list[float] = []
    # The weeks before the history were ordinary: seed the window with baseline volume.
    window = [Tally(sends=REPRESENTATIVE_SENDS, hard=7, complaints=1)]
    for hour, tally in hours.items():
        window = _representative(window + [tally])
        sends = sum(t.sends for t in window) or 1
        complaint_rate = sum(t.complaints for t in window) / sends
        bounce_rates.append(sum(t.hard for t in window) / sends)
        data += [
            _datum("Send", hour, tally.sends, "Count"),
            _datum("Delivery", hour, max(0, tally.sends - tally.bounces - tally.on_list), "Count"),
            _datum("Bounce", hour, tally.bounces, "Count"),
            _datum("Complaint", hour, tally.complaints, "Count"),
            _datum("Reputation.ComplaintRate", hour, complaint_rate, "None"),
        ]
    rates = _one_episode(bounce_rates, REVIEW_THRESHOLD)
    data += [
        _datum("Reputation.BounceRate", h, r, "None") for h, r in zip(hours, rates, strict=True)
    ]
    return data


def _one_episode(rates: list[float], threshold: float) -> list[float]:
    """Hold the series at ``threshold`` between its first and last value at or above it."""
    above = [i for i, rate in enumerate(rates) if rate >= threshold]
    if not above:
        return rates
    first, last = above[0], above[-1]
    return [max(r, threshold) if first <= i <= last else r for i, r in enumerate(rates)]


def _representative(window: list[Tally]) -> list[Tally]:
    """The shortest tail of ``window`` holding at least REPRESENTATIVE_SENDS sends."""
    total = 0
    for index in range(len(window) - 1, -1, -1):
        total += window[index].sends
        if total >= REPRESENTATIVE_SENDS:
            return window[index:]
    return window


def put_metrics(cloudwatch: Any, data: list[dict[str, Any]]) -> None:
    for start in range(0, len(data), BATCH):
        cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=data[start : start + BATCH])


def event_metric_data(event: Event, when: datetime) -> list[dict[str, Any]]:
    """The count datapoints one live (trickled) event adds."""
    data = [_datum("Send", when, len(event.destination), "Count")]
    if event.kind == "Delivery":
        data.append(_datum("Delivery", when, len(event.recipients), "Count"))
    if event.bounces:
        data.append(_datum("Bounce", when, event.bounces, "Count"))
    if event.complaints:
        data.append(_datum("Complaint", when, event.complaints, "Count"))
    return data


def _datum(name: str, when: datetime, value: float, unit: str) -> dict[str, Any]:
    return {"MetricName": name, "Timestamp": when, "Value": float(value), "Unit": unit}


def _floor(moment: datetime, seconds: int) -> datetime:
    stamp = int(moment.timestamp()) // seconds * seconds
    return datetime.fromtimestamp(stamp, moment.tzinfo)
