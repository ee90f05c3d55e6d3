"""Take raw input from any entry point, store its facts idempotently, dead-letter the rest.

The batch path never raises for bad input: every item ends as stored facts, duplicates,
a recorded confirmation, an ignored notice, or a dead letter with its bytes and reason.
Input past a limit (`IngestLimits`) is kept as a bounded dead letter or counted as `cut`,
and the summary says why (`limit_notes`). A chunk the database refuses is retried item by
item, so one item it cannot store is dead-lettered alone; only an unavailable database
stops the run. Each run is recorded when it starts and updated in every chunk's
transaction, so a killed run still leaves its row (status `running`) beside its facts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, insert, update
from sqlalchemy.exc import DBAPIError
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_random_exponential

from core.clock import utcnow
from core.errors import SettingsError, StoreUnavailable
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
from core.ingest.recording import Batch, DeadLetterRow, Written, write_batch
from core.ingest.signatures import CertificateSource, verify_sns_message
from core.ingest.trust import entry_point_modes, refusal_floor, strictest
from core.settings import (
    DEFAULT_INGEST_BATCH_BYTES,
    DEFAULT_INGEST_BATCH_SIZE,
    DEFAULT_INGEST_MAX_DEAD_LETTERS_PER_FILE,
    DEFAULT_INGEST_MAX_FILE_BYTES,
    DEFAULT_INGEST_MAX_ITEM_BYTES,
    Settings,
)
from core.store.db import describe_database_error, refuses_the_values
from core.store.tables import RUNS

UNPARSED: Any = object()
# What a dead letter keeps of an item over the size limit (with its size and sha256).
PREFIX_BYTES = 64 << 10


@dataclass(frozen=True, slots=True)
class IngestLimits:
    """How much one run may read, hold and dead-letter (see the settings of the same names)."""

    max_item_bytes: int = DEFAULT_INGEST_MAX_ITEM_BYTES
    max_file_bytes: int = DEFAULT_INGEST_MAX_FILE_BYTES
    max_dead_letters_per_file: int = DEFAULT_INGEST_MAX_DEAD_LETTERS_PER_FILE
    batch_bytes: int = DEFAULT_INGEST_BATCH_BYTES

    @classmethod
    def from_settings(cls, settings: Settings) -> IngestLimits:
        return cls(
            max_item_bytes=settings.ingest_max_item_bytes,
            max_file_bytes=settings.ingest_max_file_bytes,
            max_dead_letters_per_file=settings.ingest_max_dead_letters_per_file,
            batch_bytes=settings.ingest_batch_bytes,
        )


@dataclass(frozen=True, slots=True)
class Item:
    """One unit of raw input: bytes as received, where they came from, and (when a reader
    already decoded them) the JSON value. A reader that already knows the item is unusable
    (too large, the rest of a file not read) says why in `problem` (reason code, reason);
    `raw` is then a bounded prefix."""

    raw: bytes
    source: str
    value: Any = UNPARSED
    problem: tuple[str, str] | None = None


TOO_LARGE = "too_large"
FILE_TOO_LARGE = "file_too_large"


def oversized_item(prefix: bytes, source: str, size: int, sha256: str, limit: int) -> Item:
    """An item over `limit` bytes, as the dead letter that lets an operator see what it was."""
    reason = (
        f"{size} bytes, over ingest_max_item_bytes ({limit}); sha256 {sha256};"
        f" kept: the first {len(prefix)} bytes"
    )
    return Item(prefix, source, problem=(TOO_LARGE, reason))


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


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
    # Past the limits: items kept as a bounded prefix (also dead-lettered), dead letters not
    # stored because the file reached its cap, files or uploads not read to the end.
    truncated: int = 0
    cut: int = 0
    files_cut: int = 0

    def add(self, other: IngestSummary) -> None:
        # Spelled out: this runs once per item, and a loop over the fields cost five times more.
        self.received += other.received
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.dead_lettered += other.dead_lettered
        self.confirmations += other.confirmations
        self.ignored += other.ignored
        self.truncated += other.truncated
        self.cut += other.cut
        self.files_cut += other.files_cut

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


LIMIT_COUNTS = ("truncated", "cut", "files_cut")


def limit_notes(summary: IngestSummary, limits: IngestLimits) -> list[str]:
    """One line per limit a run reached: what was cut and why (the CLI prints them, the run
    and the audit entry keep them)."""
    notes = []
    if summary.truncated:
        notes.append(
            f"{summary.truncated} item(s) over {limits.max_item_bytes} bytes"
            " (ingest_max_item_bytes) kept as dead letters with their first"
            f" {PREFIX_BYTES} bytes, size and sha256"
        )
    if summary.cut:
        notes.append(
            f"{summary.cut} dead letter(s) past {limits.max_dead_letters_per_file} per file"
            " (ingest_max_dead_letters_per_file) counted but not stored"
        )
    if summary.files_cut:
        notes.append(
            f"{summary.files_cut} file(s) not read past {limits.max_file_bytes} decompressed"
            " bytes (ingest_max_file_bytes); see their file_too_large dead letters"
        )
    return notes


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
            summary.truncated,
            summary.cut,
            summary.files_cut,
        )

    def forget_since(self, mark: tuple[int, ...]) -> None:
        """Drop what was added after `mark` (an item that failed half-way)."""
        batch, summary = self.batch, self.summary
        del batch.facts[mark[0] :], batch.confirmations[mark[1] :], batch.dead_letters[mark[2] :]
        summary.received, summary.dead_lettered, summary.confirmations, summary.ignored = mark[3:7]


def verifier_from_settings(settings: Settings) -> Callable[[Any], None]:
    """A signature checker using the configured certificate source and maximum age."""
    try:
        certificates = CertificateSource(settings.sns_cert_dir)
    except ValueError as exc:
        raise SettingsError(f"setting sns_cert_dir (BOUNCEDESK_SNS_CERT_DIR): {exc}") from exc
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
    if item.problem is not None:
        result.summary.received += 1
        if item.problem[0] == TOO_LARGE:
            result.summary.truncated += 1
        elif item.problem[0] == FILE_TOO_LARGE:
            result.summary.files_cut += 1
        _dead_letter(result, item.source, Unusable(item.raw, *item.problem))
        return
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


@dataclass(slots=True)
class _Chunk:
    """The next items, parsed into one Digested, with where each item starts in it and its
    bytes: enough to retry item by item when the database refuses the chunk. Plain ints
    and bytes, so the garbage collector has nothing per item to walk."""

    digested: Digested = field(default_factory=Digested)
    marks: list[tuple[int, ...]] = field(default_factory=list)
    raws: list[bytes] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def pieces(self) -> Iterator[tuple[Digested, bytes, str]]:
        """Each item's own Digested, with its bytes and source."""
        batch = self.digested.batch
        ends = [*self.marks[1:], self.digested.mark()]
        for start, end, raw, source in zip(self.marks, ends, self.raws, self.sources, strict=True):
            one = Digested(
                Batch(
                    batch.facts[start[0] : end[0]],
                    batch.confirmations[start[1] : end[1]],
                    batch.dead_letters[start[2] : end[2]],
                )
            )
            for name, before, after in zip(_MARKED, start[3:], end[3:], strict=True):
                setattr(one.summary, name, after - before)
            yield one, raw, source


