"""Take raw input from any entry point, store its facts idempotently, dead-letter the rest.

The batch path never raises for bad input: every item ends as stored facts, duplicates,
a recorded confirmation, an ignored notice, or a dead letter with its bytes and reason.
Only an unavailable database stops it, and then nothing of the failed chunk is committed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

from sqlalchemy import Engine, insert
from sqlalchemy.exc import DBAPIError
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_random_exponential

from core.clock import utcnow
from core.errors import StoreUnavailable
from core.ingest.envelopes import (
    SesMessage,
    SnsConfirmationMessage,
    Unusable,
    Unwrapped,
    Unwrapper,
    VerifyMode,
)
from core.ingest.events import (
    IgnoredNotification,
    NotificationError,
    parse_notification,
    storable_text,
)
from core.ingest.recording import Batch, DeadLetterRow, write_batch
from core.ingest.signatures import CertificateSource, verify_sns_message
from core.settings import DEFAULT_INGEST_BATCH_SIZE, Settings
from core.store.db import describe_database_error
from core.store.models import IngestionRun

UNPARSED: Any = object()


@dataclass(frozen=True, slots=True)
class Item:
    """One unit of raw input: bytes as received, where they came from, and (when a reader
    already decoded them) the JSON value."""

    raw: bytes
    source: str
    value: Any = UNPARSED


@dataclass(slots=True)
class IngestSummary:
    """Counts for one call of an entry point. `received` counts notifications; `stored`
    and `duplicates` count recipient facts."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    confirmations: int = 0
    ignored: int = 0

    def add(self, other: IngestSummary) -> None:
        # Spelled out: this runs once per item, and a loop over the fields cost five times more.
        self.received += other.received
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.dead_lettered += other.dead_lettered
        self.confirmations += other.confirmations
        self.ignored += other.ignored

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(slots=True)
class Digested:
    """Items, parsed: what to write and how to count it."""

    batch: Batch = field(default_factory=Batch)
    summary: IngestSummary = field(default_factory=IngestSummary)

    def mark(self) -> tuple[int, ...]:
        """Where the next item starts, for `forget_since`."""
        batch, summary = self.batch, self.summary
        return (
            len(batch.facts),
            len(batch.confirmations),
            len(batch.dead_letters),
            summary.received,
            summary.dead_lettered,
            summary.confirmations,
            summary.ignored,
        )

    def forget_since(self, mark: tuple[int, ...]) -> None:
        """Drop what was added after `mark` (an item that failed half-way)."""
        batch, summary = self.batch, self.summary
        del batch.facts[mark[0] :], batch.confirmations[mark[1] :], batch.dead_letters[mark[2] :]
        summary.received, summary.dead_lettered, summary.confirmations, summary.ignored = mark[3:]


def verifier_from_settings(settings: Settings) -> Callable[[Any], None]:
    """A signature checker using the configured certificate source and maximum age."""
    certificates = CertificateSource(settings.sns_cert_dir)
    max_age = settings.sns_max_message_age_seconds
    age = timedelta(seconds=max_age) if max_age else None
    return lambda envelope: verify_sns_message(envelope, certificates, max_age=age)


def digest(item: Item, unwrapper: Unwrapper) -> Digested:
    """Parse one item completely; never raises (an unexpected error is a dead letter)."""
    result = Digested()
    digest_into(result, item, unwrapper)
    return result


def digest_into(result: Digested, item: Item, unwrapper: Unwrapper) -> None:
    """Add one item, parsed completely, to `result`; never raises (after an unexpected
    error the item is a dead letter, and nothing else of it is kept)."""
    mark, received = result.mark(), result.summary.received
    try:
        units: Iterable[Unwrapped]
        if item.value is UNPARSED:
            units = unwrapper.unwrap_text(item.raw)
        else:
            units = unwrapper.unwrap(item.value, item.raw)
        for unit in units:
            _digest_unit(unit, item.source, result)
    except Exception as exc:  # noqa: BLE001 - a bug must not lose the input
        result.forget_since(mark)
        result.summary.received += 1
        _dead_letter(result, item.source, Unusable(item.raw, "internal_error", repr(exc)))
    if result.summary.received == received:
        # e.g. `[]` or `{"Records": []}`: kept, so that no input leaves without a trace
        result.summary.received += 1
        _dead_letter(result, item.source, Unusable(item.raw, "empty", "holds no notification"))


