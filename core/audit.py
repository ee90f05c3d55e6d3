"""The audit trail: who changed what, when, on which addresses, and how it went.

Append-only. This module is the only one that touches the ``audit_log`` table, and it only
inserts and reads: there is no function that updates or deletes an entry (a test checks
that no module in core does). Every state change and every export of personal data writes
its entries in the same transaction as the change itself, so there is never a change
without its entry. Each entry records the actor's name, and the role they acted with in
its parameters.

Action names are ``area.verb``; `ACTIONS` lists them all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, BinaryIO, cast

from sqlalchemy import Connection, Engine, Select, Table, func, insert, select
from sqlalchemy.sql.elements import ColumnElement

from core.access import Action, Actor, require
from core.addresses import normalise_address
from core.chunks import EXPORT_BATCH, ROWS_PER_STATEMENT, chunked
from core.clock import day_start, utcnow
from core.csv_safety import write_csv
from core.errors import InvalidInput
from core.store.db import translated_errors
from core.store.models import AuditEntry

AUDIT = cast(Table, AuditEntry.__table__)
MAX_PAGE_SIZE = 1000

ACTIONS = (
    "confirmation.confirm",
    "confirmation.revoke",
    "suppression.sync",
    "suppression.removal_requested",
    "suppression.remove_attempt",
    "suppression.remove",
    "suppression.import_job",
    "directory.import",
    "ingest.upload",
    "ingest.poll_sqs",
    "ingest.files",
    "dead_letters.retry",
    "export.bounced",
    "export.exclusions",
    "export.console_csv",
    "export.suppression_mirror",
    "export.audit",
    "alerts.acknowledge",
    "alerts.snooze",
    "alerts.guard_pause",
    "alerts.guard_would_pause",
    "alerts.guard_resume",
    "retention.delete",
    "jobs.run",
    "tokens.create",
    "tokens.revoke",
    "export.recipients_check",
)


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audit entry as stored; `parameters` is JSON text."""

    id: int
    at: datetime
    actor: str
    action: str
    address: str | None
    outcome: str | None
    parameters: str | None
    detail: str | None


AUDIT_HEADER = [f.name for f in fields(AuditRecord)]


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What the audit log shows. `actor` and `address` match case-insensitive substrings,
    `action` exactly; `start`/`end` are days, inclusive, in `zone` (an IANA name)."""

    actor: str | None = None
    action: str | None = None
    address: str | None = None
    start: date | None = None
    end: date | None = None
    zone: str = "UTC"


@dataclass(frozen=True, slots=True)
class AuditPage:
    rows: list[AuditRecord]
    total: int


# --- Writing -------------------------------------------------------------------------------


def audit_row(
    actor: Actor,
    action: str,
    address: str | None,
    outcome: str | None,
    parameters: dict[str, Any] | None = None,
    detail: str | None = None,
) -> dict[str, Any]:
    """One entry as a row to insert; the actor's role goes into its parameters."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}; add it to core.audit.ACTIONS")
    values = {"role": str(actor.role), **(parameters or {})}
    return {
        "at": utcnow(),
        "actor": actor.name,
        "action": action,
        "address": address,
        "outcome": outcome,
        "parameters": json.dumps(values, default=str, ensure_ascii=False, sort_keys=True),
        "detail": detail,
    }


def record_audit(
    connection: Connection,
    actor: Actor,
    action: str,
    address: str | None,
    outcome: str | None,
    parameters: dict[str, Any] | None = None,
    detail: str | None = None,
) -> None:
    """Append one entry inside the caller's transaction."""
    connection.execute(
        insert(AUDIT), [audit_row(actor, action, address, outcome, parameters, detail)]
    )


def record_audit_rows(connection: Connection, rows: list[dict[str, Any]]) -> None:
    """Append many entries built with `audit_row` (one per address of a bulk action)."""
    for chunk in chunked(rows, ROWS_PER_STATEMENT):
        connection.execute(insert(AUDIT), chunk)


