"""Notifications people feed in by hand: a file uploaded on the Ingestion page or named on
the CLI, and a round of SQS polling started by someone.

The Lambda and the ingester itself (`core.ingest.pipeline`) are the system and act for nobody; these
wrappers are what a person calls, so they check the role (operator) and leave audit
entries. A file or upload gets an entry `started` (naming its ingestion run) in the
transaction that records the run, before anything of it is stored, so a killed ingest
still has both; ingestion commits its own batches, so the entry with the counts is written
right after them (and says `failed`, with the error, when the ingestion raised).
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, BinaryIO, cast

from sqlalchemy import Connection, Engine

from core.access import Action, Actor, require
from core.audit import record_audit
from core.ingest.pipeline import Ingester, IngestSummary, limit_notes
from core.ingest.sources import read_items
from core.ingest.sqs import PollReport, poll_once
from core.store.db import translated_errors

GZIP_MAGIC = b"\x1f\x8b"


def ingest_upload(ingester: Ingester, actor: Actor, name: str, data: bytes) -> IngestSummary:
    """Store an uploaded notification file (JSON, array, NDJSON, optionally gzip)."""
    require(actor, Action.INGEST)
    source = f"upload:{name}"
    parameters: dict[str, Any] = {"file": name, "bytes": len(data)}
    stream = _stream(data)
    return _ingest_audited(ingester, actor, "ingest.upload", parameters, stream, source, source)


def ingest_stream(ingester: Ingester, actor: Actor, stream: BinaryIO, label: str) -> IngestSummary:
    """Store a notification file named on the command line (already opened)."""
    require(actor, Action.INGEST)
    parameters = {"file": label}
    source = f"file:{label}"
    return _ingest_audited(ingester, actor, "ingest.files", parameters, stream, source, label)


def _ingest_audited(
    ingester: Ingester,
    actor: Actor,
    action: str,
    parameters: dict[str, Any],
    stream: BinaryIO,
    source: str,
    run_source: str,
) -> IngestSummary:
    """Ingest one file: `started` with the run, then `completed` (with the counts and what
    the limits cut) or `failed`."""

    def started(connection: Connection, run_id: int) -> None:
        parameters["run"] = run_id
        record_audit(connection, actor, action, None, "started", parameters)

    with _audited(ingester.engine, actor, action, parameters) as outcome:
        items = read_items(stream, source, ingester.limits)
        summary = ingester.ingest(items, run_source, on_start=started)
        notes = limit_notes(summary, ingester.limits)
        outcome({**summary.as_dict(), **({"cut_reasons": notes} if notes else {})})
    return summary


def poll_queue(
    sqs: Any,
    queue_url: str,
    ingester: Ingester,
    actor: Actor,
    *,
    max_messages: int,
    wait_seconds: int,
) -> PollReport:
    """One round of the production SQS entry point (`core.ingest.sqs.poll_once`)."""
    require(actor, Action.INGEST)
    parameters: dict[str, Any] = {"queue_url": queue_url, "max_messages": max_messages}
    with _audited(ingester.engine, actor, "ingest.poll_sqs", parameters) as outcome:
        report = poll_once(
            sqs, queue_url, ingester, max_messages=max_messages, wait_seconds=wait_seconds
        )
        outcome(
            {
                "messages": report.messages,
                "deleted": report.deleted,
                "left_on_queue": report.left_on_queue,
                **report.summary.as_dict(),
            }
        )
    return report


def start_polling(engine: Engine, actor: Actor, queue_url: str) -> None:
    """Before `core.ingest.sqs.poll_forever` on someone's behalf: check and record the start
    (each round is recorded in the ingestion runs, not in the audit log)."""
    require(actor, Action.INGEST)
    with translated_errors(), engine.begin() as connection:
        record_audit(
            connection, actor, "ingest.poll_sqs", None, "started", {"queue_url": queue_url}
        )


@contextmanager
def _audited(
    engine: Engine, actor: Actor, action: str, parameters: dict[str, Any]
) -> Iterator[Callable[[dict[str, Any]], None]]:
    """Record `action` after the block: `completed` with the counts the block reports, or
    `failed` with the error (which is raised again)."""
    counts: dict[str, Any] = {}
    try:
        yield counts.update
    except Exception as exc:
        # Best effort: the store may be what failed, and the original error is the one to report.
        with suppress(Exception):
            _record(engine, actor, action, "failed", parameters, str(exc) or repr(exc))
        raise
    _record(engine, actor, action, "completed", {**parameters, **counts}, None)


def _record(
    engine: Engine,
    actor: Actor,
    action: str,
    outcome: str,
    parameters: dict[str, Any],
    detail: str | None,
) -> None:
    with translated_errors(), engine.begin() as connection:
        record_audit(connection, actor, action, None, outcome, parameters, detail)


def _stream(data: bytes) -> BinaryIO:
    raw = io.BytesIO(data)
    if data[:2] == GZIP_MAGIC:
        return cast(BinaryIO, gzip.GzipFile(fileobj=raw))  # a binary file, typed as BufferedIOBase
    return raw