def _digest_unit(unit: Unwrapped, source: str, result: Digested) -> None:
    result.summary.received += 1
    if isinstance(unit, Unusable):
        _dead_letter(result, source, unit)
    elif isinstance(unit, SnsConfirmationMessage):
        result.batch.confirmations.append(confirmation_row(unit))
        result.summary.confirmations += 1
    else:
        _digest_message(unit, source, result)


def _digest_message(unit: SesMessage, source: str, result: Digested) -> None:
    try:
        parsed = parse_notification(unit.payload, unit.sns_message_id, unit.sns_timestamp)
    except IgnoredNotification:
        result.summary.ignored += 1
        return
    except NotificationError as exc:
        _dead_letter(result, source, Unusable(unit.raw, exc.reason, str(exc)))
        return
    result.batch.facts.extend(parsed.facts)
    # A refused recipient is kept with the whole notification, so that a retry after a fix
    # stores it (its co-recipients, stored now, are then duplicates).
    for refusal in parsed.refused:
        _dead_letter(result, source, Unusable(unit.raw, refusal.reason_code, refusal.reason))


def _dead_letter(result: Digested, source: str, unit: Unusable) -> None:
    result.batch.dead_letters.append(
        DeadLetterRow(source=source, reason_code=unit.reason_code, reason=unit.reason, raw=unit.raw)
    )
    result.summary.dead_lettered += 1


def confirmation_row(unit: SnsConfirmationMessage) -> dict[str, Any]:
    envelope = unit.envelope

    def text(*names: str) -> str | None:
        for name in names:
            if isinstance(envelope.get(name), str):
                return storable_text(envelope[name])
        return None

    sent = text("Timestamp")
    try:
        sent_at = (
            datetime.fromisoformat(sent).astimezone(UTC).replace(tzinfo=None) if sent else None
        )
    except ValueError:
        sent_at = None
    return {
        "sns_message_id": storable_text(unit.message_id)[:128],
        "type": unit.type or text("Type"),
        "topic_arn": (text("TopicArn") or "")[:300] or None,
        "subscribe_url": text("SubscribeURL", "SubscribeUrl"),
        "token": text("Token"),
        "message": text("Message"),
        "sent_at": sent_at,
        "received_at": utcnow(),
    }


