"""core.ingest.sqs with moto: a message leaves the queue only once what it holds is committed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from core.cli.main import main
from core.ingest import pipeline as ingest_module
from core.ingest.pipeline import Ingester
from core.ingest.sqs import poll_forever, poll_once
from core.store.db import make_engine
from tests.ingest_factories import count, make_bounce, make_send, rows, sns_envelope

CLOSED_PORT_URL = "postgresql+psycopg://postgres@127.0.0.1:1/nothing"


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "BOUNCEDESK_AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


@pytest.fixture
def queue(sqs: Any) -> str:
    # Visibility 0: a message that was not deleted is immediately receivable again.
    url: str = sqs.create_queue(QueueName="ses-events", Attributes={"VisibilityTimeout": "0"})[
        "QueueUrl"
    ]
    return url


def send(sqs: Any, queue: str, *bodies: str) -> None:
    for body in bodies:
        sqs.send_message(QueueUrl=queue, MessageBody=body)


def on_queue(sqs: Any, queue: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def body(payload: Any) -> str:
    return json.dumps(sns_envelope(payload))


def poll(sqs: Any, queue: str, engine: Engine, max_messages: int = 10) -> Any:
    ingester = Ingester(engine, entry_point="sqs")
    return poll_once(sqs, queue, ingester, max_messages=max_messages, wait_seconds=0)


class RecordingSqs:
    """The moto client, with the order of receive / delete calls written down."""

    def __init__(self, client: Any, log: list[str]) -> None:
        self.client, self.log = client, log

    def receive_message(self, **kwargs: Any) -> Any:
        self.log.append("receive")
        return self.client.receive_message(**kwargs)

    def delete_message_batch(self, **kwargs: Any) -> Any:
        self.log.append(f"delete {len(kwargs['Entries'])}")
        return self.client.delete_message_batch(**kwargs)


def test_messages_are_deleted_only_after_their_facts_are_committed(
    sqs: Any, queue: str, sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    send(sqs, queue, *(body(make_bounce([f"u{n}@example.com"])) for n in range(3)))
    log: list[str] = []
    real_write = ingest_module._write_with_retry

    def write(engine: Engine, batch: Any, *rest: Any, **knobs: Any) -> Any:
        written = real_write(engine, batch, *rest, **knobs)  # returns once committed
        log.append(f"commit {count(sqlite_engine, 'facts')} facts")
        return written

    monkeypatch.setattr(ingest_module, "_write_with_retry", write)
    report = poll(RecordingSqs(sqs, log), queue, sqlite_engine, max_messages=3)
    assert log == ["receive", "commit 3 facts", "delete 3"]
    assert (report.messages, report.deleted, report.left_on_queue) == (3, 3, 0)
    assert on_queue(sqs, queue) == 0


def test_with_the_database_unreachable_messages_stay_on_the_queue(
    sqs: Any, queue: str, sqlite_engine: Engine
) -> None:
    send(sqs, queue, body(make_bounce()), body(make_send()), "not json")
    report = poll(sqs, queue, make_engine(CLOSED_PORT_URL), max_messages=3)
    assert (report.messages, report.deleted, report.left_on_queue) == (3, 0, 3)
    assert report.errors and "database error" in report.errors[0]
    assert on_queue(sqs, queue) == 3
    # Nothing was lost: once the database is back, every message is stored.
    later = poll(sqs, queue, sqlite_engine, max_messages=3)
    assert (later.summary.stored, later.summary.dead_lettered, later.deleted) == (2, 1, 3)
    assert on_queue(sqs, queue) == 0


def test_a_failing_transaction_marks_nothing_stored_and_keeps_the_messages(
    sqs: Any, queue: str, sqlite_engine: Engine
) -> None:
    with sqlite_engine.begin() as connection:
        connection.execute(text("DROP TABLE daily_counts"))  # fails after facts were inserted
    send(sqs, queue, body(make_bounce(["a@example.com", "b@example.com"])))
    report = poll(sqs, queue, sqlite_engine, max_messages=1)
    assert (report.deleted, report.left_on_queue) == (0, 1)
    assert count(sqlite_engine, "facts") == 0
    assert count(sqlite_engine, "address_summaries") == 0
    assert count(sqlite_engine, "dead_letters") == 0
    [(entry_point, error)] = rows(sqlite_engine, "ingestion_runs", "entry_point", "error")
    assert entry_point == "sqs" and "daily_counts" in error
    assert on_queue(sqs, queue) == 1


def test_a_bad_message_is_dead_lettered_and_deleted_while_good_ones_are_stored(
    sqs: Any, queue: str, engine: Engine
) -> None:
    bad = '{"Type": "Notification", "Message": "{\\"eventType\\": \\"Bounce\\"'
    send(sqs, queue, body(make_bounce(["a@example.com"])), bad, body(make_send()))
    report = poll(sqs, queue, engine, max_messages=3)
    assert (report.summary.stored, report.summary.dead_lettered) == (2, 1)
    assert report.deleted == 3
    assert on_queue(sqs, queue) == 0
    [(raw, code, source)] = rows(engine, "dead_letters", "raw", "reason_code", "source")
    assert (bytes(raw), code) == (bad.encode(), "not_json")
    assert source.startswith("sqs:")


def test_a_message_whose_commit_fails_alone_stays_while_the_others_are_deleted(
    sqs: Any, queue: str, sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = ingest_module.write_batch

    def refuse_poison(connection: Any, batch: Any, now: Any, *rest: Any) -> Any:
        if any(fact.address == "poison@example.com" for fact in batch.facts):
            raise OperationalError("INSERT INTO facts", {}, Exception("value out of range"))
        return real(connection, batch, now, *rest)

    monkeypatch.setattr(ingest_module, "write_batch", refuse_poison)
    good = [body(make_bounce([f"ok{n}@example.com"])) for n in range(2)]
    send(sqs, queue, good[0], body(make_bounce(["poison@example.com"])), good[1])
    report = poll(sqs, queue, sqlite_engine, max_messages=3)
    assert (report.deleted, report.left_on_queue) == (2, 1)
    assert rows(sqlite_engine, "facts", "address") == [("ok0@example.com",), ("ok1@example.com",)]
    [(left,)] = [
        (m["Body"],)
        for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    ]
    assert "poison@example.com" in left


def test_a_redelivered_message_is_counted_as_duplicate_and_deleted(
    sqs: Any, queue: str, sqlite_engine: Engine
) -> None:
    message = body(make_bounce(["a@example.com", "b@example.com"]))
    send(sqs, queue, message)
    poll(sqs, queue, sqlite_engine, max_messages=1)
    send(sqs, queue, message)
    again = poll(sqs, queue, sqlite_engine, max_messages=1)
    assert (again.summary.stored, again.summary.duplicates, again.deleted) == (0, 2, 1)
    assert count(sqlite_engine, "facts") == 2


def test_poll_sqs_stores_and_exits_zero(
    sqs: Any, queue: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    send(sqs, queue, body(make_bounce(["a@example.com", "b@example.com"])))
    url = f"sqlite:///{tmp_path / 'poll.db'}"
    code = main(
        ["--database-url", url, "poll-sqs", queue, "--once", "--wait-seconds", "0"]
        + ["--max-messages", "1"]
    )
    assert code == 0
    assert "1 message(s): received 1, stored 2" in capsys.readouterr().out
    assert on_queue(sqs, queue) == 0


def test_poll_sqs_exits_non_zero_when_the_database_is_unavailable(
    sqs: Any, queue: str, capsys: pytest.CaptureFixture[str]
) -> None:
    send(sqs, queue, body(make_bounce()))
    code = main(
        ["poll-sqs", queue, "--once", "--wait-seconds", "0", "--max-messages", "1"]
        + ["--database-url", CLOSED_PORT_URL]
    )
    assert code != 0
    assert "database error" in capsys.readouterr().err
    assert on_queue(sqs, queue) == 1


class FlakySqs:
    """The moto client, whose first `failures` receive calls fail like an SQS outage."""

    def __init__(self, client: Any, failures: int) -> None:
        self.client, self.failures, self.receives = client, failures, 0

    def receive_message(self, **kwargs: Any) -> Any:
        self.receives += 1
        if self.receives <= self.failures:
            raise ConnectionError("Could not connect to the endpoint URL")
        return self.client.receive_message(**kwargs)

    def delete_message_batch(self, **kwargs: Any) -> Any:
        return self.client.delete_message_batch(**kwargs)


def forever(sqs: Any, queue: str, engine: Engine, rounds: int) -> tuple[list[str], list[float]]:
    """poll_forever for `rounds` receive attempts or sleeps; what it said and slept."""
    problems: list[str] = []
    sleeps: list[float] = []
    steps = iter(range(rounds))
    poll_forever(
        sqs, queue, Ingester(engine, entry_point="sqs"), wait_seconds=0,
        on_problem=problems.append, sleep=sleeps.append,
        should_stop=lambda: next(steps, None) is None,
    )  # fmt: skip
    return problems, sleeps


def test_poll_forever_backs_off_after_sqs_errors_reports_them_once_and_keeps_polling(
    sqs: Any, queue: str, sqlite_engine: Engine
) -> None:
    send(sqs, queue, body(make_bounce(["a@example.com"])))
    problems, sleeps = forever(FlakySqs(sqs, failures=3), queue, sqlite_engine, rounds=6)
    assert count(sqlite_engine, "facts") == 1 and on_queue(sqs, queue) == 0
    assert len(sleeps) == 3 and sleeps[0] < sleeps[2] <= 4
    assert len(problems) == 2  # the error once, with what happens next; then the recovery
    assert "Could not connect" in problems[0] and "polling again in" in problems[0]
    assert problems[1].startswith("recovered")


def test_while_the_database_is_down_poll_forever_stops_receiving_and_checks_the_database(
    sqs: Any, queue: str
) -> None:
    send(sqs, queue, body(make_bounce()))
    counting = FlakySqs(sqs, failures=0)
    problems, sleeps = forever(counting, queue, make_engine(CLOSED_PORT_URL), rounds=8)
    assert counting.receives == 1  # not once per round: each receive spends maxReceiveCount
    assert on_queue(sqs, queue) == 1
    assert len(sleeps) >= 5
    [problem] = problems
    assert "database error" in problem and "not receiving until the database answers" in problem