# The summary counts in `Digested.mark()`, in its order after the three list lengths.
_MARKED = ("received", "dead_lettered", "confirmations", "ignored", *LIMIT_COUNTS)


@dataclass(slots=True)
class _Run:
    """The `ingestion_runs` row of one `Ingester.ingest` call and what it has committed."""

    id: int
    total: IngestSummary = field(default_factory=IngestSummary)

    def save(self, connection: Connection, more: IngestSummary) -> None:
        """Write the totals including `more`, in the transaction that commits `more`."""
        counts = replace(self.total)
        counts.add(more)
        connection.execute(update(RUNS).where(RUNS.c.id == self.id).values(**_run_counts(counts)))


class Ingester:
    """Stores items in chunks, one transaction per chunk, and logs each run.

    `verify_mode` is this entry point's signature check; `entry_point_modes` (every entry
    point's configured mode) is what a dead-letter retry needs to verify at least as strictly
    as the path that refused a letter (core.ingest.trust).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        entry_point: str,
        verify_mode: VerifyMode = "off",
        verifier: Callable[[Any], None] | None = None,
        batch_size: int = DEFAULT_INGEST_BATCH_SIZE,
        topic_arns: Collection[str] = (),
        entry_point_modes: Mapping[str, VerifyMode] | None = None,
        limits: IngestLimits | None = None,
        counted_only: Collection[str] = (),
    ) -> None:
        self.engine = engine
        self.entry_point = entry_point
        self.verify_mode: VerifyMode = verify_mode
        self.verifier = verifier
        self.topic_arns = frozenset(topic_arns)
        self.entry_point_modes = dict(entry_point_modes or {})
        self.unwrapper = self.unwrapper_for(verify_mode)
        self.batch_size = batch_size
        self.limits = limits or IngestLimits()
        # Kinds counted but not stored as raw facts (settings.retention_store_raw_sends).
        self.counted_only = frozenset(counted_only)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        engine: Engine,
        *,
        entry_point: str,
        verify_mode: VerifyMode | None = None,
    ) -> Ingester:
        """The Ingester of `entry_point` (file, upload, sqs, lambda, retry) as configured:
        its verify mode (unless the caller names one), the verifier, the topic allowlist."""
        modes = entry_point_modes(settings)
        return cls(
            engine,
            entry_point=entry_point,
            verify_mode=verify_mode or modes.get(entry_point) or strictest(*modes.values()),
            verifier=verifier_from_settings(settings),
            batch_size=settings.ingest_batch_size,
            topic_arns=settings.sns_topic_arns,
            entry_point_modes=modes,
            limits=IngestLimits.from_settings(settings),
            counted_only=settings.counted_only_kinds(),
        )

    def unwrapper_for(self, verify_mode: VerifyMode) -> Unwrapper:
        """This Ingester's envelope rules under `verify_mode` (a retry may need a stricter one)."""
        return Unwrapper(
            verify_mode=verify_mode, verifier=self.verifier, topic_arns=self.topic_arns
        )

    def ingest(
        self,
        items: Iterable[Item],
        source: str,
        *,
        on_start: Callable[[Connection, int], None] | None = None,
    ) -> IngestSummary:
        """Store everything in `items`; raise StoreUnavailable if the database fails.

        The run's row is committed (status `running`) before the first item is read, with
        whatever `on_start(connection, run_id)` writes in the same transaction (an audit
        entry); every chunk's transaction updates its counts; the end sets `finished` or
        `failed`.
        """
        run = _Run(start_run(self.engine, self.entry_point, source, on_start))
        try:
            for chunk in self._chunks(iter(items)):
                self._commit_chunk(chunk, run)
                del chunk  # before the one after the next is read: two in memory at most
        except Exception as exc:
            finish_run(self.engine, run, "failed", str(exc) or repr(exc), self.limits)
            raise
        finish_run(self.engine, run, "finished", None, self.limits)
        return run.total

    def _chunks(self, items: Iterator[Item]) -> Iterator[_Chunk]:
        """The input's chunks, each parsed in a worker thread while the one before it is
        being written: the database works (and the driver waits, without the GIL) while
        Python parses, instead of each waiting for the other. Only the worker reads `items`."""
        kept = IngestSummary()  # the dead letters kept so far, for the per-file cap
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-parse") as worker:
            chunk = worker.submit(self._digest_chunk, items, kept).result()
            while chunk.marks:
                following = worker.submit(self._digest_chunk, items, kept)
                yield chunk
                del chunk
                chunk = following.result()

    def _digest_chunk(self, items: Iterator[Item], kept: IngestSummary) -> _Chunk:
        """The next items up to `batch_size` of them or `limits.batch_bytes` of input, parsed
        as they are read: each leaves nothing of its own behind but its bytes and a mark.
        Dead letters past the per-file cap (counting `kept`, those of the chunks before)
        are counted as `cut`, not kept; `kept` then counts this chunk's too."""
        chunk, limits = _Chunk(), self.limits
        digested, size = chunk.digested, 0
        while len(chunk.marks) < self.batch_size and size < limits.batch_bytes:
            item = next(items, None)
            if item is None:
                break
            chunk.marks.append(digested.mark())
            chunk.raws.append(item.raw)
            chunk.sources.append(item.source)
            size += len(item.raw)
            digest_into(digested, item, self.unwrapper)
            excess = kept.dead_lettered + digested.summary.dead_lettered
            excess -= limits.max_dead_letters_per_file
            if excess > 0 and (item.problem is None or item.problem[0] != FILE_TOO_LARGE):
                # Past the cap: counted, not stored (the file's cut is always kept).
                del digested.batch.dead_letters[-excess:]
                digested.summary.dead_lettered -= excess
                digested.summary.cut += excess
        kept.dead_lettered += digested.summary.dead_lettered
        return chunk

    def _commit_chunk(self, chunk: _Chunk, run: _Run) -> None:
        try:
            self._commit_counted(chunk.digested, run)
        except StoreUnavailable as whole:
            if not refuses_the_values(whole.__cause__):
                raise
            if len(chunk.marks) == 1:
                self._commit_refused(chunk.digested, chunk.raws[0], chunk.sources[0], run, whole)
                return
            # Which item did the database refuse (a value it cannot hold, a packet too
            # large)? Alone, each of the others is stored and that one is dead-lettered.
            for one, raw, source in chunk.pieces():
                try:
                    self._commit_counted(one, run)
                except StoreUnavailable as exc:
                    if not refuses_the_values(exc.__cause__):
                        raise
                    self._commit_refused(one, raw, source, run, exc)

    def _commit_refused(
        self, one: Digested, raw: bytes, source: str, run: _Run, error: StoreUnavailable
    ) -> None:
        """Store an item the database refused as a dead letter with the database's reason;
        if even that fails, the database is unavailable and the first error is raised."""
        letter = Digested(summary=IngestSummary(received=one.summary.received))
        reason, kept = str(error), raw[:PREFIX_BYTES]
        if len(kept) < len(raw):
            reason += f"; {len(raw)} bytes, sha256 {sha256_hex(raw)}; kept: the first {len(kept)}"
            letter.summary.truncated += 1
        _dead_letter(letter, source, Unusable(kept, "store_error", reason))
        try:
            self._commit_counted(letter, run)
        except StoreUnavailable:
            raise error from None

    def _commit_counted(self, digested: Digested, run: _Run) -> IngestSummary:
        """Write one Digested and the run's new totals in one transaction."""
        summary = replace(digested.summary)

        def count(connection: Connection, written: Written) -> None:
            summary.stored, summary.duplicates = written.stored, written.duplicates
            run.save(connection, summary)

        _write_with_retry(self.engine, self._stamped(digested.batch), count, self.counted_only)
        run.total.add(summary)
        return summary

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
        batch = self._stamped(_combined(digested))
        written = _write_with_retry(self.engine, batch, counted_only=self.counted_only)
        total.stored, total.duplicates = written.stored, written.duplicates
        return total

    def _commit_each(self, digested: list[Digested]) -> list[IngestSummary]:
        """Write in one transaction; each item's summary, a fact new to the store counted
        as stored once (a second copy in the same chunk is a duplicate)."""
        batch = self._stamped(_combined(digested))
        written = _write_with_retry(self.engine, batch, counted_only=self.counted_only)
        unclaimed = set(written.new_keys)
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

    def _stamped(self, batch: Batch) -> Batch:
        """Each dead letter records who refused it and the least its retry must verify."""
        for row in batch.dead_letters:
            row.entry_point = self.entry_point
            row.verify_mode = refusal_floor(self.verify_mode, row.reason_code)
        return batch


