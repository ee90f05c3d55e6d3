"""Long-poll an SQS queue and store what arrives.

A message is deleted only after its facts are committed (a dead-lettered message is
committed too: its bytes are safe in our store). A message whose commit failed stays on
the queue, so SQS redelivers it and, after maxReceiveCount tries, its redrive policy moves
it to the queue's own DLQ.

`poll_forever` outlives failures: after an SQS error it waits (exponential backoff with
jitter) and polls again; while the database is down it stops receiving (each receive
counts towards maxReceiveCount) and only checks the database until it answers. Each
problem is reported once, with what happens next.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, text

from core.clock import utcnow
from core.errors import StoreUnavailable
from core.ingest.pipeline import Ingester, IngestSummary, Item, record_run
from core.store.db import translated_errors


@dataclass(slots=True)
class PollReport:
    summary: IngestSummary
    messages: int = 0
    deleted: int = 0
    left_on_queue: int = 0
    errors: list[str] = field(default_factory=list)
    store_error: str | None = None  # set when the database failed: stop receiving


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
        if report.store_error:
            break  # more receives would only spend the messages' receive counts
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
            report.store_error = str(outcome)
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


class Backoff:
    """Exponential backoff with jitter: 1, 2, 4 ... up to `cap` seconds, each times 0.5-1."""

    def __init__(self, first: float = 1.0, cap: float = 60.0) -> None:
        self.first, self.cap, self.failures = first, cap, 0

    def next(self) -> float:
        delay = min(self.cap, self.first * 2**self.failures)
        self.failures += 1
        return delay * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not security

    def reset(self) -> None:
        self.failures = 0


def poll_forever(
    sqs: Any,
    queue_url: str,
    ingester: Ingester,
    *,
    max_messages: int = 10,
    wait_seconds: int = 20,
    on_report: Callable[[PollReport], None] | None = None,
    on_problem: Callable[[str], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    sleep: Callable[[float], None] = time.sleep,
    backoff: Backoff | None = None,
) -> None:
    """Poll until `should_stop()`; each round's report goes to `on_report`, each new
    problem (and the recovery) once to `on_problem`."""
    backoff = backoff or Backoff()
    tell = _Teller(on_problem)
    while not should_stop():
        try:
            report = poll_once(
                sqs, queue_url, ingester, max_messages=max_messages, wait_seconds=wait_seconds
            )
        except Exception as exc:  # noqa: BLE001 - one failed round must not end the service
            delay = backoff.next()
            tell(
                f"cannot poll the queue: {str(exc) or repr(exc)}", f"polling again in {delay:.0f} s"
            )
            sleep(delay)
            continue
        if on_report:
            on_report(report)
        if report.store_error:
            _wait_for_store(ingester.engine, report.store_error, tell, backoff, sleep, should_stop)
        else:
            tell.recovered("polling again")
        backoff.reset()


def _wait_for_store(
    engine: Engine,
    error: str,
    tell: _Teller,
    backoff: Backoff,
    sleep: Callable[[float], None],
    should_stop: Callable[[], bool],
) -> None:
    """Check the database, not the queue, until it answers (or we are told to stop)."""
    while not should_stop():
        delay = backoff.next()
        tell(f"{error}", f"not receiving until the database answers; next check in {delay:.0f} s")
        sleep(delay)
        try:
            with translated_errors(), engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except StoreUnavailable as exc:
            error = str(exc)
            continue
        tell.recovered("the database answers again; receiving")
        return


class _Teller:
    """Reports a problem once (not again while it stays the same), and its end."""

    def __init__(self, on_problem: Callable[[str], None] | None) -> None:
        self.on_problem = on_problem
        self.current: str | None = None

    def __call__(self, problem: str, next_step: str) -> None:
        if problem != self.current and self.on_problem:
            self.on_problem(f"{problem}; {next_step}")
        self.current = problem

    def recovered(self, what: str) -> None:
        if self.current is not None and self.on_problem:
            self.on_problem(f"recovered: {what}")
        self.current = None
