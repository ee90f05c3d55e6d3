"""Long lists in pieces a single SQL statement (or AWS call) accepts, and the shared sizes.

Every backend limits the parameters of one statement (SQLite 32,766, PostgreSQL 65,535,
MariaDB 65,535), so an `IN (...)` list or a multi-row INSERT is sent in pieces.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TypeVar

T = TypeVar("T")

IN_LIST_SIZE = 500  # values per IN (...) list: well under every backend's parameter limit
ROWS_PER_STATEMENT = 1000  # rows per multi-row INSERT or upsert
EXPORT_BATCH = 2000  # rows fetched at a time (yield_per) while streaming an export


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """`items` in lists of `size` (the last may be shorter); nothing for no items."""
    if size < 1:
        raise ValueError(f"chunk size must be positive, not {size}")
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
