"""AWS Lambda entry point for SNS- and SQS-triggered functions.

SNS trigger: every record is stored; if the database fails the invocation raises, so
Lambda's own retry (and the function's on-failure destination) takes over.
SQS trigger: returns ``batchItemFailures`` naming exactly the messages whose commit failed
(enable ReportBatchItemFailures on the event source mapping), so one failure never makes
SQS redeliver the messages that were stored.
Bad input never raises out of the handler (that would fail, and redeliver, the whole batch):
a record that cannot be encoded or read is a dead letter with its reason.
"""

from __future__ import annotations

import json
import logging
from functools import cache
from typing import Any

from core.clock import utcnow
from core.errors import StoreUnavailable
from core.ingest.envelopes import encode_json, encode_text
from core.ingest.pipeline import Ingester, IngestSummary, Item, record_run
from core.settings import load_settings
from core.store.db import make_engine

log = logging.getLogger("bouncedesk.lambda")


@cache
def _ingester() -> Ingester:
    """Built on the first invocation and reused while the container lives."""
    settings = load_settings()
    engine = make_engine(settings.database_url, auto_upgrade=False, pool_size=1, max_overflow=0)
    return Ingester.from_settings(settings, engine, entry_point="lambda")


def handler(event: dict[str, Any], context: Any = None, ingester: Ingester | None = None) -> Any:
    ingester = ingester or _ingester()
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        records = [event]
    if records and all(_is_sqs(record) for record in records):
        return _handle_sqs(records, ingester)
    summary = ingester.ingest(
        [_record_item(record) for record in records], source=_request_id(context)
    )
    log.info("ingested %s", summary.as_dict())
    return summary.as_dict()


def _handle_sqs(records: list[dict[str, Any]], ingester: Ingester) -> dict[str, Any]:
    started = utcnow()
    items = [Item(_body(r), f"sqs:{r.get('messageId')}") for r in records]
    summary, failures = IngestSummary(), []
    for record, outcome in zip(records, ingester.ingest_each(items), strict=True):
        if isinstance(outcome, StoreUnavailable):
            failures.append({"itemIdentifier": record.get("messageId")})
            log.error("message %s not stored: %s", record.get("messageId"), outcome)
        else:
            summary.add(outcome)
    error = f"{len(failures)} message(s) not stored" if failures else None
    record_run(ingester.engine, "lambda", _queue(records), started, summary, error)
    log.info("ingested %s; failed %d", summary.as_dict(), len(failures))
    return {"batchItemFailures": failures}


def _record_item(record: Any) -> Item:
    """One SNS record as an item. A record too deep to encode is handed on decoded, so
    that the unwrapper refuses it with its reason."""
    try:
        return Item(encode_text(json.dumps(record, ensure_ascii=False)), "lambda:sns")
    except RecursionError:
        return Item(encode_json(record), "lambda:sns", record)


def _body(record: dict[str, Any]) -> bytes:
    body = record.get("body", "")
    return encode_text(body if isinstance(body, str) else str(body))


def _is_sqs(record: Any) -> bool:
    return isinstance(record, dict) and record.get("eventSource") == "aws:sqs"


def _queue(records: list[dict[str, Any]]) -> str:
    return str(records[0].get("eventSourceARN", "sqs")) if records else "sqs"


def _request_id(context: Any) -> str:
    return f"lambda:{getattr(context, 'aws_request_id', 'local')}"
