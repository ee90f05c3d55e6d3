"""Plain-text formatting for figures and times shown on the pages.

Times are stored as naive UTC; they are shown in the display zone (`ui.i18n.zone`) and
always say which zone that is. Table headers come from `ui.terms.COLUMNS`, translated.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

import pandas as pd

from ui import i18n, terms
from ui.i18n import _


def percent(value: float | None, *, digits: int = 2) -> str:
    """0.0512 -> "5.12 %"; None -> "—"."""
    if value is None:
        return "—"
    return f"{value * 100:.{digits}f} %"


def timestamp(value: datetime | None) -> str:
    """A stored time in the display zone, labelled with the zone: "2026-12-02 09:30 JST"."""
    if value is None:
        return _("never")
    shown = i18n.local(value)
    return f"{shown:%Y-%m-%d %H:%M} {shown.tzname() or i18n.zone_name()}"


def today_utc() -> date:
    """Today as SES and CloudWatch count days (the daily counts and rates)."""
    return datetime.now(UTC).date()


def today() -> date:
    """Today in the display zone: the last day a date filter may pick."""
    return i18n.today()


def file_stamp(now: datetime | None = None) -> str:
    """When an export was made, for its file name, in the display zone: "2026-12-02_0930JST"."""
    shown = i18n.local(now or datetime.now(UTC))
    zone = "".join(ch for ch in (shown.tzname() or "") if ch.isalnum() or ch in "+-")
    return f"{shown:%Y-%m-%d_%H%M}{zone}"


def file_name(what: str, now: datetime | None = None) -> str:
    """An export's file name, saying what and when: "bounced-users_2026-12-02_0930JST.csv"."""
    return f"{what}_{file_stamp(now)}.csv"


def labels(columns: Iterable[object]) -> dict[str, str]:
    """Column headers for st.dataframe in this run's language; a time column names the
    display zone ("Last bounce (JST)")."""
    zone = i18n.zone_label()
    return {str(c): terms.column(str(c), zone) for c in columns}


def local_times(frame: pd.DataFrame, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """`frame` with its time columns (naive UTC) in the display zone, for st.dataframe.
    Without `columns`, every datetime column."""
    names = (
        list(columns)
        if columns is not None
        else [c for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])]
    )
    if not names or frame.empty:
        return frame
    shown = frame.copy()
    for name in names:
        values = pd.to_datetime(shown[name], errors="coerce")
        if values.dt.tz is None:
            values = values.dt.tz_localize("UTC")
        shown[name] = values.dt.tz_convert(i18n.zone_name())
    return shown
