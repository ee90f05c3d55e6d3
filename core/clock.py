"""The one clock: times are stored as naive UTC on every backend (see core.store.models)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import overload


def utcnow() -> datetime:
    """Now, as the naive UTC the database stores."""
    return datetime.now(UTC).replace(tzinfo=None)


@overload
def naive_utc(value: datetime) -> datetime: ...
@overload
def naive_utc(value: None) -> None: ...
@overload
def naive_utc(value: datetime | None) -> datetime | None: ...
def naive_utc(value: datetime | None) -> datetime | None:
    """An aware time (botocore returns them) as naive UTC; naive times are taken as UTC."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def day_start(day: date) -> datetime:
    """Midnight UTC of `day`, as the naive UTC datetimes the database stores."""
    return datetime.combine(day, time())
