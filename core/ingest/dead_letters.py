"""The dead-letter store: list what could not be used, and re-run it after a fix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select, update

from core.access import Action, Actor, require
from core.audit import record_audit
from core.clock import utcnow
from core.ingest.pipeline import Ingester, Item, digest
from core.ingest.recording import write_batch
from core.ingest.trust import refusal_floor, retry_mode, strictest
from core.store.db import translated_errors
from core.store.tables import DEAD_LETTERS as TABLE


@dataclass(frozen=True, slots=True)
class DeadLetterView:
    id: int
    received_at: datetime
    source: str
    reason_code: str
    reason: str
    status: str
    attempts: int
    size: int


@dataclass(frozen=True, slots=True)
class RetryOutcome:
    id: int
    resolved: bool
    reason: str | None
    stored: int
    duplicates: int


def list_dead_letters(
    engine: Engine, *, status: str | None = "open", limit: int = 100, offset: int = 0
) -> list[DeadLetterView]:
    """Newest first; `status=None` lists resolved ones too."""
    query = (
        select(
            TABLE.c.id,
            TABLE.c.received_at,
            TABLE.c.source,
            TABLE.c.reason_code,
            TABLE.c.reason,
            TABLE.c.status,
            TABLE.c.attempts,
            func.length(TABLE.c.raw),
        )
        .order_by(TABLE.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    if status:
        query = query.where(TABLE.c.status == status)
    with translated_errors(), engine.connect() as connection:
        return [DeadLetterView(*row) for row in connection.execute(query)]


def count_dead_letters(engine: Engine, status: str | None = "open") -> int:
    query = select(func.count()).select_from(TABLE)
    if status:
        query = query.where(TABLE.c.status == status)
    with translated_errors(), engine.connect() as connection:
        return int(connection.scalar(query) or 0)


def dead_letter_raw(engine: Engine, dead_letter_id: int) -> bytes | None:
    with translated_errors(), engine.connect() as connection:
        return connection.scalar(select(TABLE.c.raw).where(TABLE.c.id == dead_letter_id))


def retry_dead_letters(
    engine: Engine, ingester: Ingester, actor: Actor, ids: Sequence[int] | None = None
) -> list[RetryOutcome]:
    """Re-run open dead letters (all, or `ids`) through today's parser (operator role).

    Each letter is verified at least as strictly as the entry point that refused it, and one
    refused for its signature only by a signature that verifies (`core.ingest.trust`);
    `ingester.verify_mode` can make a retry stricter, never weaker.
    One that now parses is stored and marked resolved in the same transaction; one that
    still fails stays open with the new reason and one more attempt. Nothing is duplicated.
    The retry (which letters, how many resolved) goes into the audit log.
    """
    require(actor, Action.INGEST)
    query = select(
        TABLE.c.id, TABLE.c.source, TABLE.c.raw, TABLE.c.entry_point, TABLE.c.verify_mode
    ).where(TABLE.c.status == "open")
    if ids is not None:
        query = query.where(TABLE.c.id.in_(list(ids)))
    with translated_errors(), engine.connect() as connection:
        rows = connection.execute(query.order_by(TABLE.c.id)).all()
    outcomes = [_retry_one(engine, ingester, *row) for row in rows]
    resolved = [outcome.id for outcome in outcomes if outcome.resolved]
    parameters = {
        "asked": "all open" if ids is None else sorted(ids),
        "retried": [outcome.id for outcome in outcomes],
        "resolved": resolved,
        "stored": sum(outcome.stored for outcome in outcomes),
    }
    with translated_errors(), engine.begin() as connection:
        outcome_text = f"{len(resolved)} of {len(outcomes)} resolved"
        record_audit(connection, actor, "dead_letters.retry", None, outcome_text, parameters)
    return outcomes


def _retry_one(
    engine: Engine,
    ingester: Ingester,
    id_: int,
    source: str,
    raw: bytes,
    entry_point: str | None,
    floor: str | None,
) -> RetryOutcome:
    mode = retry_mode(ingester.verify_mode, ingester.entry_point_modes, entry_point, floor)
    result = digest(Item(raw, source), ingester.unwrapper_for(mode))
    failures = result.batch.dead_letters
    now = utcnow()
    changes: dict[str, object] = {"attempts": TABLE.c.attempts + 1, "last_attempt_at": now}
    if failures:
        floor = strictest(*(refusal_floor(mode, failure.reason_code) for failure in failures))
        changes.update(
            reason_code=failures[0].reason_code, reason=failures[0].reason, verify_mode=floor
        )
    else:
        changes.update(status="resolved", resolved_at=now)
    with translated_errors(), engine.begin() as connection:
        written = (
            None if failures else write_batch(connection, result.batch, now, ingester.counted_only)
        )
        connection.execute(update(TABLE).where(TABLE.c.id == id_).values(**changes))
    return RetryOutcome(
        id=id_,
        resolved=not failures,
        reason=failures[0].reason if failures else None,
        stored=written.stored if written else 0,
        duplicates=written.duplicates if written else 0,
    )
