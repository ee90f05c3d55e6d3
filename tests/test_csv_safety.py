"""Every export's CSV: formulas neutralised, UTF-8 with an optional BOM, CRLF, streamed."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal

import pytest

from core.csv_safety import safe_cell, write_csv


@pytest.mark.parametrize(
    "text",
    [
        '=HYPERLINK("http://evil.example","click")',
        "+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1:A9)",
        "\t=1+1",
        "\r=1+1",
        "＝1+1",
    ],
)
def test_a_cell_that_a_spreadsheet_would_run_gets_an_apostrophe_and_stays_readable(
    text: str,
) -> None:
    assert safe_cell(text) == "'" + text


def test_ordinary_text_numbers_and_dates_are_written_as_they_are() -> None:
    assert safe_cell("smtp; 550 5.1.1 user unknown") == "smtp; 550 5.1.1 user unknown"
    assert safe_cell("山田 太郎") == "山田 太郎"
    assert safe_cell(-3) == "-3"
    assert safe_cell(0.05) == "0.05"
    assert safe_cell(None) == ""
    assert safe_cell(True) == "true"
    assert safe_cell(datetime(2026, 10, 1, 9, 30)) == "2026-10-01 09:30:00"


def test_write_csv_uses_crlf_and_quotes_commas_quotes_and_newlines() -> None:
    out = io.BytesIO()
    write_csv([["a,b", 'say "hi"', "two\nlines"]], ["x", "y", "z"], out, bom=False)
    data = out.getvalue()
    assert data == b'x,y,z\r\n"a,b","say ""hi""","two\nlines"\r\n'


def test_the_bom_option_makes_excel_read_japanese_as_utf8() -> None:
    with_bom, without = io.BytesIO(), io.BytesIO()
    write_csv([["山田", "株式会社キューブ"]], ["name", "company"], with_bom, bom=True)
    write_csv([["山田", "株式会社キューブ"]], ["name", "company"], without, bom=False)
    assert with_bom.getvalue().startswith(b"\xef\xbb\xbfname,company\r\n")
    assert not without.getvalue().startswith(b"\xef\xbb\xbf")
    assert with_bom.getvalue()[3:] == without.getvalue()
    assert "株式会社キューブ" in without.getvalue().decode("utf-8")


def test_write_csv_consumes_a_generator_lazily_and_counts_its_rows() -> None:
    pulled = []

    def rows() -> Iterator[list[object]]:
        for number in range(50_000):
            pulled.append(number)
            yield [number, f"=row {number}"]

    class Recording(io.BytesIO):
        rows_pulled_at_first_write: int | None = None

        def write(self, data: bytes) -> int:  # type: ignore[override]
            if self.rows_pulled_at_first_write is None:
                self.rows_pulled_at_first_write = len(pulled)
            return super().write(data)

    out = Recording()
    assert write_csv(rows(), ["n", "text"], out) == 50_000
    assert out.rows_pulled_at_first_write is not None
    assert out.rows_pulled_at_first_write < 5_000, "rows were collected before writing"
    parsed = list(csv.reader(io.StringIO(out.getvalue().decode("utf-8"), newline="")))
    assert len(parsed) == 50_001
    assert parsed[-1] == ["49999", "'=row 49999"]


def test_the_output_stream_stays_open_for_the_caller() -> None:
    out = io.BytesIO()
    write_csv([], ["only", "header"], out)
    out.write(b"more")
    assert out.getvalue() == b"only,header\r\nmore"


def test_write_csv_writes_every_kind_of_value_exactly_as_safe_cell_says() -> None:
    """write_csv lets csv.writer format None, numbers and times itself (for speed): the
    bytes must be the same as cell-by-cell `safe_cell`."""
    row = [
        None, 0, -3, 2**70, 1.5, -0.1, 1e-300, float("inf"), True, False,
        datetime(2026, 10, 1, 9, 30), datetime(2026, 10, 1, 9, 30, 0, 1500), date(2026, 1, 2),
        "=1+1", "-x", "plain", "＝全角", "", Decimal("-1.5"), "tab\there", "\r",
    ]  # fmt: skip
    out = io.BytesIO()
    write_csv([row], ["h"] * len(row), out)
    expected = io.StringIO(newline="")
    csv.writer(expected, lineterminator="\r\n").writerows(
        [["h"] * len(row), [safe_cell(v) for v in row]]
    )
    assert out.getvalue().decode("utf-8") == expected.getvalue()


def test_with_a_zone_times_are_iso_8601_with_that_zones_offset_and_without_one_as_stored() -> None:
    from zoneinfo import ZoneInfo

    stored = datetime(2026, 12, 2, 0, 30)  # naive UTC, as the database keeps it
    tokyo = io.BytesIO()
    write_csv([("a@example.com", stored)], ["address", "at"], tokyo, zone=ZoneInfo("Asia/Tokyo"))
    assert tokyo.getvalue().decode().splitlines()[1] == "a@example.com,2026-12-02T09:30:00+09:00"
    plain = io.BytesIO()
    write_csv([("a@example.com", stored)], ["address", "at"], plain)
    assert plain.getvalue().decode().splitlines()[1] == "a@example.com,2026-12-02 00:30:00"
