"""What ingestion has done: runs per day and entry point, recent runs, and what is stored.

Read from ``ingestion_runs`` (one row per call of an entry point) and the ingest-time
``daily_counts``, so the ingestion page never counts the facts table.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import Date, Engine, func, select

from core.clock import day_start
from core.store.db import translated_errors
from core.store.tables import DAILY, FACTS, RUNS
from core.store.tables import DEAD_LETTERS as DEAD


class IngestionDay(NamedTuple):
    """Totals of the runs one entry point started on one UTC day (a tuple, so it unpacks
    as (day, entry_point, received, stored, duplicates, dead_lettered))."""

    day: date
    entry_point: str
    received: int
    stored: int
    duplicates: int
    dead_lettered: int


@dataclass(frozen=True, slots=True)
class RunView:
    id: int
    entry_point: str
    source: str
    started_at: datetime
    finished_at: datetime | None
    received: int
    stored: int
    duplicates: int
    dead_lettered: int
    error: str | None


@dataclass(frozen=True, slots=True)
class StoreCounts:
    """Facts by kind and by classification (bounces) / "complaint", their total, when the
    newest fact arrived, and how many dead letters are open."""

    total_facts: int
    by_kind: dict[str, int]
    by_classification: dict[str, int]
    last_received_at: datetime | None
    open_dead_letters: int


def ingestion_counts(engine: Engine, start: date, end: date) -> list[IngestionDay]:
    """Per UTC day (from `start` to `end` inclusive) and entry point, oldest first."""
    day = func.date(RUNS.c.started_at, type_=Date)
    query = (
        select(
            day,
            RUNS.c.entry_point,
            func.sum(RUNS.c.received),
            func.sum(RUNS.c.stored),
            func.sum(RUNS.c.duplicates),
            func.sum(RUNS.c.dead_lettered),
        )
        .where(
            RUNS.c.started_at >= day_start(start),
            RUNS.c.started_at < day_start(end + timedelta(days=1)),
        )
        .group_by(day, RUNS.c.entry_point)
        .order_by(day, RUNS.c.entry_point)
    )
    with translated_errors(), engine.connect() as connection:
        return [
            IngestionDay(_as_date(row[0]), row[1], *(int(v or 0) for v in row[2:]))
            for row in connection.execute(query)
        ]


def recent_runs(engine: Engine, limit: int = 50) -> list[RunView]:
    """The latest runs, newest first."""
    query = (
        select(*(RUNS.c[f.name] for f in fields(RunView)))
        .order_by(RUNS.c.started_at.desc(), RUNS.c.id.desc())
        .limit(limit)
    )
    with translated_errors(), engine.connect() as connection:
        return [RunView(*row) for row in connection.execute(query)]


def store_counts(engine: Engine) -> StoreCounts:
    """What the store holds. Totals come from daily_counts, which ingest keeps in the same
    transaction as the facts, so they equal a COUNT(*) without scanning a million rows."""
    by_kind_query = select(DAILY.c.kind, func.sum(DAILY.c.count)).group_by(DAILY.c.kind)
    by_class_query = (
        select(DAILY.c.kind, DAILY.c.classification, func.sum(DAILY.c.count))
        .where(DAILY.c.kind.in_(["bounce", "complaint"]))
        .group_by(DAILY.c.kind, DAILY.c.classification)
    )
    # Ids grow with insertion, so the highest id is the newest fact: an index lookup.
    newest = select(FACTS.c.received_at).order_by(FACTS.c.id.desc()).limit(1)
    open_dead = select(func.count()).select_from(DEAD).where(DEAD.c.status == "open")
    with translated_errors(), engine.connect() as connection:
        by_kind = {kind: int(n) for kind, n in connection.execute(by_kind_query)}
        by_class: dict[str, int] = {}
        for kind, classification, n in connection.execute(by_class_query):
            key = "complaint" if kind == "complaint" else classification or "undetermined"
            by_class[key] = by_class.get(key, 0) + int(n)
        last = connection.scalar(newest)
        dead = int(connection.scalar(open_dead) or 0)
    return StoreCounts(sum(by_kind.values()), by_kind, by_class, last, dead)


def _as_date(value: date | str) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value
