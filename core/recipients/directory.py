"""The product's user directory, imported from CSV so bounced addresses show who they are.

Exports from the product (or from Excel) vary: columns in any order, a UTF-8 byte-order
mark, Shift_JIS from Japanese Excel, Japanese header names. The header row is recognised by
its names; a file without one is read as ``email,user_id,name,company``. Every row either
goes in or is rejected with its line number and a reason: nothing is silently skipped
except blank lines. Re-importing updates existing users; a column the file does not have is
left as it was.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO, NamedTuple

from sqlalchemy import Connection, Engine, func, select

from core.access import Action, Actor, require
from core.addresses import is_valid_address, normalise_address
from core.audit import record_audit
from core.chunks import ROWS_PER_STATEMENT, chunked
from core.clock import utcnow
from core.errors import InvalidInput
from core.store.db import translated_errors
from core.store.tables import USERS
from core.store.upsert import Merge, upsert

COLUMNS = ("email", "user_id", "name", "company")
# Header names we recognise, compared after trimming and lower-casing.
ALIASES: dict[str, str] = {
    "email": "email",
    "e-mail": "email",
    "email_address": "email",
    "mail": "email",
    "メールアドレス": "email",
    "メール": "email",
    "user_id": "user_id",
    "userid": "user_id",
    "user id": "user_id",
    "id": "user_id",
    "ユーザーid": "user_id",
    "name": "name",
    "氏名": "name",
    "名前": "name",
    "company": "company",
    "会社名": "company",
    "会社": "company",
}
LIMITS = {"user_id": 128, "name": 255, "company": 255}


class RejectedRow(NamedTuple):
    line_no: int
    reason: str


@dataclass(slots=True)
class DirectoryImportReport:
    """`imported` new users, `updated` existing ones, and each rejected row with why."""

    imported: int = 0
    updated: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)


def import_users_csv(
    engine: Engine, actor: Actor, data: bytes | BinaryIO, *, source: str = "upload"
) -> DirectoryImportReport:
    """Add or update directory users from a CSV export (operator role); see the module
    docstring. The import and its counts go into the audit log with the users."""
    require(actor, Action.IMPORT_DIRECTORY)
    raw = data if isinstance(data, bytes) else data.read()
    reader = csv.reader(io.StringIO(decode_csv_bytes(raw), newline=""))
    report = DirectoryImportReport()
    rows = _records(reader)
    try:
        first_line, first = next(rows)
    except StopIteration:
        return report
    columns = header_columns(first)
    if columns is None:
        columns = list(COLUMNS)
        rows = _chain(first_line, first, rows)
    accepted = _accepted_rows(rows, columns, report)
    now = utcnow()
    present = [name for name in COLUMNS if name in columns]
    with translated_errors(), engine.begin() as connection:
        for batch in chunked(accepted, ROWS_PER_STATEMENT):
            _store(connection, batch, present, now, report)
        parameters = {
            "source": source,
            "imported": report.imported,
            "updated": report.updated,
            "rejected": len(report.rejected),
            "columns": present,
        }
        outcome = f"{report.imported} added, {report.updated} updated"
        record_audit(connection, actor, "directory.import", None, outcome, parameters)
    return report


def decode_csv_bytes(raw: bytes) -> str:
    """UTF-8 (with or without BOM), else Shift_JIS as Japanese Excel saves it."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp932")
    except UnicodeDecodeError:
        raise InvalidInput("the file is neither UTF-8 nor Shift_JIS text") from None


def header_columns(cells: Sequence[str]) -> list[str] | None:
    """Our column name for each header cell, or None if the row is not a header.

    A row is a header when it names an email column; unknown columns are ignored."""
    names = [ALIASES.get(cell.strip().lstrip("\ufeff").lower(), "") for cell in cells]
    if "email" not in names:
        if cells and cells[0].strip() and not is_valid_address(cells[0]):
            raise InvalidInput(
                f"the first row is neither a header naming an email column nor data: {cells!r}"
            )
        return None
    return names


def _records(reader: Any) -> Iterator[tuple[int, list[str]]]:
    """(line number where the record starts, cells), skipping blank lines."""
    line = 1
    for cells in reader:
        if any(cell.strip() for cell in cells):
            yield line, cells
        line = reader.line_num + 1


def _chain(
    line: int, cells: list[str], rest: Iterator[tuple[int, list[str]]]
) -> Iterator[tuple[int, list[str]]]:
    yield line, cells
    yield from rest


def _accepted_rows(
    rows: Iterator[tuple[int, list[str]]], columns: list[str], report: DirectoryImportReport
) -> list[dict[str, Any]]:
    accepted: list[dict[str, Any]] = []
    first_seen: dict[str, int] = {}
    for line, cells in rows:
        values = {name: cell.strip() for name, cell in zip(columns, cells, strict=False) if name}
        reason = _problem(values, first_seen)
        if reason:
            report.rejected.append(RejectedRow(line, reason))
            continue
        address = normalise_address(values["email"])
        first_seen[address] = line
        row = {name: values.get(name) or None for name in COLUMNS}
        row.update(address=address, email=values["email"])
        accepted.append(row)
    return accepted


def _problem(values: dict[str, str], first_seen: dict[str, int]) -> str | None:
    for name, value in values.items():
        if "\x00" in value:
            # PostgreSQL text cannot hold U+0000: one such cell must not fail the whole file.
            return f"{name} contains a NUL character"
    email = values.get("email", "")
    if not email:
        return "no email address"
    if not is_valid_address(email):
        return f"not a valid email address: {email!r}"
    address = normalise_address(email)
    if address in first_seen:
        return f"duplicate of line {first_seen[address]} ({address})"
    for name, limit in LIMITS.items():
        if len(values.get(name) or "") > limit:
            return f"{name} longer than {limit} characters"
    return None


def _store(
    connection: Connection,
    batch: list[dict[str, Any]],
    present: list[str],
    now: Any,
    report: DirectoryImportReport,
) -> None:
    addresses = [row["address"] for row in batch]
    existing = set(
        connection.scalars(select(USERS.c.address).where(USERS.c.address.in_(addresses)))
    )
    for row in batch:
        row["imported_at"] = now
    merges = [(name, Merge.REPLACE) for name in [*present, "imported_at"]]
    upsert(connection, USERS, batch, ["address"], merges)
    report.updated += len(existing)
    report.imported += len(batch) - len(existing)


def directory_size(engine: Engine) -> int:
    """How many users the directory holds."""
    with translated_errors(), engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(USERS)) or 0)
