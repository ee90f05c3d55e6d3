"""CSV files that are safe to open in a spreadsheet, written the same way by every export.

Bounce data is attacker-controlled (a diagnostic code or a directory name can say
anything), and the files are opened in Excel or Google Sheets, which run a cell starting
with ``=``, ``+``, ``-`` or ``@`` as a formula (OWASP "CSV injection"). Such cells get a
leading apostrophe: the spreadsheet shows the text, nothing runs, and a human can still
read it. Numbers are written as numbers (``-3`` is not a formula).

Files are UTF-8 with CRLF line ends (RFC 4180). The optional byte-order mark is what makes
Excel read UTF-8, without it Japanese names open as mojibake. Times are written as stored
(naive UTC) unless the caller names a zone: then as ISO 8601 with that zone's offset
(``2026-12-02T09:30:00+09:00``), which any spreadsheet or program reads unambiguously.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, tzinfo
from typing import Any, BinaryIO

# Full-width forms too: Japanese input methods produce them and spreadsheets may treat
# them like their ASCII twins; an apostrophe in front of them costs nothing.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def safe_cell(value: Any) -> str:
    """One cell as text that no spreadsheet will evaluate.

    None is empty, booleans are ``true``/``false``, datetimes are ISO 8601 (UTC, as stored),
    numbers are left alone; any text starting with a formula character gets a ``'``.
    """
    convert = _BY_TYPE.get(type(value))
    return convert(value) if convert else _text(str(value))


def _text(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


# Exact-type dispatch: exports call this for every cell of every row, so it must be cheap.
_BY_TYPE: dict[type, Callable[[Any], str]] = {
    str: _text,
    type(None): lambda _value: "",
    bool: lambda value: "true" if value else "false",
    int: str,
    float: repr,
    datetime: lambda value: value.isoformat(sep=" "),
    date: date.isoformat,
}


# What csv.writer already writes exactly as `safe_cell` would: None as empty, numbers by
# str/repr, datetimes and dates by str() (which is isoformat with a space). Rows pass these
# through untouched, so an export spends its time on the cells that need a look: text.
_AS_IS = frozenset({type(None), int, float, datetime, date})


def _cells(row: Sequence[Any]) -> list[Any]:
    return [
        value
        if (kind := type(value)) in _AS_IS
        else _text(value)
        if kind is str
        else safe_cell(value)
        for value in row
    ]


def _cell_writer(zone: tzinfo | None) -> Callable[[Any], str]:
    """`safe_cell`, or with times (naive UTC, as stored) shown in `zone` with its offset."""
    if zone is None:
        return safe_cell
    by_type = {
        **_BY_TYPE,
        datetime: lambda value: value.replace(tzinfo=UTC).astimezone(zone).isoformat(),
    }

    def cell(value: Any) -> str:
        convert = by_type.get(type(value))
        return convert(value) if convert else _text(str(value))

    return cell


def write_csv(
    rows: Iterable[Sequence[Any]],
    header: Sequence[str],
    out: BinaryIO,
    bom: bool = False,
    *,
    zone: tzinfo | None = None,
) -> int:
    """Write `header` then every row to `out`, row by row; return the number of data rows.

    `rows` may be a generator over a database cursor: nothing is collected in memory.
    `out` stays open (the caller owns it). With `zone`, times carry that zone's offset.
    """
    cell = _cell_writer(zone)
    text = io.TextIOWrapper(out, encoding="utf-8-sig" if bom else "utf-8", newline="")
    try:
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow([safe_cell(name) for name in header])
        count = 0
        for row in rows:
            writer.writerow(_cells(row) if zone is None else [cell(value) for value in row])
            count += 1
        text.flush()
        return count
    finally:
        text.detach()
