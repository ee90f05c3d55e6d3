"""Glue that builds core objects from settings for one page action (no rules live here)."""

from __future__ import annotations

from core.access import Actor
from core.ingest.intake import ingest_upload, poll_queue
from core.ingest.pipeline import Ingester, IngestLimits, IngestSummary, verifier_from_settings
from core.ingest.sqs import PollReport
from core.settings import Settings
from ui import resources


def ingester(entry_point: str, verify_mode: str) -> Ingester:
    """An Ingester for this database; cheap, so built per action rather than cached."""
    settings: Settings = resources.settings()
    return Ingester(
        resources.engine(),
        entry_point=entry_point,
        verify_mode=verify_mode,  # type: ignore[arg-type]
        verifier=verifier_from_settings(settings) if verify_mode != "off" else None,
        batch_size=settings.ingest_batch_size,
        limits=IngestLimits.from_settings(settings),
    )


def store_upload(actor: Actor, name: str, data: bytes) -> IngestSummary:
    """Store an uploaded notification file (JSON, array, NDJSON, optionally gzip)."""
    upload = ingester("upload", resources.settings().verify_sns_file)
    return ingest_upload(upload, actor, name, data)


def poll_sqs(actor: Actor, queue_url: str, max_messages: int) -> PollReport:
    """One round of the production SQS entry point, without the long-poll wait."""
    sqs_ingester = ingester("sqs", resources.settings().verify_sns_sqs)
    return poll_queue(
        resources.sqs_client(),
        queue_url,
        sqs_ingester,
        actor,
        max_messages=max_messages,
        wait_seconds=1,
    )
