"""Each database's own idempotent insert and atomic upsert, behind one interface.

SNS and SQS deliver at least once and several ingesters may run at once, so inserts
must skip existing keys and counters must be incremented in the database, never
read-modified-written in Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table, case, func
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement


def insert_ignoring_duplicates(
    connection: Connection, table: Table, rows: Sequence[dict[str, Any]], key: str
) -> list[Any]:
    """Insert rows whose `key` is new; return the keys actually inserted."""
    if not rows:
        return []
    column = table.c[key]
    dialect = connection.dialect.name
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(table).on_conflict_do_nothing(index_elements=[column])
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=[column])
    else:
        stmt = mysql.insert(table).prefix_with("IGNORE")
    if connection.dialect.insert_returning:
        result = connection.execute(stmt.returning(column), list(rows))
        return list(result.scalars())
    return _insert_then_compare(connection, stmt, table, rows, key)


def _insert_then_compare(
    connection: Connection, stmt: Any, table: Table, rows: Sequence[dict[str, Any]], key: str
) -> list[Any]:
    """For MySQL without RETURNING: insert one by one and read the affected-row count."""
    inserted = []
    for row in rows:
        if connection.execute(stmt, row).rowcount:
            inserted.append(row[key])
    return inserted


class Merge:
    """How an upsert combines an existing column value with the incoming one."""

    ADD = "add"
    EARLIEST = "earliest"
    LATEST = "latest"
    REPLACE = "replace"


def upsert(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    merges: Sequence[tuple[str, Any]],
) -> None:
    """Insert rows; on a key conflict combine columns as `merges` says, in that order.

    A merge is (column, Merge.*) or (column, callable(existing_columns, incoming_columns)
    -> SQL expression). Order
    matters on MySQL, where later assignments see the values set by earlier ones.
    """
    if not rows:
        return
    dialect = connection.dialect.name
    if dialect in {"postgresql", "sqlite"}:
        module: Any = postgresql if dialect == "postgresql" else sqlite
        stmt = module.insert(table)
        incoming = stmt.excluded
        assignments = {name: _merge(dialect, table, incoming, name, how) for name, how in merges}
        stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_=assignments)
    else:
        stmt = mysql.insert(table)
        incoming = stmt.inserted
        stmt = stmt.on_duplicate_key_update(
            [(name, _merge(dialect, table, incoming, name, how)) for name, how in merges]
        )
    connection.execute(stmt, list(rows))


def _merge(dialect: str, table: Table, incoming_columns: Any, name: str, how: Any) -> Any:
    if callable(how):
        return how(table.c, incoming_columns)
    existing, incoming = table.c[name], incoming_columns[name]
    if how == Merge.ADD:
        return existing + incoming
    if how == Merge.REPLACE:
        return incoming
    if how == Merge.EARLIEST:
        return _pick(dialect, existing, incoming, earliest=True)
    if how == Merge.LATEST:
        return _pick(dialect, existing, incoming, earliest=False)
    raise ValueError(f"unknown merge {how!r}")


def _pick(dialect: str, existing: Any, incoming: Any, *, earliest: bool) -> ColumnElement[Any]:
    """LEAST/GREATEST that ignore NULL on every backend (MySQL and SQLite's do not)."""
    a = func.coalesce(existing, incoming)
    b = func.coalesce(incoming, existing)
    if dialect == "sqlite":
        return func.min(a, b) if earliest else func.max(a, b)
    return func.least(a, b) if earliest else func.greatest(a, b)


def newer_wins(time_column: str, column: str) -> Any:
    """Merge that keeps `column` from whichever row has the newer `time_column`."""

    def merge(existing: Any, incoming: Any) -> Any:
        new_time, old_time = incoming[time_column], existing[time_column]
        take_incoming = new_time.is_not(None) & (old_time.is_(None) | (new_time >= old_time))
        return case((take_incoming, incoming[column]), else_=existing[column])

    return merge
