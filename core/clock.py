"""The one clock: times are stored as naive UTC on every backend (see core.store.models)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import InvalidInput


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


def day_start(day: date, zone: str = "UTC") -> datetime:
    """Midnight of `day` in `zone` (an IANA name; UTC by default), as the naive UTC
    datetimes the database stores: a day in Tokyo starts at 15:00 UTC the day before."""
    if zone == "UTC":
        return datetime.combine(day, time())
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"unknown time zone {zone!r}; use an IANA name such as Asia/Tokyo"
        ) from None
    return naive_utc(datetime.combine(day, time(), tzinfo=tz))
