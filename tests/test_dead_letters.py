"""core.ingest.dead_letters: what could not be used is listed, kept byte for byte, and retried."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Engine, insert

from core.ingest.dead_letters import (
    count_dead_letters,
    dead_letter_raw,
    list_dead_letters,
    retry_dead_letters,
)
from core.ingest.pipeline import Ingester, Item
from core.store.models import DeadLetter
from tests.conftest import fixture_bytes
from tests.factories import OPS
from tests.ingest_factories import count, make_bounce, rows, sns_envelope

SIGNED = "sns_real_signed_ses_feedback_bounce_permanent_general_simulator_sigv1_2022_djangoses"


def strict_ingester(engine: Engine) -> Ingester:
    """Signatures required, with a verifier that trusts no certificate."""

    def refuse(_: object) -> None:
        raise ValueError("no certificate can be fetched here")

    return Ingester(engine, entry_point="file", verify_mode="required", verifier=refuse)


def lenient_ingester(engine: Engine) -> Ingester:
    return Ingester(engine, entry_point="retry", verify_mode="off")


def add_dead_letter(engine: Engine, raw: bytes, reason_code: str = "unsupported_type") -> int:
    """A dead letter as an older release could have left it."""
    row = {
        "received_at": datetime(2024, 1, 1),
        "source": "sqs:legacy",
        "reason_code": reason_code,
        "reason": "unknown SES notification type 'Subscription'",
        "raw": raw,
        "status": "open",
        "attempts": 0,
    }
    with engine.begin() as connection:
        return int(connection.execute(insert(DeadLetter.__table__), [row]).inserted_primary_key[0])


def test_dead_letters_are_listed_newest_first_with_reason_and_size(engine: Engine) -> None:
    raws = [b"first, not json", json.dumps({"notificationType": "Bounce"}).encode()]
    Ingester(engine, entry_point="file").ingest(
        [Item(raw, f"file:x#{n}") for n, raw in enumerate(raws)], "x"
    )
    listed = list_dead_letters(engine)
    assert [(v.source, v.reason_code, v.size, v.status) for v in listed] == [
        ("file:x#1", "missing_field", len(raws[1]), "open"),
        ("file:x#0", "not_json", len(raws[0]), "open"),
    ]
    assert "'mail'" in listed[0].reason
    assert count_dead_letters(engine) == 2
    assert dead_letter_raw(engine, listed[1].id) == raws[0]


def test_a_signature_failure_retried_without_verification_is_resolved_and_stored(
    engine: Engine,
) -> None:
    raw = fixture_bytes(f"{SIGNED}.json")
    summary = strict_ingester(engine).ingest([Item(raw, "sqs:1")], "q")
    assert summary.dead_lettered == 1
    [letter] = list_dead_letters(engine)
    assert letter.reason_code == "bad_signature"

    [outcome] = retry_dead_letters(engine, lenient_ingester(engine), OPS)
    assert (outcome.id, outcome.resolved, outcome.stored) == (letter.id, True, 1)
    assert rows(engine, "facts", "address") == [("bounce@simulator.amazonses.com",)]
    [(status, attempts, resolved_at)] = rows(
        engine, "dead_letters", "status", "attempts", "resolved_at"
    )
    assert (status, attempts) == ("resolved", 1)
    assert resolved_at is not None
    assert count_dead_letters(engine) == 0
    assert [v.status for v in list_dead_letters(engine, status=None)] == ["resolved"]
    # A resolved dead letter is never retried again, so nothing is stored twice.
    assert retry_dead_letters(engine, lenient_ingester(engine), OPS) == []
    assert count(engine, "facts") == 1


def test_a_dead_letter_for_a_shape_now_supported_is_resolved_on_retry(engine: Engine) -> None:
    raw = fixture_bytes("ses_event_subscription_docs.json")
    letter_id = add_dead_letter(engine, raw)
    [outcome] = retry_dead_letters(engine, lenient_ingester(engine), OPS, [letter_id])
    assert outcome.resolved and outcome.stored == 1
    assert rows(engine, "facts", "kind") == [("subscription",)]


def test_one_that_still_fails_stays_open_with_the_new_reason_and_one_more_attempt(
    engine: Engine,
) -> None:
    letter_id = add_dead_letter(engine, b'{"eventType": "Bounce", "mail": {}}')
    for attempt in (1, 2):
        [outcome] = retry_dead_letters(engine, lenient_ingester(engine), OPS)
        assert not outcome.resolved
        assert outcome.reason is not None and "'bounce'" in outcome.reason
        [(status, attempts, code, last)] = rows(
            engine, "dead_letters", "status", "attempts", "reason_code", "last_attempt_at"
        )
        assert (status, attempts, code) == ("open", attempt, "missing_field")
        assert last is not None
    assert dead_letter_raw(engine, letter_id) == b'{"eventType": "Bounce", "mail": {}}'
    assert count(engine, "dead_letters") == 1


def test_retrying_only_some_ids_leaves_the_others_alone(engine: Engine) -> None:
    good = json.dumps(sns_envelope(make_bounce(["a@example.com"]))).encode()
    first = add_dead_letter(engine, good)
    second = add_dead_letter(engine, good.replace(b"a@example.com", b"b@example.com"))
    retry_dead_letters(engine, lenient_ingester(engine), OPS, [second])
    assert rows(engine, "facts", "address") == [("b@example.com",)]
    assert [(v.id, v.status) for v in list_dead_letters(engine, status=None)] == [
        (second, "resolved"),
        (first, "open"),
    ]


def test_a_retried_notification_already_stored_counts_as_duplicate(engine: Engine) -> None:
    raw = json.dumps(make_bounce(["a@example.com"])).encode()
    Ingester(engine, entry_point="file").ingest([Item(raw, "f")], "f")
    add_dead_letter(engine, raw)
    [outcome] = retry_dead_letters(engine, lenient_ingester(engine), OPS)
    assert (outcome.resolved, outcome.stored, outcome.duplicates) == (True, 0, 1)
    assert rows(engine, "address_summaries", "hard_count") == [(1,)]
