"""Plain-text formatting for figures and times shown on the pages."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime


def percent(value: float | None, *, digits: int = 2) -> str:
    """0.0512 -> "5.12 %"; None -> "—"."""
    if value is None:
        return "—"
    return f"{value * 100:.{digits}f} %"


def timestamp(value: datetime | None) -> str:
    """Stored times are naive UTC; say so."""
    if value is None:
        return "never"
    return value.strftime("%Y-%m-%d %H:%M UTC")


def today_utc() -> date:
    return datetime.now(UTC).date()


def labels(columns: Iterable[object]) -> dict[str, str]:
    """Column headers for st.dataframe: "last_bounce_at" -> "Last bounce at"."""
    return {str(c): str(c).replace("_", " ").capitalize() for c in columns}
