"""Property-based: whatever arrives, the batch path neither raises nor loses it (SQLite)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import DateTime, Engine
from sqlalchemy.dialects import sqlite

from core.ingest.pipeline import Ingester, IngestSummary, Item
from core.store.upsert import _bind_processor
from tests.conftest import fixture_bytes
from tests.ingest_factories import (
    count,
    lambda_sns_record,
    lambda_sqs_record,
    make_bounce,
    make_complaint,
    make_delivery,
    make_send,
    rows,
    sns_envelope,
)

SES_PAYLOADS = [
    make_bounce(["a@example.com", "B@Example.com", "c@example.org"]),
    make_bounce(["soft@example.com"], bounce_type="Transient", subtype="MailboxFull"),
    make_complaint(["c@example.com"], family="event"),
    make_delivery(["d@example.com"]),
    make_send(["s@example.com", "t@example.com"]),
    json.loads(fixture_bytes("ses_event_click_docs.json")),
    json.loads(fixture_bytes("ses_event_rendering_failure_docs.json")),
]


def _shapes(payload: dict[str, Any]) -> list[bytes]:
    body = json.dumps(sns_envelope(payload))
    return [
        json.dumps(payload).encode(),
        body.encode(),
        json.dumps({"Records": [lambda_sns_record(payload)]}).encode(),
        json.dumps({"Records": [lambda_sqs_record(body)]}).encode(),
    ]


VALID = [raw for payload in SES_PAYLOADS for raw in _shapes(payload)] + [
    fixture_bytes("sns_http_subscription_confirmation_docs.json"),
    b'{"notificationType": "AmazonSnsSubscriptionSucceeded", "message": "ok"}',
]
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.sampled_from(["", "  ", "Permanent", "2024-13-45T00:00:00Z", "\u0000", "x@y.z"]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)


@st.composite
def truncated(draw: Any) -> bytes:
    raw = draw(st.sampled_from(VALID))
    return raw[: draw(st.integers(0, len(raw) - 1))]


@st.composite
def byte_mutated(draw: Any) -> bytes:
    raw = bytearray(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 4))):
        raw[draw(st.integers(0, len(raw) - 1))] = draw(st.integers(0, 255))
    return bytes(raw)


@st.composite
def field_mutated(draw: Any) -> bytes:
    """A valid notification with one field, at any depth, deleted or replaced."""
    payload = json.loads(json.dumps(draw(st.sampled_from(SES_PAYLOADS))))
    target = payload
    for _ in range(draw(st.integers(0, 3))):
        nested = sorted(k for k, v in target.items() if isinstance(v, dict | list) and v)
        if not nested:
            break
        child = target[draw(st.sampled_from(nested))]
        target = child[0] if isinstance(child, list) else child
        if not isinstance(target, dict) or not target:
            break
    if isinstance(target, dict) and target:
        key = draw(st.sampled_from(sorted(target)))
        if draw(st.booleans()):
            del target[key]
        else:
            target[key] = draw(JSON_VALUES)
    return draw(st.sampled_from(_shapes(payload)))


INPUTS = st.one_of(
    st.binary(max_size=120),
    st.sampled_from(VALID),
    truncated(),
    byte_mutated(),
    field_mutated(),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
)
PROPERTY_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _is_json(raw: bytes) -> bool:
    try:
        json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        return False
    return True


def _counts(engine: Engine) -> tuple[int, int]:
    return count(engine, "facts"), count(engine, "dead_letters")


def _added(engine: Engine, before: tuple[int, int]) -> tuple[int, int]:
    """(facts, dead letters) added since `before`, read from the database itself."""
    facts, dead = _counts(engine)
    return facts - before[0], dead - before[1]


def _assert_accounted(summary: IngestSummary) -> None:
    """received == fact-producing + dead_lettered + confirmations + ignored, except that a
    notification with a refused recipient yields facts for the others and a dead letter for
    that one (core.ingest.events), so dead letters may stand beside facts."""
    facts = summary.stored + summary.duplicates
    producing = summary.received - summary.dead_lettered - summary.confirmations - summary.ignored
    # Every notification that produced facts produced at least one.
    if producing > 0:
        assert facts >= producing, summary
    # Facts come only from notifications that were not wholly refused.
    if facts > 0:
        assert producing > 0 or summary.dead_lettered > 0, summary


@PROPERTY_SETTINGS
@given(raw=INPUTS)
def test_every_input_is_stored_a_duplicate_or_a_dead_letter(
    sqlite_engine: Engine, raw: bytes
) -> None:
    before = _counts(sqlite_engine)
    summary = Ingester(sqlite_engine, entry_point="file").ingest([Item(raw, "prop")], "prop")
    facts, dead = _added(sqlite_engine, before)
    assert summary.received >= 1
    _assert_accounted(summary)
    assert (facts, dead) == (summary.stored, summary.dead_lettered)
    outcomes = summary.stored + summary.duplicates + dead + summary.confirmations + summary.ignored
    assert outcomes > 0, "the input left no trace"
    if not _is_json(raw):
        stored_raws = {bytes(r) for (r,) in rows(sqlite_engine, "dead_letters", "raw")}
        assert raw in stored_raws


@PROPERTY_SETTINGS
@given(batch=st.lists(INPUTS, min_size=1, max_size=12), batch_size=st.integers(1, 5))
def test_a_batch_of_anything_never_raises_and_accounts_for_every_item(
    sqlite_engine: Engine, batch: list[bytes], batch_size: int
) -> None:
    before = _counts(sqlite_engine)
    ingester = Ingester(sqlite_engine, entry_point="file", batch_size=batch_size)
    summary = ingester.ingest([Item(raw, f"prop#{n}") for n, raw in enumerate(batch)], "prop")
    facts, dead = _added(sqlite_engine, before)
    assert summary.received >= len(batch)
    _assert_accounted(summary)
    assert (facts, dead) == (summary.stored, summary.dead_lettered)


@PROPERTY_SETTINGS
@given(batch=st.lists(INPUTS, min_size=1, max_size=8))
def test_queue_batches_give_every_message_its_own_outcome(
    sqlite_engine: Engine, batch: list[bytes]
) -> None:
    before = _counts(sqlite_engine)
    ingester = Ingester(sqlite_engine, entry_point="sqs")
    outcomes = ingester.ingest_each([Item(raw, f"sqs:{n}") for n, raw in enumerate(batch)])
    assert len(outcomes) == len(batch)
    total = IngestSummary()
    for outcome in outcomes:
        assert isinstance(outcome, IngestSummary)
        _assert_accounted(outcome)
        total.add(outcome)
    assert _added(sqlite_engine, before) == (total.stored, total.dead_lettered)


@given(at=st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)))
def test_sqlite_stores_a_time_exactly_as_sqlalchemy_would(at: datetime) -> None:
    # core.store.upsert formats times itself for speed; stored text is compared across the app
    # (windows, latest-wins), so it must be SQLAlchemy's form to the character.
    dialect = sqlite.dialect()
    impl = DateTime().dialect_impl(dialect)
    assert _bind_processor(impl, dialect)(at) == impl.bind_processor(dialect)(at)