# --- Reading -------------------------------------------------------------------------------


def _conditions(flt: AuditFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if flt.actor and flt.actor.strip():
        conditions.append(AUDIT.c.actor.icontains(flt.actor.strip(), autoescape=True))
    if flt.action:
        if flt.action not in ACTIONS:
            raise InvalidInput(f"unknown action {flt.action!r}; use one of {list(ACTIONS)}")
        conditions.append(AUDIT.c.action == flt.action)
    if flt.address and flt.address.strip():
        term = flt.address.strip()
        conditions.append(func.lower(AUDIT.c.address).contains(term.lower(), autoescape=True))
    if flt.start is not None:
        conditions.append(AUDIT.c.at >= day_start(flt.start, flt.zone))
    if flt.end is not None:
        conditions.append(AUDIT.c.at < day_start(flt.end + timedelta(days=1), flt.zone))
    return conditions


def _query(flt: AuditFilter) -> Select[Any]:
    columns = [AUDIT.c[name] for name in AUDIT_HEADER]
    return select(*columns).where(*_conditions(flt)).order_by(AUDIT.c.at.desc(), AUDIT.c.id.desc())


def list_audit(
    engine: Engine, flt: AuditFilter, *, page: int = 1, page_size: int = 50
) -> AuditPage:
    """One page of entries, newest first, and how many match."""
    if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInput(f"page must be >= 1 and page_size 1..{MAX_PAGE_SIZE}")
    query = _query(flt).limit(page_size).offset((page - 1) * page_size)
    count = select(func.count()).select_from(AUDIT).where(*_conditions(flt))
    with translated_errors(), engine.connect() as connection:
        rows = [AuditRecord(*row) for row in connection.execute(query)]
        total = int(connection.scalar(count) or 0)
    return AuditPage(rows, total)


def audit_for_address(engine: Engine, address: str, *, limit: int = 200) -> list[AuditRecord]:
    """What Bounce Desk did to one address (confirmations, removals), newest first."""
    query = (
        select(*(AUDIT.c[name] for name in AUDIT_HEADER))
        .where(AUDIT.c.address == normalise_address(address))
        .order_by(AUDIT.c.at.desc(), AUDIT.c.id.desc())
        .limit(limit)
    )
    with translated_errors(), engine.connect() as connection:
        return [AuditRecord(*row) for row in connection.execute(query)]


def _stream(engine: Engine, flt: AuditFilter) -> Iterator[tuple[Any, ...]]:
    with translated_errors(), engine.connect() as connection:
        result = connection.execution_options(yield_per=EXPORT_BATCH).execute(_query(flt))
        yield from (tuple(row) for row in result)


def export_audit_csv(
    engine: Engine,
    actor: Actor,
    flt: AuditFilter,
    out: BinaryIO,
    *,
    bom: bool = False,
    zone: tzinfo | None = None,
) -> int:
    """Every matching entry as CSV (formula-safe), newest first; returns the rows written.
    Times carry `zone`'s offset when given. The export is itself recorded in the audit log."""
    require(actor, Action.EXPORT)
    written = write_csv(_stream(engine, flt), AUDIT_HEADER, out, bom, zone=zone)
    with translated_errors(), engine.begin() as connection:
        record_audit(
            connection, actor, "export.audit", None, f"{written} rows", {"filter": _describe(flt)}
        )
    return written


def _describe(flt: AuditFilter) -> dict[str, Any]:
    return {f.name: getattr(flt, f.name) for f in fields(flt)}


def parameters_of(record: AuditRecord) -> dict[str, Any]:
    """The entry's parameters as a dict (empty when none or unreadable)."""
    try:
        value = json.loads(record.parameters or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def actors_seen(engine: Engine) -> list[str]:
    """Everyone who has an entry, for the log's actor filter."""
    query = select(AUDIT.c.actor).group_by(AUDIT.c.actor).order_by(AUDIT.c.actor)
    with translated_errors(), engine.connect() as connection:
        return list(connection.scalars(query))
