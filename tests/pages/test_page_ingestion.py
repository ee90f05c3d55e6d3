"""Ingestion: upload files, poll SQS, counts over time, dead letters with raw text and retry."""

from __future__ import annotations

import gzip
import json
import uuid
from datetime import datetime
from typing import Any

from factories import make_bounce, make_complaint, sns_envelope
from pagekit import assert_clean, run_page, table_with
from sqlalchemy import Engine, func, insert, select

from core.ingest.dead_letters import list_dead_letters
from core.ingest.pipeline import Ingester, Item
from core.store.models import DeadLetter, Fact

BROKEN = b'{"notificationType": "Bounce", "mail": <b>not json</b>'


def facts(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(Fact.__table__)))


def ndjson(*values: Any) -> bytes:
    return b"\n".join(json.dumps(v).encode() for v in values) + b"\n"


def test_an_uploaded_file_is_stored_and_reported(db: Engine):
    data = ndjson(
        make_bounce(["a@example.com", "b@example.com"]), make_complaint(["c@example.com"])
    )
    at = run_page("ingestion")
    at.file_uploader(key="ingest_files").set_value(("bounces.ndjson", data, "application/json"))
    at.run()
    at.button(key="ingest_store").click().run()
    assert_clean(at)
    (message,) = [s.value for s in at.success]
    assert message.startswith("File 1: 2 notifications read, 3 new facts stored")
    assert "File 1: bounces.ndjson" in [t.value for t in at.text]
    assert facts(db) == 3
    assert at.metric[0].value == "3"
    assert len(at.get("plotly_chart")) == 1, "the day's counts are charted"


def test_a_gzip_file_with_a_redelivery_counts_the_duplicate_once(db: Engine):
    bounce = make_bounce(["a@example.com"])
    data = gzip.compress(json.dumps([bounce, bounce]).encode())
    at = run_page("ingestion")
    at.file_uploader(key="ingest_files").set_value(("bounces.json.gz", data, "application/gzip"))
    at.run()
    at.button(key="ingest_store").click().run()
    (message,) = [s.value for s in at.success]
    assert "1 new facts stored, 1 duplicates" in message
    assert facts(db) == 1


def test_dead_letters_show_their_reason_and_raw_text_and_can_be_retried(db: Engine):
    Ingester(db, entry_point="file").ingest([Item(BROKEN, "upload:bad.json#1")], "upload:bad.json")
    at = run_page("ingestion")
    letters = at.dataframe(key="dead_table").value
    assert list(letters["source"]) == ["upload:bad.json#1"]
    at.session_state["dead_table"] = {"selection": {"rows": [0], "columns": []}}
    at.run()
    assert [c.value for c in at.code] == [BROKEN.decode()]
    assert not any("not json" in m.value for m in at.markdown), "raw text is never markdown"
    at.button(key="dead_retry").click().run()
    assert_clean(at)
    assert any(s.value.startswith("0 of 1 resolved") for s in at.success)
    (letter,) = list_dead_letters(db)
    assert letter.attempts == 1


def test_retry_all_open_does_not_store_an_envelope_poll_sqs_refused_for_its_signature(db: Engine):
    forged = json.dumps(sns_envelope(make_bounce(["victim@example.com"]))).encode()
    row = {
        "received_at": datetime(2024, 1, 1),
        "source": "sqs:m-1",
        "reason_code": "bad_signature",
        "reason": "missing_field: the SNS message's Signature is absent",
        "raw": forged,
        "entry_point": "sqs",
        "verify_mode": "required",
        "status": "open",
        "attempts": 0,
    }
    with db.begin() as connection:
        connection.execute(insert(DeadLetter.__table__), [row])
    at = run_page("ingestion")
    at.button(key="dead_retry").click().run()
    assert_clean(at)
    assert any(s.value.startswith("0 of 1 resolved") for s in at.success)
    assert facts(db) == 0
    (letter,) = list_dead_letters(db)
    assert (letter.status, letter.reason_code) == ("open", "bad_signature")


def test_no_dead_letters_is_an_empty_state(db: Engine):
    at = run_page("ingestion")
    assert any("No open dead letters" in i.value for i in at.info)
    assert any("Nothing received in the last 30 days" in i.value for i in at.info)


def test_poll_sqs_now_stores_what_is_on_the_queue_and_deletes_it(aws: Any, db: Engine):
    sqs = aws.client("sqs")
    queue_url = sqs.create_queue(QueueName=f"page-test-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    # Raw message delivery: the body is the bare SES JSON (an unsigned envelope would be
    # dead-lettered under the default verify_sns_sqs=when_present).
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(make_bounce(["q@example.com"])))
    unsigned = sns_envelope(make_bounce(["r@example.com"]))
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(unsigned))
    at = run_page("ingestion")
    at.text_input(key="ingest_queue_url").input(queue_url).run()
    at.button(key="ingest_poll").click().run()
    assert_clean(at)
    (message,) = [s.value for s in at.success]
    assert message.startswith("2 messages received, 2 deleted from the queue; 1 new facts stored")
    assert "1 dead-lettered" in message
    assert facts(db) == 1
    remaining = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]["ApproximateNumberOfMessages"]
    assert remaining == "0"
    runs = table_with(at, "entry_point")
    assert runs.iloc[0]["entry_point"] == "sqs"
