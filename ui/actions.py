"""Glue that builds core objects from settings for one page action (no rules live here)."""

from __future__ import annotations

import gzip
import io
from typing import BinaryIO

from core.ingest import Ingester, IngestSummary, verifier_from_settings
from core.settings import Settings
from core.sources import read_items
from core.sqs import PollReport, poll_once
from ui import resources

GZIP_MAGIC = b"\x1f\x8b"


def ingester(entry_point: str, verify_mode: str) -> Ingester:
    """An Ingester for this database; cheap, so built per action rather than cached."""
    settings: Settings = resources.settings()
    return Ingester(
        resources.engine(),
        entry_point=entry_point,
        verify_mode=verify_mode,  # type: ignore[arg-type]
        verifier=verifier_from_settings(settings) if verify_mode != "off" else None,
        batch_size=settings.ingest_batch_size,
    )


def _stream(data: bytes) -> BinaryIO:
    raw = io.BytesIO(data)
    if data[:2] == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=raw)  # type: ignore[return-value]
    return raw


def ingest_upload(name: str, data: bytes) -> IngestSummary:
    """Store an uploaded notification file (JSON, array, NDJSON, optionally gzip)."""
    source = f"upload:{name}"
    upload = ingester("upload", resources.settings().verify_sns_file)
    return upload.ingest(read_items(_stream(data), source), source)


def poll_queue(queue_url: str, max_messages: int) -> PollReport:
    """One round of the production SQS entry point, without the long-poll wait."""
    sqs_ingester = ingester("sqs", resources.settings().verify_sns_sqs)
    return poll_once(
        resources.sqs_client(), queue_url, sqs_ingester, max_messages=max_messages, wait_seconds=1
    )
