"""The demo generator on its own: notification shapes, the story's numbers, the trickle."""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from emulator import ACCOUNT_ID, REGION
from emulator.demo.history import Event, build_history
from emulator.demo.messages import EVENT_SUBJECT, notification
from emulator.demo.metrics import metric_data
from emulator.demo.people import make_users
from emulator.demo.seed import DEMO_SEED, Wiring
from emulator.demo.trickle import Trickle
from emulator.launch import EmulatorHandle
from emulator.moto_internals import clear_metrics

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def users() -> list[Any]:
    return make_users(random.Random(DEMO_SEED))


@pytest.fixture(scope="module")
def history(users: list[Any]) -> Any:
    return build_history(users, NOW, DEMO_SEED + 1)


def example(history: Any, kind: str, shape: str, subtype: str | None = None) -> Event:
    return next(
        e
        for e in history.events
        if e.kind == kind and e.shape == shape and (subtype is None or e.bounce_subtype == subtype)
    )


@pytest.mark.parametrize(
    ("kind", "shape", "sample"),
    [
        ("Bounce", "event", "ses_event_bounce_permanent_general_docs.json"),
        ("Complaint", "event", "ses_event_complaint_abuse_docs.json"),
        ("Delivery", "event", "ses_event_delivery_docs.json"),
        ("Send", "event", "ses_event_send_docs.json"),
        ("Bounce", "feedback", "ses_feedback_bounce_permanent_general_with_dsn_docs.json"),
        ("Delivery", "feedback", "ses_feedback_delivery_docs.json"),
        ("Complaint", "feedback", "ses_feedback_complaint_abuse_with_feedback_report_docs.json"),
    ],
)
def test_generated_notifications_have_the_documented_shape(
    history: Any,
    users: list[Any],
    load_sample: Callable[[str], Any],
    kind: str,
    shape: str,
    sample: str,
) -> None:
    expected = load_sample(sample)
    subtype = "General" if kind == "Bounce" else None
    event = example(history, kind, shape, subtype)
    message, subject = notification(event, {u.email: u for u in users}, random.Random(1))
    generated = json.loads(message)
    assert set(generated) == set(expected)
    mail_keys = set(expected["mail"]) | {"tags"} if shape == "event" else set(expected["mail"])
    assert set(generated["mail"]) == mail_keys
    detail = kind.lower()
    # Optional members: the docs examples omit some that real messages carry.
    optional = {"reportingMTA", "remoteMtaIp", "complaintSubType"}
    assert set(generated[detail]) <= set(expected[detail]) | optional
    assert subject == (EVENT_SUBJECT if shape == "event" else None)
    assert message.endswith("\n") == (shape == "event")


def test_an_event_complaint_matches_a_real_signed_ses_message(
    history: Any, users: list[Any], load_sample: Callable[[str], Any]
) -> None:
    envelope = load_sample(
        "sns_real_signed_ses_event_complaint_simulator_sigv1_2022_djangoses.json"
    )
    real = json.loads(envelope["Message"])
    event = example(history, "Complaint", "event")
    generated = json.loads(notification(event, {u.email: u for u in users}, random.Random(1))[0])
    assert set(generated["complaint"]) == set(real["complaint"])
    assert generated["complaint"]["complaintSubType"] is None


def test_the_history_is_the_same_for_the_same_seed_and_day(users: list[Any], history: Any) -> None:
    again = build_history(users, NOW, DEMO_SEED + 1)
    assert [(e.message_id, e.recipients) for e in again.events] == [
        (e.message_id, e.recipients) for e in history.events
    ]


def test_nothing_happens_after_now(history: Any) -> None:
    assert max(e.timestamp for e in history.events) <= NOW
    assert max(history.quarters) <= NOW


@pytest.mark.parametrize("days_later", range(7))
def test_the_reputation_rate_crosses_five_percent_once_whatever_the_weekday(
    users: list[Any], days_later: int
) -> None:
    later = build_history(
        users, NOW + timedelta(days=days_later, hours=5 * days_later), DEMO_SEED + 1
    )
    data = metric_data(later)
    bounce = [d["Value"] for d in data if d["MetricName"] == "Reputation.BounceRate"]
    complaint = [d["Value"] for d in data if d["MetricName"] == "Reputation.ComplaintRate"]
    assert sum(1 for a, b in zip(bounce, bounce[1:], strict=False) if a < 0.05 <= b) == 1
    assert max(complaint) < 0.001


def test_message_ids_look_like_ses_message_ids(history: Any) -> None:
    first = history.events[0].message_id
    head, *_, tail = first.split("-")
    assert len(head) == 16 and head.startswith("01000") and tail == "000000"
    assert len({e.message_id for e in history.events}) == len(history.events)


def test_the_trickle_publishes_and_suppresses_hard_bounces(
    clean: EmulatorHandle, users: list[Any]
) -> None:
    population = build_history(users, NOW, DEMO_SEED + 1).population
    assert population is not None
    trickle = Trickle(
        clean.state,
        clean.endpoint_url,
        Wiring(clean.topic_arn, clean.queue_url),
        population,
        users,
        interval=60,
    )
    events = [trickle.tick() for _ in range(40)]
    kinds = Counter(e.kind for e in events)
    assert kinds["Delivery"] > 0 and kinds["Bounce"] > 0
    for event in events:
        if event.hard_bounces or event.complaints:
            assert clean.state.get_suppressed(event.recipients[0]) is not None
    sqs = clean.client("sqs")
    received = 0
    while batch := sqs.receive_message(QueueUrl=clean.queue_url, MaxNumberOfMessages=10).get(
        "Messages"
    ):
        received += len(batch)
        for message in batch:
            sqs.delete_message(QueueUrl=clean.queue_url, ReceiptHandle=message["ReceiptHandle"])
    assert received == 40
    assert clean.admin.state()["send_statistics_buckets"] >= 1


def test_the_trickle_thread_starts_and_stops(clean: EmulatorHandle, users: list[Any]) -> None:
    population = build_history(users, NOW, DEMO_SEED + 1).population
    assert population is not None
    wiring = Wiring(clean.topic_arn, clean.queue_url)
    trickle = Trickle(clean.state, clean.endpoint_url, wiring, population, users, interval=0.05)
    trickle.start()
    deadline = datetime.now(UTC) + timedelta(seconds=5)
    while trickle.published < 3 and datetime.now(UTC) < deadline:
        time.sleep(0.01)
    trickle.stop()
    assert trickle.published >= 3


def test_clearing_the_demo_namespace_leaves_other_metrics(clean: EmulatorHandle) -> None:
    cloudwatch = clean.client("cloudwatch")
    for namespace in ("AWS/SES", "Other"):
        cloudwatch.put_metric_data(
            Namespace=namespace, MetricData=[{"MetricName": "Send", "Value": 1.0}]
        )
    assert clear_metrics(ACCOUNT_ID, REGION, "AWS/SES")
    assert cloudwatch.list_metrics(Namespace="AWS/SES")["Metrics"] == []
    assert cloudwatch.list_metrics(Namespace="Other")["Metrics"]
