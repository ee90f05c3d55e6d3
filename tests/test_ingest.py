"""Nothing lost, nothing twice: core.ingest.pipeline on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from core.errors import StoreUnavailable
from core.ingest import pipeline as ingest_module
from core.ingest import recording
from core.ingest.pipeline import Ingester, IngestSummary, Item
from tests.conftest import fixture_bytes
from tests.ingest_factories import (
    count,
    daily_counts_from_facts,
    domain_counts_from_facts,
    lambda_sns_record,
    make_bounce,
    make_complaint,
    make_delivery,
    make_send,
    mixed_notifications,
    rows,
    sns_envelope,
    summaries_from_facts,
)


def items(*payloads: Any) -> list[Item]:
    made = []
    for n, payload in enumerate(payloads):
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        made.append(Item(raw, f"test#{n}"))
    return made


def ingest(engine: Engine, *payloads: Any, batch_size: int = 500) -> IngestSummary:
    ingester = Ingester(engine, entry_point="file", batch_size=batch_size)
    return ingester.ingest(items(*payloads), source="test")


def test_a_redelivered_notification_is_a_duplicate_and_never_stored_twice(
    engine: Engine,
) -> None:
    bounce = sns_envelope(make_bounce(["a@example.com", "b@example.com", "c@example.com"]))
    first = ingest(engine, bounce)
    again = ingest(engine, bounce, bounce)
    assert (first.stored, first.duplicates) == (3, 0)
    assert (again.stored, again.duplicates) == (0, 6)
    assert count(engine, "facts") == 3
    assert rows(engine, "address_summaries", "address", "hard_count") == [
        ("a@example.com", 1),
        ("b@example.com", 1),
        ("c@example.com", 1),
    ]
    assert rows(engine, "daily_counts", "kind", "count") == [("bounce", 3)]


def test_the_same_bounce_via_feedback_and_event_publishing_is_stored_once(
    engine: Engine,
) -> None:
    feedback = make_bounce(["a@example.com"], feedback_id="fb-both", family="feedback")
    event = make_bounce(["a@example.com"], feedback_id="fb-both", family="event")
    summary = ingest(engine, sns_envelope(feedback), sns_envelope(event))
    assert (summary.stored, summary.duplicates) == (1, 1)
    assert rows(engine, "address_summaries", "hard_count") == [(1,)]


def test_events_without_a_feedback_id_are_keyed_by_message_id_and_type(engine: Engine) -> None:
    send = make_send(["a@example.com"], message_id="m-1")
    delivery = make_delivery(["a@example.com"], message_id="m-1", family="event")
    feedback_delivery = make_delivery(["a@example.com"], message_id="m-1")
    summary = ingest(engine, send, delivery, feedback_delivery, send)
    assert (summary.stored, summary.duplicates) == (2, 2)
    assert rows(engine, "facts", "kind", "event_key") == [
        ("delivery", "delivery:m-1"),
        ("send", "send:m-1"),
    ]


def test_summaries_and_daily_counts_agree_with_the_facts_after_mixed_ingestion(
    engine: Engine,
) -> None:
    notifications = [sns_envelope(n) for n in mixed_notifications(120, seed=3)]
    notifications += [sns_envelope(make_bounce(["x@other.example", "y@Other.Example"]))]
    # Overlapping runs, small chunks: duplicates inside a chunk, across chunks and across runs.
    first = ingest(engine, *notifications[:80], *notifications[:10], batch_size=7)
    second = ingest(engine, *notifications[60:], *notifications[70:75], batch_size=9)
    facts = count(engine, "facts")
    assert first.stored + second.stored == facts
    assert second.duplicates >= 25
    expected, stored = summaries_from_facts(engine)
    assert stored == expected
    assert len(stored) > 10
    expected_daily, stored_daily = daily_counts_from_facts(engine)
    assert stored_daily == expected_daily
    assert sum(row[-1] for row in stored_daily) == facts
    expected_domains, stored_domains = domain_counts_from_facts(engine)
    assert stored_domains == expected_domains
    assert {row[1] for row in stored_domains} == {"example.com", "other.example"}


def test_deliveries_alone_in_a_chunk_leave_the_bounce_history_of_an_address_as_it_was(
    engine: Engine,
) -> None:
    # SQLite writes an address whose chunk holds only deliveries with a narrower statement.
    ingest(engine, make_bounce(["a@example.com"]), make_complaint(["a@example.com"]))
    ingest(engine, make_delivery(["a@example.com", "new@example.com"]))
    expected, stored = summaries_from_facts(engine)
    assert stored == expected
    columns = ("address", "hard_count", "complaint_count", "delivery_count", "last_bounce_type")
    assert rows(engine, "address_summaries", *columns) == [
        ("a@example.com", 1, 1, 1, "Permanent"),
        ("new@example.com", 0, 0, 1, None),
    ]


def test_spellings_of_one_address_share_one_summary(engine: Engine) -> None:
    ingest(
        engine,
        make_bounce(["Jane@EXAMPLE.com"]),
        make_bounce([" Jane@example.com "], bounce_type="Transient", subtype="MailboxFull"),
        make_complaint(["Jane@Example.COM"]),
    )
    assert rows(
        engine, "address_summaries", "address", "hard_count", "soft_count", "complaint_count"
    ) == [("Jane@example.com", 1, 1, 1)]


def test_local_parts_differing_only_in_case_are_two_addresses_on_every_backend(
    engine: Engine,
) -> None:
    ingest(engine, make_bounce(["OK@example.com"]), make_bounce(["ok@example.com"]))
    assert rows(engine, "address_summaries", "address", "hard_count") == [
        ("OK@example.com", 1),
        ("ok@example.com", 1),
    ]


def test_the_latest_bounce_wins_even_when_it_arrives_first(engine: Engine) -> None:
    from datetime import UTC, datetime

    newer = make_bounce(["a@example.com"], at=datetime(2024, 6, 2, tzinfo=UTC))
    older = make_bounce(
        ["a@example.com"],
        bounce_type="Transient",
        subtype="MailboxFull",
        at=datetime(2024, 6, 1, tzinfo=UTC),
    )
    ingest(engine, newer)
    ingest(engine, older)
    [(bounce_type, subtype, first, last)] = rows(
        engine,
        "address_summaries",
        "last_bounce_type",
        "last_bounce_subtype",
        "first_bounce_at",
        "last_bounce_at",
    )
    assert (bounce_type, subtype) == ("Permanent", "General")
    assert str(first).startswith("2024-06-01") and str(last).startswith("2024-06-02")


def test_dead_letters_keep_the_raw_bytes_and_a_clear_reason_and_the_batch_goes_on(
    engine: Engine,
) -> None:
    good = make_bounce(["good@example.com"])
    not_utf8 = b'{"notificationType": "Bounce", "mail": "\xff\xfe"}'
    missing = make_bounce(["x@example.com"])
    del missing["bounce"]["bounceType"]
    missing_raw = json.dumps(sns_envelope(missing), indent=1).encode()
    truncated = json.dumps(make_bounce()).encode()[:-40]
    summary = ingest(engine, not_utf8, good, missing_raw, truncated, make_send())
    assert (summary.received, summary.stored, summary.dead_lettered) == (5, 2, 3)
    letters = rows(engine, "dead_letters", "raw", "reason_code", "reason", "status", "source")
    by_raw = {bytes(raw): (code, reason, status) for raw, code, reason, status, _ in letters}
    assert set(by_raw) == {not_utf8, missing_raw, truncated}
    assert by_raw[missing_raw][0] == "missing_field"
    assert "'bounceType'" in by_raw[missing_raw][1]
    assert by_raw[not_utf8][0] == by_raw[truncated][0] == "not_json"
    assert {status for _, _, status in by_raw.values()} == {"open"}
    assert sorted(source for *_, source in letters) == ["test#0", "test#2", "test#3"]


def test_text_that_some_databases_refuse_is_stored_on_every_backend(engine: Engine) -> None:
    # PostgreSQL refuses NUL; nothing stores a lone surrogate. Either used to fail the batch.
    nul = json.dumps(make_bounce(["nul@example.com"], diagnostic_code="550 \u0000 x"))
    surrogate = json.dumps(make_send(["s@example.com"])).replace("Your weekly", "\\udc80 weekly")
    confirmation = json.loads(fixture_bytes("sns_http_subscription_confirmation_docs.json"))
    confirmation.update(Message="\u0000", TopicArn="arn:" + "t" * 400)
    summary = ingest(engine, nul.encode(), surrogate.encode(), confirmation)
    assert (summary.stored, summary.confirmations, summary.dead_lettered) == (2, 1, 0)
    assert rows(engine, "facts", "diagnostic_code")[0] == ("550 \ufffd x",)


def test_an_empty_records_list_is_dead_lettered_not_silently_dropped(engine: Engine) -> None:
    summary = ingest(engine, {"Records": []}, b"[]")
    assert (summary.received, summary.dead_lettered) == (2, 2)
    assert {code for (code,) in rows(engine, "dead_letters", "reason_code")} == {"empty"}


def test_every_notification_is_accounted_for_in_the_summary(engine: Engine) -> None:
    notice = {"notificationType": "AmazonSnsSubscriptionSucceeded", "message": "ok"}
    confirmation = fixture_bytes("sns_http_subscription_confirmation_docs.json")
    lambda_event = {"Records": [{"Sns": sns_envelope(make_send())}, {"Sns": {"Type": "X"}}]}
    summary = ingest(engine, notice, confirmation, lambda_event, b"{", make_bounce())
    assert summary.received == 6
    assert (summary.ignored, summary.confirmations, summary.dead_lettered) == (1, 1, 2)
    assert summary.stored == 2
    [run] = rows(engine, "ingestion_runs", "entry_point", "received", "stored", "dead_lettered")
    assert run == ("file", 6, 2, 2)


def test_an_item_that_fails_half_way_leaves_only_its_dead_letter_in_the_chunk(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = ingest_module.parse_notification

    def fail_on_the_poisoned_one(payload: Any, *args: Any) -> Any:
        if payload["mail"]["destination"] == ["poison@example.com"]:
            raise RuntimeError("a bug")
        return real(payload, *args)

    monkeypatch.setattr(ingest_module, "parse_notification", fail_on_the_poisoned_one)
    # One Lambda event whose first record parses and whose second hits the bug.
    event = {
        "Records": [
            lambda_sns_record(make_bounce(["half@example.com"])),
            lambda_sns_record(make_send(["poison@example.com"])),
        ]
    }
    summary = ingest(engine, make_send(["before@example.com"]), event, make_delivery())
    assert (summary.received, summary.stored, summary.dead_lettered) == (3, 2, 1)
    assert rows(engine, "facts", "address") == [("before@example.com",), ("jane@example.com",)]
    assert rows(engine, "address_summaries", "address") == [("jane@example.com",)]
    [(code, reason)] = rows(engine, "dead_letters", "reason_code", "reason")
    assert (code, reason) == ("internal_error", "RuntimeError('a bug')")


def test_adding_summaries_adds_every_count() -> None:
    one = IngestSummary(*range(1, len(fields(IngestSummary)) + 1))
    total = IngestSummary()
    total.add(one)
    total.add(one)
    assert total.as_dict() == {name: 2 * n for name, n in one.as_dict().items()}


def test_a_store_failure_commits_nothing_of_the_chunk(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*_: Any) -> None:
        raise OperationalError("UPDATE daily_counts", {}, Exception("disk I/O error"))

    monkeypatch.setattr(recording, "_update_daily_counts", fail)
    with pytest.raises(StoreUnavailable, match="disk I/O error"):
        ingest(engine, make_bounce(["a@example.com"]), b"not json")
    assert count(engine, "facts") == 0
    assert count(engine, "address_summaries") == 0
    assert count(engine, "dead_letters") == 0
    [(error,)] = rows(engine, "ingestion_runs", "error")
    assert "disk I/O error" in error


def test_a_deadlock_is_retried_and_the_chunk_stored_once(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    real = recording._update_daily_counts

    def deadlock_once(connection: Any, facts: Any) -> None:
        calls.append(len(facts))
        if len(calls) == 1:
            raise OperationalError("INSERT", {}, Exception("Deadlock found when trying"))
        real(connection, facts)

    monkeypatch.setattr(recording, "_update_daily_counts", deadlock_once)
    summary = ingest(engine, make_bounce(["a@example.com", "b@example.com"]))
    assert calls == [2, 2]
    assert summary.stored == 2
    assert rows(engine, "daily_counts", "count") == [(2,)]


def test_queue_batches_report_each_messages_own_stored_and_duplicate_counts(
    engine: Engine,
) -> None:
    three = make_bounce(["a@example.com", "b@example.com", "c@example.com"])
    ingester = Ingester(engine, entry_point="sqs")
    outcomes = ingester.ingest_each(items(three, make_send(), three, b"{"))
    assert [(o.stored, o.duplicates, o.dead_lettered) for o in outcomes] == [
        (3, 0, 0),
        (1, 0, 0),
        (0, 3, 0),
        (0, 0, 1),
    ]


def test_a_database_error_on_the_sqlite_fast_path_is_a_store_unavailable(
    sqlite_engine: Engine,
) -> None:
    from sqlalchemy import text

    with sqlite_engine.begin() as connection:
        connection.execute(text("DROP TABLE facts"))
    with pytest.raises(StoreUnavailable, match="no such table: facts"):
        ingest(sqlite_engine, make_bounce())
    assert count(sqlite_engine, "dead_letters") == 0


def test_a_refused_recipient_is_dead_lettered_alone_and_its_co_recipients_are_stored(
    engine: Engine,
) -> None:
    bounce = make_bounce(["a@example.com", "not-an-email", "b@example.com"])
    summary = Ingester(engine, entry_point="file").ingest(items(bounce), source="test")
    assert (summary.received, summary.stored, summary.dead_lettered) == (1, 2, 1)
    assert sorted(a for (a,) in rows(engine, "facts", "address")) == [
        "a@example.com",
        "b@example.com",
    ]
    [(code, reason)] = rows(engine, "dead_letters", "reason_code", "reason")
    assert code == "invalid_address" and "recipient 2 of 3" in reason


def test_a_subscription_confirmation_without_message_id_is_stored_once(engine: Engine) -> None:
    confirmation = json.loads(fixture_bytes("sns_http_subscription_confirmation_docs.json"))
    del confirmation["MessageId"]
    other = dict(confirmation, Token="another-token")
    ingester = Ingester(engine, entry_point="file")
    summary = ingester.ingest(items(confirmation, other, confirmation), source="test")
    assert summary.confirmations == 3
    assert count(engine, "sns_confirmations") == 2
