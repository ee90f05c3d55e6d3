"""Each database's own idempotent insert and atomic upsert, behind one interface.

SNS and SQS deliver at least once and several ingesters may run at once, so inserts
must skip existing keys and counters must be incremented in the database, never
read-modified-written in Python.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import Connection, DateTime, Select, Table, case, column, func, select, text
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import ColumnElement


def insert_ignoring_duplicates(
    connection: Connection,
    table: Table,
    rows: Sequence[Any],
    key: str,
    columns: Sequence[str] | None = None,
) -> list[Any]:
    """Insert rows whose `key` is new; return the keys actually inserted.

    Rows are dicts, or with `columns` tuples in that order: cheaper to make and to bind where
    there is one per recipient fact.
    """
    if not rows:
        return []
    if columns is not None and connection.dialect.name != "sqlite":
        rows = [dict(zip(columns, row, strict=True)) for row in rows]
        columns = None
    column = table.c[key]
    dialect = connection.dialect.name
    if dialect == "postgresql":
        names, source, records = json_rows(connection, table, rows)
        stmt: Any = (
            postgresql.insert(table)
            .from_select(names, source)
            .on_conflict_do_nothing(index_elements=[column])
            .returning(column)
        )
        return list(connection.execute(stmt, records).scalars())
    if dialect == "sqlite":
        return _sqlite_insert_each(connection, table, rows, key, columns)
    stmt = mysql.insert(table).prefix_with("IGNORE")
    if connection.dialect.insert_returning:
        result = connection.execute(stmt.returning(column), list(rows))
        return list(result.scalars())
    return _insert_then_compare(connection, stmt, table, rows, key)


def json_rows(
    connection: Connection, table: Table, rows: Sequence[dict[str, Any]]
) -> tuple[list[str], Select[*tuple[Any, ...]], dict[str, str]]:
    """PostgreSQL: the rows as one SELECT over a single JSON parameter: its column names,
    the SELECT, and the parameter to execute it with.

    The statement stays short and is compiled once however many rows there are, and the
    table's own row type converts each field, in C. A multi-row VALUES list instead has a
    placeholder per value, and psycopg rewrites each of them in Python: that cost three
    times the database's own work. (Not for SQLite: its json_extract re-parses the object
    for every field, which is slower than one prepared statement per row.) The JSON is not
    bound into the statement: SQLAlchemy's cache keeps the first statement it compiles, and
    with it megabytes of rows for as long as the process lives.
    """
    names = list(rows[0])
    records = _json_text(rows)
    name = connection.dialect.identifier_preparer.format_table(table)
    source = text(f"json_populate_recordset(NULL::{name}, CAST(:records AS json))")
    return names, select(*[column(n) for n in names]).select_from(source), {"records": records}


def _sqlite_insert_each(
    connection: Connection,
    table: Table,
    rows: Sequence[Any],
    key: str,
    columns: Sequence[str] | None,
) -> list[Any]:
    """SQLite: one prepared single-row INSERT, run row by row on the driver; a row was new
    when it changed one row.

    SQLAlchemy's multi-row form compiles a statement as long as the chunk, a new one for
    every chunk size, and sqlite3 keeps 128 of them prepared: a parse per chunk and, over a
    large file, hundreds of MB. RETURNING would say the same as the row count, at half again
    the cost of the insert itself.
    """
    stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=[key])
    names = list(rows[0]) if columns is None else list(columns)
    sql, values = _sqlite_statement(connection, stmt, table, names, positional=columns is not None)
    key_of = itemgetter(key if columns is None else names.index(key))
    inserted = []
    with _driver_cursor(connection, sql) as cursor:
        execute = cursor.execute
        for row in rows:
            if execute(sql, values(row)).rowcount:
                inserted.append(key_of(row))
    return inserted


def _sqlite_statement(
    connection: Connection, stmt: Any, table: Table, names: list[str], *, positional: bool
) -> tuple[str, Callable[[Any], list[Any]]]:
    """The SQL of `stmt` for rows with the columns `names`, and a function giving a row's
    values in the statement's order, converted by the dialect's own type processors (as
    SQLAlchemy would, minus its per-row bookkeeping, which cost more than SQLite's own work).
    A row is a dict or, if `positional`, a tuple in the order of `names`."""
    dialect = connection.dialect
    compiled = stmt.compile(dialect=dialect, column_keys=names)
    order = list(compiled.positiontup or [])
    if not set(order) <= set(table.c.keys()):
        raise ValueError(f"statement has parameters other than columns: {order}")
    columns = [table.c[name] for name in order]
    processors = [_bind_processor(c.type.dialect_impl(dialect), dialect) for c in columns]
    converting = [(i, fn) for i, fn in enumerate(processors) if fn is not None]
    if positional:
        if not set(order) <= set(names):
            raise ValueError(f"rows lack some of the statement's parameters: {order}")
        pick = _picker([names.index(name) for name in order])
    else:
        pick = _dict_picker(order, [_scalar_default(c) for c in columns])

    def values(row: Any) -> list[Any]:
        found = list(pick(row))
        for i, convert in converting:
            if found[i] is not None:
                found[i] = convert(found[i])
        return found

    return compiled.string, values


def _picker(keys: list[Any]) -> Callable[[Any], tuple[Any, ...]]:
    if len(keys) == 1:
        return lambda row: (row[keys[0]],)
    return itemgetter(*keys)


def _dict_picker(order: list[str], defaults: list[Any]) -> Callable[[Any], tuple[Any, ...]]:
    """Values of a dict row in `order`; a column the row lacks takes its scalar default."""
    every = _picker(order)

    def pick(row: dict[str, Any]) -> tuple[Any, ...]:
        try:
            return every(row)
        except KeyError:
            return tuple(
                row.get(name, default) for name, default in zip(order, defaults, strict=True)
            )

    return pick


_PROBE = datetime(2001, 2, 3, 4, 5, 6, 7)


def _bind_processor(impl: Any, dialect: Any) -> Callable[[Any], Any] | None:
    """The type's bind processor, or a faster one that gives the same result: SQLAlchemy's
    SQLite DATETIME formats each field in Python, three times a fact and more per summary.
    The fast form is used only if it formats a probe exactly as SQLAlchemy does."""
    slow = impl.bind_processor(dialect)
    if slow is None or not isinstance(impl, DateTime):
        return slow
    if slow(_PROBE) != _PROBE.isoformat(" ", "microseconds"):
        return slow

    def fast(value: Any) -> Any:
        if type(value) is datetime and value.tzinfo is None:
            return value.isoformat(" ", "microseconds")
        return slow(value)

    return fast


@contextmanager
def _driver_cursor(connection: Connection, sql: str) -> Iterator[Any]:
    """A cursor of the connection's own transaction; driver errors raised as SQLAlchemy
    raises them, so that they are retried or become StoreUnavailable like any other."""
    driver_error = connection.dialect.loaded_dbapi.Error
    cursor = connection.connection.cursor()
    try:
        yield cursor
    except driver_error as exc:
        raise DBAPIError.instance(sql, None, exc, driver_error) from exc
    finally:
        cursor.close()


def _scalar_default(column: Any) -> Any:
    default = column.default
    return default.arg if default is not None and default.is_scalar else None


def _json_text(rows: Sequence[dict[str, Any]]) -> str:
    """The rows as a JSON array: by orjson (a tenth of the standard library's time on a
    chunk of facts), by the standard library for what orjson refuses (integers past 64
    bits, lone surrogates), so that such a value is refused by the database, as before."""
    try:
        return orjson.dumps(rows, default=_json_default).decode()
    except orjson.JSONEncodeError:
        return json.dumps(rows, default=_json_default, ensure_ascii=False)


def _json_default(value: Any) -> str:
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    if isinstance(value, bytes):  # bytea's text form, which json_populate_recordset reads
        return "\\x" + value.hex()
    raise TypeError(f"cannot store {type(value).__name__} as JSON")


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
    if dialect not in {"postgresql", "sqlite"}:  # MySQL and MariaDB
        stmt = mysql.insert(table)
        incoming = stmt.inserted
        stmt = stmt.on_duplicate_key_update(
            [(name, _merge(dialect, table, incoming, name, how)) for name, how in merges]
        )
        connection.execute(stmt, list(rows))
        return
    module: Any = postgresql if dialect == "postgresql" else sqlite
    stmt = module.insert(table)
    assignments = {name: _merge(dialect, table, stmt.excluded, name, how) for name, how in merges}
    if dialect == "postgresql":
        names, source, records = json_rows(connection, table, rows)
        stmt = stmt.from_select(names, source)
        connection.execute(
            stmt.on_conflict_do_update(index_elements=list(keys), set_=assignments), records
        )
        return
    stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_=assignments)
    sql, values = _sqlite_statement(connection, stmt, table, list(rows[0]), positional=False)
    with _driver_cursor(connection, sql) as cursor:
        cursor.executemany(sql, [values(row) for row in rows])


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