class Ingester:
    """Stores items in chunks, one transaction per chunk, and logs each run."""

    def __init__(
        self,
        engine: Engine,
        *,
        entry_point: str,
        verify_mode: VerifyMode = "off",
        verifier: Callable[[Any], None] | None = None,
        batch_size: int = DEFAULT_INGEST_BATCH_SIZE,
    ) -> None:
        self.engine = engine
        self.entry_point = entry_point
        self.unwrapper = Unwrapper(verify_mode=verify_mode, verifier=verifier)
        self.batch_size = batch_size

    def ingest(self, items: Iterable[Item], source: str) -> IngestSummary:
        """Store everything in `items`; raise StoreUnavailable if the database fails."""
        started = utcnow()
        total = IngestSummary()
        iterator = iter(items)
        try:
            while (chunk := self._digest_chunk(iterator)).summary.received:
                total.add(self.commit([chunk]))
                del chunk  # before the next one is read: one chunk in memory at a time
        except StoreUnavailable as exc:
            self._log(source, started, total, str(exc))
            raise
        self._log(source, started, total, None)
        return total

    def _digest_chunk(self, items: Iterator[Item]) -> Digested:
        """The next `batch_size` items, parsed into one Digested: each item is parsed as it
        is read and leaves nothing of its own behind, neither its decoded JSON nor objects
        per item (the garbage collector walks every one that lives through the chunk)."""
        chunk = Digested()
        for item in islice(items, self.batch_size):
            digest_into(chunk, item, self.unwrapper)
        return chunk

    def ingest_each(self, items: list[Item]) -> list[IngestSummary | StoreUnavailable]:
        """Per-item outcome, for queues: an item is acknowledged only if it was committed.

        All items go in one transaction; if that fails, each is retried alone so one
        failing item never holds back the others.
        """
        digested = [digest(item, self.unwrapper) for item in items]
        try:
            return list(self._commit_each(digested))
        except StoreUnavailable:
            outcomes: list[IngestSummary | StoreUnavailable] = []
            for one in digested:
                try:
                    outcomes.append(self.commit([one]))
                except StoreUnavailable as exc:
                    outcomes.append(exc)
            return outcomes

    def commit(self, digested: list[Digested]) -> IngestSummary:
        """Write digested items in one transaction; return their combined summary."""
        total = IngestSummary()
        for one in digested:
            total.add(one.summary)
        written = _write_with_retry(self.engine, _combined(digested))
        total.stored, total.duplicates = written.stored, written.duplicates
        return total

    def _commit_each(self, digested: list[Digested]) -> list[IngestSummary]:
        """Write in one transaction; each item's summary, a fact new to the store counted
        as stored once (a second copy in the same chunk is a duplicate)."""
        unclaimed = set(_write_with_retry(self.engine, _combined(digested)).new_keys)
        summaries = []
        for one in digested:
            summary = replace(one.summary)
            for fact in one.batch.facts:
                if fact.dedup_key in unclaimed:
                    unclaimed.discard(fact.dedup_key)
                    summary.stored += 1
                else:
                    summary.duplicates += 1
            summaries.append(summary)
        return summaries

    def _log(
        self, source: str, started: datetime, summary: IngestSummary, error: str | None
    ) -> None:
        record_run(self.engine, self.entry_point, source, started, summary, error)


def record_run(
    engine: Engine,
    entry_point: str,
    source: str,
    started: datetime,
    summary: IngestSummary,
    error: str | None,
) -> None:
    """Log one run for the ingestion page; a failure to log never hides the run's result."""
    row = {
        "entry_point": entry_point,
        "source": source[:500],
        "started_at": started,
        "finished_at": utcnow(),
        "received": summary.received,
        "stored": summary.stored,
        "duplicates": summary.duplicates,
        "dead_lettered": summary.dead_lettered,
        "error": error,
    }
    try:
        with engine.begin() as connection:
            connection.execute(insert(IngestionRun.__table__), [row])
    except DBAPIError:
        pass


def _is_transient(exc: BaseException) -> bool:
    """Deadlocks and serialization failures are worth another try; nothing else is."""
    if not isinstance(exc, DBAPIError):
        return False
    code = getattr(getattr(exc, "orig", None), "sqlstate", None) or ""
    text = str(getattr(exc, "orig", exc)).lower()
    return code in {"40001", "40P01"} or "deadlock" in text or "database is locked" in text


@retry(
    retry=retry_if_exception(_is_transient),
    stop=stop_after_attempt(6),
    wait=wait_random_exponential(multiplier=0.05, max=2),
    reraise=True,
)
def _write_once(engine: Engine, batch: Batch) -> Any:
    with engine.begin() as connection:
        return write_batch(connection, batch, utcnow())


def _write_with_retry(engine: Engine, batch: Batch) -> Any:
    try:
        return _write_once(engine, batch)
    except DBAPIError as exc:
        raise StoreUnavailable(describe_database_error(exc)) from exc


def _combined(digested: list[Digested]) -> Batch:
    if len(digested) == 1:
        return digested[0].batch
    batch = Batch()
    for one in digested:
        batch.facts.extend(one.batch.facts)
        batch.confirmations.extend(one.batch.confirmations)
        batch.dead_letters.extend(one.batch.dead_letters)
    return batch
