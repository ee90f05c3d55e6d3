"""Formula injection: every CSV Bounce Desk writes is safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from sqlalchemy import Engine

from core.audit import AuditFilter, export_audit_csv
from core.csv_safety import FORMULA_TRIGGERS
from core.recipients.bounced import BouncedFilter, export_bounced_csv
from core.recipients.mailing import export_exclusions_csv
from core.settings import Settings
from core.suppression.mirror import MirrorFilter, export_console_csv, export_mirror_csv
from tests.factories import OPS
from tests.injection_kit import (
    DASH_ADDRESS,
    DDE,
    FORMULA,
    FORMULA_ADDRESS,
    MARKDOWN_ADDRESS,
    seed_hostile,
)

ROOT = Path(__file__).resolve().parents[1]


def cells(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def live_formulas(rows: list[dict[str, str]]) -> list[str]:
    """Cells a spreadsheet would evaluate."""
    return [v for row in rows for v in row.values() if v and v.startswith(FORMULA_TRIGGERS)]


def test_the_bounced_list_export_neutralises_every_hostile_cell(engine: Engine) -> None:
    seed_hostile(engine)
    out = io.BytesIO()
    export_bounced_csv(engine, OPS, BouncedFilter(), out, bom=True)
    rows = {row["address"]: row for row in cells(out.getvalue())}
    assert live_formulas(list(rows.values())) == []
    formula = rows["'" + FORMULA_ADDRESS]
    assert formula["last_diagnostic_code"] == "'" + FORMULA
    assert formula["user_id"] == "'" + DDE
    assert rows["'" + DASH_ADDRESS]["recipient"] == "'" + DASH_ADDRESS
    assert MARKDOWN_ADDRESS in rows, "text that is not a formula is kept as it is"


def test_the_exclusions_mirror_and_audit_exports_neutralise_hostile_cells(
    engine: Engine,
) -> None:
    seed_hostile(engine)
    for export in (
        lambda out: export_exclusions_csv(engine, OPS, Settings(), out),
        lambda out: export_mirror_csv(engine, OPS, MirrorFilter(), out),
        lambda out: export_audit_csv(engine, OPS, AuditFilter(), out),
    ):
        out = io.BytesIO()
        export(out)
        rows = cells(out.getvalue())
        assert rows, "the hostile entries are exported"
        assert live_formulas(rows) == []
        addresses = {row.get("address") for row in rows}
        assert "'" + FORMULA_ADDRESS in addresses


def test_the_console_file_leaves_out_addresses_a_spreadsheet_would_run_and_names_them(
    engine: Engine,
) -> None:
    seed_hostile(engine)
    export = export_console_csv(engine, OPS)
    # SES matches the file byte for byte: an apostrophe would name another address.
    assert export.body.decode("utf-8").splitlines() == [MARKDOWN_ADDRESS]
    assert sorted(export.left_out) == sorted([DASH_ADDRESS, FORMULA_ADDRESS])


def test_every_csv_writer_in_core_is_the_safe_one_or_the_ses_file() -> None:
    """New exports must go through core.csv_safety.write_csv; only the file SES reads (the
    console file and import jobs, one exact address per line) has its own writer."""
    writers = {
        str(path.relative_to(ROOT)): len(re.findall(r"csv\.writer\(", path.read_text()))
        for path in (ROOT / "core").rglob("*.py")
        if "csv.writer(" in path.read_text()
    }
    assert writers == {"core/csv_safety.py": 1, "core/suppression/mirror.py": 1}
    source = (ROOT / "core" / "suppression" / "mirror.py").read_text()
    console = source[source.index("def console_bulk_delete_csv") :]
    assert "csv.writer(" in console[: console.index("\ndef ")]