def start_run(
    engine: Engine,
    entry_point: str,
    source: str,
    on_start: Callable[[Connection, int], None] | None = None,
) -> int:
    """Commit a `running` row for a run before any of its input is stored; its id."""
    row = {"entry_point": entry_point, "source": source[:500], "started_at": utcnow()}
    try:
        with engine.begin() as connection:
            result = connection.execute(insert(RUNS).values(status="running", **row))
            run_id = int(result.inserted_primary_key[0])  # type: ignore[index]
            if on_start:
                on_start(connection, run_id)
    except DBAPIError as exc:
        raise StoreUnavailable(describe_database_error(exc)) from exc
    return run_id


def finish_run(
    engine: Engine, run: _Run, status: str, error: str | None, limits: IngestLimits
) -> None:
    """Mark a run `finished` or `failed`; a failure to log never hides the run's result."""
    values = {
        **_run_counts(run.total),
        "status": status,
        "finished_at": utcnow(),
        "error": error,
        "notes": "\n".join(limit_notes(run.total, limits)) or None,
    }
    try:
        with engine.begin() as connection:
            connection.execute(update(RUNS).where(RUNS.c.id == run.id).values(**values))
    except DBAPIError:
        pass


def _run_counts(summary: IngestSummary) -> dict[str, int]:
    names = ("received", "stored", "duplicates", "dead_lettered", *LIMIT_COUNTS)
    return {name: getattr(summary, name) for name in names}


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
        **_run_counts(summary),
        "status": "failed" if error else "finished",
        "error": error,
    }
    try:
        with engine.begin() as connection:
            connection.execute(insert(RUNS), [row])
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
def _write_once(
    engine: Engine,
    batch: Batch,
    after: Callable[[Connection, Written], None] | None,
    counted_only: frozenset[str],
) -> Written:
    with engine.begin() as connection:
        written = write_batch(connection, batch, utcnow(), counted_only)
        if after:
            after(connection, written)
        return written


def _write_with_retry(
    engine: Engine,
    batch: Batch,
    after: Callable[[Connection, Written], None] | None = None,
    counted_only: frozenset[str] = frozenset(),
) -> Written:
    """Write a batch (and whatever `after` writes in the same transaction)."""
    try:
        return _write_once(engine, batch, after, counted_only)
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
