"""Long-poll an SQS queue and store what arrives.

A message is deleted only after its facts are committed (a dead-lettered message is
committed too: its bytes are safe in our store). A message whose commit failed stays on
the queue, so SQS redelivers it and, after maxReceiveCount tries, its redrive policy moves
it to the queue's own DLQ.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.clock import utcnow
from core.errors import StoreUnavailable
from core.ingest.pipeline import Ingester, IngestSummary, Item, record_run


@dataclass(slots=True)
class PollReport:
    summary: IngestSummary
    messages: int = 0
    deleted: int = 0
    left_on_queue: int = 0
    errors: list[str] = field(default_factory=list)


def poll_once(
    sqs: Any,
    queue_url: str,
    ingester: Ingester,
    *,
    max_messages: int = 10,
    wait_seconds: int = 20,
) -> PollReport:
    """Receive up to `max_messages` (in calls of at most 10), store them, delete the stored."""
    started = utcnow()
    report = PollReport(summary=IngestSummary())
    remaining = max_messages
    while remaining > 0:
        batch = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(10, remaining),
            WaitTimeSeconds=wait_seconds,
        ).get("Messages", [])
        if not batch:
            break
        _store_and_delete(sqs, queue_url, ingester, batch, report)
        remaining -= len(batch)
        wait_seconds = 0  # the queue had messages: drain without waiting again
    error = "; ".join(report.errors) or None
    record_run(ingester.engine, "sqs", queue_url, started, report.summary, error)
    return report


def _store_and_delete(
    sqs: Any, queue_url: str, ingester: Ingester, batch: list[dict[str, Any]], report: PollReport
) -> None:
    items = [Item(m["Body"].encode("utf-8"), f"sqs:{m['MessageId']}") for m in batch]
    outcomes = ingester.ingest_each(items)
    committed = []
    for message, outcome in zip(batch, outcomes, strict=True):
        report.messages += 1
        if isinstance(outcome, StoreUnavailable):
            report.left_on_queue += 1
            report.errors.append(str(outcome))
            continue
        report.summary.add(outcome)
        committed.append(message)
    if committed:
        _delete(sqs, queue_url, committed, report)


def _delete(sqs: Any, queue_url: str, messages: list[dict[str, Any]], report: PollReport) -> None:
    entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
    response = sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)
    report.deleted += len(response.get("Successful", []))
    for failure in response.get("Failed", []):
        # Already stored; a redelivery will be counted as a duplicate, never stored twice.
        report.errors.append(f"could not delete message: {failure.get('Message')}")


def poll_forever(
    sqs: Any,
    queue_url: str,
    ingester: Ingester,
    *,
    max_messages: int = 10,
    wait_seconds: int = 20,
    on_report: Callable[[PollReport], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> None:
    """Poll until `should_stop()`; each round's report goes to `on_report`."""
    while not should_stop():
        report = poll_once(
            sqs, queue_url, ingester, max_messages=max_messages, wait_seconds=wait_seconds
        )
        if on_report:
            on_report(report)
