"""core.ingest.lambda_handler: SNS- and SQS-triggered invocations, as AWS Lambda delivers them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from core.errors import StoreUnavailable
from core.ingest import lambda_handler
from core.ingest import pipeline as ingest_module
from core.ingest.lambda_handler import handler
from core.ingest.pipeline import Ingester
from core.store.db import make_engine, upgrade
from tests.ingest_factories import (
    count,
    lambda_sns_record,
    lambda_sqs_record,
    make_bounce,
    make_complaint,
    rows,
    sns_envelope,
)

CONTEXT = SimpleNamespace(aws_request_id="c6af9ac6-7b61-11e6-9a41-93e8deadbeef")


def ingester(engine: Engine) -> Ingester:
    return Ingester(engine, entry_point="lambda")


def test_an_sns_event_is_stored_and_its_summary_returned(engine: Engine) -> None:
    event = {
        "Records": [
            lambda_sns_record(make_bounce(["a@example.com", "b@example.com"])),
            lambda_sns_record(make_complaint(["c@example.com"])),
        ]
    }
    result = handler(event, CONTEXT, ingester=ingester(engine))
    assert result["received"] == 2 and result["stored"] == 3
    assert count(engine, "facts") == 3
    [(entry_point, source)] = rows(engine, "ingestion_runs", "entry_point", "source")
    assert (entry_point, source) == ("lambda", f"lambda:{CONTEXT.aws_request_id}")


def test_an_sns_event_invoked_twice_is_stored_once(sqlite_engine: Engine) -> None:
    event = {"Records": [lambda_sns_record(make_bounce(["a@example.com"]))]}
    handler(event, CONTEXT, ingester=ingester(sqlite_engine))
    again = handler(event, CONTEXT, ingester=ingester(sqlite_engine))
    assert (again["stored"], again["duplicates"]) == (0, 1)


def test_an_sns_invocation_raises_when_the_database_fails_so_lambda_retries(
    tmp_path: Path,
) -> None:
    broken = make_engine(f"sqlite:///{tmp_path / 'empty.db'}", auto_upgrade=False)
    event = {"Records": [lambda_sns_record(make_bounce())]}
    with pytest.raises(StoreUnavailable):
        handler(event, CONTEXT, ingester=ingester(broken))


def sqs_event(*bodies: str) -> dict[str, Any]:
    return {"Records": [lambda_sqs_record(b, message_id=f"msg-{n}") for n, b in enumerate(bodies)]}


def test_an_sqs_event_with_everything_stored_reports_no_failures(engine: Engine) -> None:
    bodies = [json.dumps(sns_envelope(make_bounce([f"u{n}@example.com"]))) for n in range(3)]
    bodies.append("{not json")  # dead-lettered: that is stored too, so not a failure
    result = handler(sqs_event(*bodies), CONTEXT, ingester=ingester(engine))
    assert result == {"batchItemFailures": []}
    assert count(engine, "facts") == 3
    assert count(engine, "dead_letters") == 1
    [(stored, dead, error)] = rows(engine, "ingestion_runs", "stored", "dead_lettered", "error")
    assert (stored, dead, error) == (3, 1, None)


def test_an_sqs_event_reports_exactly_the_messages_whose_commit_failed(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = ingest_module.write_batch

    def refuse_poison(connection: Any, batch: Any, now: Any, *rest: Any) -> Any:
        if any(fact.address.startswith("poison") for fact in batch.facts):
            raise OperationalError("INSERT INTO facts", {}, Exception("value too long"))
        return real(connection, batch, now, *rest)

    monkeypatch.setattr(ingest_module, "write_batch", refuse_poison)
    addresses = ["ok0@example.com", "poison1@example.com", "ok2@example.com", "poison3@x.com"]
    bodies = [json.dumps(sns_envelope(make_bounce([a]))) for a in addresses]
    result = handler(sqs_event(*bodies), CONTEXT, ingester=ingester(engine))
    assert result == {
        "batchItemFailures": [{"itemIdentifier": "msg-1"}, {"itemIdentifier": "msg-3"}]
    }
    assert rows(engine, "facts", "address") == [("ok0@example.com",), ("ok2@example.com",)]
    [(error,)] = rows(engine, "ingestion_runs", "error")
    assert error == "2 message(s) not stored"


def test_an_sqs_event_with_raw_delivery_bodies_is_stored(sqlite_engine: Engine) -> None:
    result = handler(
        sqs_event(json.dumps(make_bounce(["raw@example.com"]))),
        CONTEXT,
        ingester=ingester(sqlite_engine),
    )
    assert result == {"batchItemFailures": []}
    assert rows(sqlite_engine, "facts", "address") == [("raw@example.com",)]


@pytest.fixture
def configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The handler building its own ingester from BOUNCEDESK_* settings, as in AWS."""
    url = f"sqlite:///{tmp_path / 'lambda.db'}"
    engine = make_engine(url, auto_upgrade=False)
    upgrade(engine)
    monkeypatch.setenv("BOUNCEDESK_DATABASE_URL", url)
    monkeypatch.setenv("BOUNCEDESK_VERIFY_SNS_LAMBDA", "off")
    monkeypatch.setenv("BOUNCEDESK_CONFIG_FILE", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("")
    lambda_handler._ingester.cache_clear()
    yield engine
    lambda_handler._ingester.cache_clear()
    engine.dispose()


def test_the_handler_builds_its_ingester_from_settings(configured: Engine) -> None:
    event = {"Records": [lambda_sns_record(make_bounce(["env@example.com"]))]}
    assert handler(event, CONTEXT)["stored"] == 1
    assert rows(configured, "facts", "address") == [("env@example.com",)]


def test_a_lone_surrogate_sqs_body_is_a_dead_letter_not_a_failed_batch(
    sqlite_engine: Engine,
) -> None:
    good = lambda_sqs_record(json.dumps(make_bounce(["a@example.com"])))
    lone = lambda_sqs_record("\ud800")
    bad_address = lambda_sqs_record(
        json.dumps(make_bounce(["\ud800x@example.com"]), ensure_ascii=False)
    )
    result = handler(
        {"Records": [good, lone, bad_address]}, CONTEXT, ingester=ingester(sqlite_engine)
    )
    assert result == {"batchItemFailures": []}
    assert count(sqlite_engine, "facts") == 1
    codes = sorted(code for (code,) in rows(sqlite_engine, "dead_letters", "reason_code"))
    assert codes == ["invalid_address", "not_json"]


def test_an_sns_event_nested_too_deeply_to_encode_never_raises_out_of_the_handler(
    sqlite_engine: Engine,
) -> None:
    deep: list[Any] = []
    for _ in range(10_000):
        deep = [deep]
    stored = lambda_sns_record(make_bounce(["a@example.com"]))
    stored["Sns"]["MessageAttributes"] = {"deep": deep}  # beside the message: still stored
    refused = lambda_sns_record(make_bounce(["b@example.com"]))
    refused["Sns"] = {**refused["Sns"], "Message": deep}
    event = {"Records": [stored, refused]}
    result = handler(event, CONTEXT, ingester=ingester(sqlite_engine))
    assert (result["received"], result["stored"], result["dead_lettered"]) == (2, 1, 1)
    [(code, reason)] = rows(sqlite_engine, "dead_letters", "reason_code", "reason")
    assert code == "wrong_type" and "Message" in reason
