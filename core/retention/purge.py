"""Delete raw facts (and the keys of facts stored as counts only) past their kind's age.

Each batch is its own short transaction, with its audit entry: a batch holds its locks
only while it deletes its own rows, so ingest and the dashboard keep going, and a run that
is stopped (killed, or out of its batch budget) loses nothing: what it committed is gone
and audited, and the next run deletes the rest, since what is due is decided from the
rows themselves and `now`, never from a run's own bookkeeping.

Only `facts` and `fact_keys` lose rows. The daily counts, the per-domain counts and the
per-address summaries are kept at ingest and never read back from the facts, so every
total stays what it was.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Column, Connection, Engine, Table, delete, select

from core.access import Action, Actor, cli_actor, require
from core.audit import record_audit
from core.chunks import IN_LIST_SIZE, chunked
from core.clock import naive_utc
from core.settings import Settings
from core.store.db import translated_errors
from core.store.tables import FACT_KEYS, FACTS

AUDIT_ACTION = "retention.delete"


@dataclass(slots=True)
class RetentionSummary:
    """What one run deleted, per table and kind, and whether it reached the end (False
    when it stopped at its batch budget: the next run goes on from there)."""

    cutoffs: dict[str, datetime] = field(default_factory=dict)
    facts: dict[str, int] = field(default_factory=dict)
    keys: dict[str, int] = field(default_factory=dict)
    batches: int = 0
    complete: bool = True

    @property
    def deleted(self) -> int:
        return sum(self.facts.values()) + sum(self.keys.values())


class Retention:
    """Deletes what `days` (kind -> days kept, None: forever) says is past its age."""

    def __init__(
        self,
        engine: Engine,
        days: Mapping[str, int | None],
        *,
        actor: Actor,
        batch_size: int = 5_000,
        on_batch: Callable[[Connection], None] | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch size must be positive, not {batch_size}")
        self.engine = engine
        self.days = {kind: n for kind, n in days.items() if n is not None}
        self.actor = actor
        self.batch_size = batch_size
        # Called inside each batch's transaction after its delete (tests stop a run here).
        self.on_batch = on_batch

    @classmethod
    def from_settings(
        cls, settings: Settings, engine: Engine, *, actor: Actor | None = None
    ) -> Retention:
        """Retention as configured (the retention_* settings), acting as `actor` (by
        default the CLI's actor: retention runs from the command line or the job runner)."""
        return cls(
            engine,
            settings.retention_days(),
            actor=actor or cli_actor(settings),
            batch_size=settings.retention_batch_size,
        )

    def run(self, now: datetime, *, max_batches: int | None = None) -> RetentionSummary:
        """Delete every raw fact and key older than its kind's days before `now`, in
        batches; stop after `max_batches` (None: until nothing is due)."""
        require(self.actor, Action.RUN_RETENTION)
        now = naive_utc(now)
        summary = RetentionSummary()
        for kind, days in sorted(self.days.items()):
            cutoff = summary.cutoffs[kind] = now - timedelta(days=days)
            for table, key, counts in (
                (FACTS, FACTS.c.id, summary.facts),
                (FACT_KEYS, FACT_KEYS.c.dedup_key, summary.keys),
            ):
                counts[kind] = 0
                while True:
                    if max_batches is not None and summary.batches >= max_batches:
                        summary.complete = False
                        return summary
                    deleted = self._delete_batch(table, key, kind, cutoff)
                    if not deleted:
                        break
                    counts[kind] += deleted
                    summary.batches += 1
        return summary

    def _delete_batch(self, table: Table, key: Column[object], kind: str, cutoff: datetime) -> int:
        """Delete up to batch_size rows of `kind` older than `cutoff`, oldest first, with
        their audit entry, in one transaction; how many."""
        due = (
            select(key)
            .where(table.c.kind == kind, table.c.occurred_at < cutoff)
            .order_by(table.c.occurred_at)
            .limit(self.batch_size)
        )
        with translated_errors(), self.engine.begin() as connection:
            ids = list(connection.scalars(due))
            if not ids:
                return 0
            for chunk in chunked(ids, IN_LIST_SIZE):
                connection.execute(delete(table).where(key.in_(chunk)))
            record_audit(
                connection,
                self.actor,
                AUDIT_ACTION,
                None,
                f"{len(ids)} deleted",
                {"table": table.name, "kind": kind, "before": cutoff.isoformat(), "rows": len(ids)},
            )
            if self.on_batch:
                self.on_batch(connection)
        return len(ids)
