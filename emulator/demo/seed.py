"""Seed a running emulator with the demo account.

Emulator state (suppression list, send statistics) is set through
:class:`emulator.state.EmulatorState`; everything moto holds (SNS topic, SQS queue, the
notification backlog, CloudWatch metrics) goes through boto3 against the server's own
endpoint, i.e. through moto's public API.
"""

from __future__ import annotations

import contextlib
import csv
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from emulator import ACCOUNT_ID, REGION
from emulator.clients import make_client
from emulator.demo.bulk import CONFIGURATION_SETS, bulk_messages
from emulator.demo.history import Event, History, build_history
from emulator.demo.messages import notification
from emulator.demo.metrics import NAMESPACE, metric_data, put_metrics, tallies
from emulator.demo.people import User, make_users, write_users_csv
from emulator.moto_internals import clear_metrics, mark_queue
from emulator.state import EmulatorState, make_entry

DEMO_SEED = 20240501
RESOURCE_NAME = "bouncedesk-demo"
REDELIVERED = 12  # SNS delivers at least once: a few envelopes arrive twice


@dataclass(frozen=True)
class Wiring:
    topic_arn: str
    queue_url: str


@dataclass
class DemoAccount:
    """What the seed produced, kept for the trickle and for the ready file."""

    users: list[User]
    history: History
    users_csv: Path
    known_valid_csv: Path


def wire_notifications(endpoint_url: str, name: str = RESOURCE_NAME) -> Wiring:
    """An SNS topic subscribed by an SQS queue, raw delivery off (bodies are envelopes)."""
    sns, sqs = make_client("sns", endpoint_url), make_client("sqs", endpoint_url)
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    topic_arn = sns.create_topic(Name=name)["TopicArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    mark_queue(ACCOUNT_ID, REGION, name)  # keeps filling the backlog linear, see moto_internals
    return Wiring(topic_arn, queue_url)


def seed_demo(
    state: EmulatorState,
    endpoint_url: str,
    wiring: Wiring,
    users_csv: Path,
    known_valid_csv: Path,
    now: datetime | None = None,
    seed: int = DEMO_SEED,
) -> DemoAccount:
    """Users, the history up to ``now`` (default: the clock), and everything made of it.

    The history holds the 60 full UTC days before ``now``'s date and that day up to ``now``.
    """
    now = now or datetime.now(UTC)
    users = make_users(random.Random(seed))
    history = build_history(users, now, seed + 1)
    write_users_csv(users, users_csv)
    _write_known_valid(history, {u.email: u for u in users}, known_valid_csv)
    seed_records(state, endpoint_url, history)
    sqs = make_client("sqs", endpoint_url)
    with contextlib.suppress(sqs.exceptions.PurgeQueueInProgress):
        sqs.purge_queue(QueueUrl=wiring.queue_url)
    publish_backlog(endpoint_url, wiring, history, users, random.Random(seed + 2))
    publish_bulk_stream(endpoint_url, wiring, now, random.Random(seed + 3))
    return DemoAccount(users, history, users_csv, known_valid_csv)


def seed_records(state: EmulatorState, endpoint_url: str, history: History) -> None:
    """The suppression list, send statistics, account and CloudWatch metrics of ``history``."""
    _seed_state(state, history)
    # moto's data outlives an emulator in the same process: start the demo's part afresh.
    clear_metrics(ACCOUNT_ID, REGION, NAMESPACE)
    put_metrics(make_client("cloudwatch", endpoint_url), metric_data(history))


def _seed_state(state: EmulatorState, history: History) -> None:
    population = history.population
    assert population is not None
    state.put_many_suppressed(
        make_entry(s.address, s.reason, s.timestamp, s.message_id, s.feedback_id)
        for s in population.suppressed.values()
    )
    for start, tally in tallies(history, timedelta(minutes=15)).items():
        state.record_sending(
            start,
            delivery_attempts=tally.sends,
            bounces=tally.bounces,
            complaints=tally.complaints,
        )
    state.set_account(enforcement_status="HEALTHY", sending_enabled=True)
    for name in CONFIGURATION_SETS:
        state.create_configuration_set(name)


def publish_backlog(
    endpoint_url: str, wiring: Wiring, history: History, users: list[User], rng: random.Random
) -> int:
    """Publish every event through SNS (10 a call), then re-deliver a few envelopes."""
    sns = make_client("sns", endpoint_url)
    by_email = {u.email: u for u in users}
    entries = [_entry(i, event, by_email, rng) for i, event in enumerate(history.events)]
    for start in range(0, len(entries), 10):
        sns.publish_batch(
            TopicArn=wiring.topic_arn, PublishBatchRequestEntries=entries[start : start + 10]
        )
    _redeliver(make_client("sqs", endpoint_url), wiring.queue_url, REDELIVERED)
    return len(entries) + REDELIVERED


def publish_bulk_stream(
    endpoint_url: str, wiring: Wiring, now: datetime, rng: random.Random
) -> int:
    """The newsletter stream of the last week (emulator.demo.bulk), through SNS."""
    sns = make_client("sns", endpoint_url)
    entries = [
        {"Id": f"b{i}", "Message": message, "Subject": "Amazon SES Email Event Notification"}
        for i, message in enumerate(bulk_messages(now, rng))
    ]
    for start in range(0, len(entries), 10):
        sns.publish_batch(
            TopicArn=wiring.topic_arn, PublishBatchRequestEntries=entries[start : start + 10]
        )
    return len(entries)


def publish_event(
    sns: Any, topic_arn: str, event: Event, users: dict[str, User], rng: random.Random
) -> None:
    message, subject = notification(event, users, rng)
    extra = {"Subject": subject} if subject else {}
    sns.publish(TopicArn=topic_arn, Message=message, **extra)


def _entry(index: int, event: Event, users: dict[str, User], rng: random.Random) -> dict[str, Any]:
    message, subject = notification(event, users, rng)
    entry = {"Id": f"e{index}", "Message": message}
    if subject:
        entry["Subject"] = subject
    return entry


def _redeliver(sqs: Any, queue_url: str, count: int) -> None:
    """Copy a few envelopes back into the queue unchanged: same SNS MessageId, twice."""
    received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0)
    bodies = [m["Body"] for m in received.get("Messages", [])]
    for body in (bodies * 2)[:count]:
        sqs.send_message(QueueUrl=queue_url, MessageBody=body)


def _write_known_valid(history: History, users: dict[str, User], path: Path) -> Path:
    """``email,user_id,note``: suppressed addresses staff have confirmed to be valid."""
    population = history.population
    assert population is not None
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "user_id", "note"])
        for email, note in sorted(population.known_valid.items()):
            writer.writerow([email, users[email].user_id, note])
    return path
