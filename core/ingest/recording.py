"""Write one batch of parsed input in one transaction: facts, summaries, daily counts (per
kind and per domain), confirmations and dead letters. Summaries and counts change only for
facts that were actually new, so a redelivery never counts twice."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, insert

from core.ingest.events import ParsedFact, storable_text
from core.policy import NOT_COUNTED_SUBTYPES
from core.store.models import (
    DeadLetter,
    SnsConfirmation,
)
from core.store.tables import DAILY, DOMAINS, FACT_KEYS, FACTS, SET_DAILY, SUMMARIES
from core.store.upsert import Merge, insert_ignoring_duplicates, newer_wins, upsert

# A reason may quote the input; a long one adds nothing and would overflow a MySQL TEXT.
MAX_REASON = 2_000


@dataclass(slots=True)
class DeadLetterRow:
    source: str
    reason_code: str
    reason: str
    raw: bytes
    # Which entry point refused it, and the least a retry must verify (core.ingest.trust).
    entry_point: str | None = None
    verify_mode: str | None = None


@dataclass(slots=True)
class Batch:
    """What one chunk of input turned into, ready to be written together."""

    facts: list[ParsedFact] = field(default_factory=list)
    confirmations: list[dict[str, Any]] = field(default_factory=list)
    dead_letters: list[DeadLetterRow] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Written:
    stored: int
    duplicates: int
    new_keys: frozenset[bytes] = frozenset()


def write_batch(
    connection: Connection,
    batch: Batch,
    received_at: datetime,
    counted_only: frozenset[str] = frozenset(),
) -> Written:
    """Store a batch; return how many facts were new and how many were already there.

    Facts of the kinds in `counted_only` are counted (summaries, daily counts) but not
    stored: only their keys are, in fact_keys, so a redelivery is still a duplicate."""
    unique = {fact.dedup_key: fact for fact in batch.facts}
    ordered = sorted(unique.values(), key=_key)
    rows = [(*fact, received_at) for fact in ordered if fact.kind not in counted_only]
    new_keys = set(insert_ignoring_duplicates(connection, FACTS, rows, "dedup_key", FACT_COLUMNS))
    if counted_only:
        keys = [(f.dedup_key, f.kind, f.occurred_at) for f in ordered if f.kind in counted_only]
        new_keys.update(
            insert_ignoring_duplicates(connection, FACT_KEYS, keys, "dedup_key", KEY_COLUMNS)
        )
    new_facts = [fact for fact in unique.values() if fact.dedup_key in new_keys]
    _update_summaries(connection, new_facts)
    _update_daily_counts(connection, new_facts)
    _update_domain_counts(connection, new_facts)
    _update_config_set_counts(connection, new_facts)
    insert_ignoring_duplicates(
        connection, cast(Table, SnsConfirmation.__table__), batch.confirmations, "sns_message_id"
    )
    if batch.dead_letters:
        connection.execute(
            insert(cast(Table, DeadLetter.__table__)),
            [_dead_letter_row(row, received_at) for row in batch.dead_letters],
        )
    return Written(
        stored=len(new_facts),
        duplicates=len(batch.facts) - len(new_facts),
        new_keys=frozenset(new_keys),
    )


def _key(fact: ParsedFact) -> bytes:
    # A fixed order keeps concurrent ingesters from deadlocking on each other's rows.
    return fact.dedup_key


# A fact's row is the fact itself and the time its batch was received.
FACT_COLUMNS = (*ParsedFact._fields, "received_at")
KEY_COLUMNS = ("dedup_key", "kind", "occurred_at")


def _dead_letter_row(row: DeadLetterRow, received_at: datetime) -> dict[str, Any]:
    return {
        "received_at": received_at,
        "source": storable_text(row.source[:500]),
        "reason_code": row.reason_code[:64],
        "reason": storable_text(row.reason[:MAX_REASON]),
        "raw": row.raw,
        "entry_point": row.entry_point,
        "verify_mode": row.verify_mode,
        "status": "open",
        "attempts": 0,
    }


# --- per-address summaries -----------------------------------------------------------------

_COUNTERS = {
    "hard": "hard_count",
    "soft": "soft_count",
    "undetermined": "undetermined_count",
}
_LATEST_BOUNCE_FIELDS = (
    "last_bounce_type",
    "last_bounce_subtype",
    "last_classification",
    "last_diagnostic_code",
)
# Order matters on MySQL: fields that compare against last_bounce_at come before it.
SUMMARY_MERGES: list[tuple[str, Any]] = [
    ("recipient", Merge.REPLACE),
    *[(name, newer_wins("last_bounce_at", name)) for name in _LATEST_BOUNCE_FIELDS],
    ("hard_count", Merge.ADD),
    ("soft_count", Merge.ADD),
    ("undetermined_count", Merge.ADD),
    ("complaint_count", Merge.ADD),
    ("delivery_count", Merge.ADD),
    ("first_bounce_at", Merge.EARLIEST),
    ("last_bounce_at", Merge.LATEST),
    ("last_hard_bounce_at", Merge.LATEST),
    ("last_soft_bounce_at", Merge.LATEST),
    ("last_complaint_at", Merge.LATEST),
    ("last_delivery_at", Merge.LATEST),
]
# What a delivery changes: none of it indexed (see _update_summaries).
DELIVERY_MERGES: list[tuple[str, Any]] = [
    ("recipient", Merge.REPLACE),
    ("delivery_count", Merge.ADD),
    ("last_delivery_at", Merge.LATEST),
]
_SUMMARISED_KINDS = frozenset({"bounce", "complaint", "delivery"})
_EMPTY_SUMMARY: dict[str, Any] = {
    **{name: None for name, _ in SUMMARY_MERGES},
    **{name: 0 for name, how in SUMMARY_MERGES if how == Merge.ADD},
}


def _update_summaries(connection: Connection, facts: Sequence[ParsedFact]) -> None:
    summaries: dict[str, dict[str, Any]] = {}
    for fact in facts:
        if fact.kind in _SUMMARISED_KINDS:
            row = summaries.get(fact.address)
            if row is None:
                row = summaries[fact.address] = _empty_summary(fact)
            _add_to_summary(row, fact)
    rows = [summaries[address] for address in sorted(summaries)]
    if connection.dialect.name == "sqlite":
        # SQLite rewrites the index entries of every column a SET clause names, changed or
        # not (PostgreSQL and InnoDB compare values), and deliveries are the commonest fact
        # where SES publishes them: an address that only had deliveries gets a statement
        # that names no indexed column. Two statements cannot deadlock there: one writer.
        deliveries = [row for row in rows if _deliveries_only(row)]
        rows = [row for row in rows if not _deliveries_only(row)]
        upsert(connection, SUMMARIES, deliveries, ["address"], DELIVERY_MERGES)
    upsert(connection, SUMMARIES, rows, ["address"], SUMMARY_MERGES)


def _deliveries_only(row: dict[str, Any]) -> bool:
    return row["last_bounce_at"] is None and row["last_complaint_at"] is None


def _empty_summary(fact: ParsedFact) -> dict[str, Any]:
    row = _EMPTY_SUMMARY.copy()
    row.update(address=fact.address, recipient=fact.recipient, domain=fact.domain)
    return row


def _add_to_summary(row: dict[str, Any], fact: ParsedFact) -> None:
    at = fact.occurred_at
    if fact.kind == "delivery":
        row["delivery_count"] += 1
        row["last_delivery_at"] = _latest(row["last_delivery_at"], at)
        return
    if fact.kind == "complaint":
        row["complaint_count"] += 1
        row["last_complaint_at"] = _latest(row["last_complaint_at"], at)
        return
    row[_COUNTERS.get(fact.classification or "", "undetermined_count")] += 1
    first = row["first_bounce_at"]
    row["first_bounce_at"] = at if first is None else min(first, at)
    if row["last_bounce_at"] is None or at >= row["last_bounce_at"]:
        row.update(
            last_bounce_at=at,
            last_bounce_type=fact.bounce_type,
            last_bounce_subtype=fact.bounce_subtype,
            last_classification=fact.classification,
            last_diagnostic_code=fact.diagnostic_code,
        )
    if fact.classification == "hard":
        row["last_hard_bounce_at"] = _latest(row["last_hard_bounce_at"], at)
    elif fact.classification == "soft":
        row["last_soft_bounce_at"] = _latest(row["last_soft_bounce_at"], at)


def _latest(current: datetime | None, at: datetime) -> datetime:
    return at if current is None or at > current else current


# --- daily counts --------------------------------------------------------------------------


def _update_daily_counts(connection: Connection, facts: Sequence[ParsedFact]) -> None:
    counts: dict[tuple[Any, ...], int] = {}
    for fact in facts:
        key = (
            fact.occurred_at.date(),
            fact.kind,
            fact.classification or "",
            (fact.bounce_subtype or fact.complaint_subtype or "")[:64],
            fact.counts_toward_bounce_rate,
        )
        counts[key] = counts.get(key, 0) + 1
    rows = [
        {
            "day": day,
            "kind": kind,
            "classification": classification,
            "subtype": subtype,
            "counts_toward_rate": counted,
            "count": count,
        }
        for (day, kind, classification, subtype, counted), count in sorted(counts.items())
    ]
    keys = ["day", "kind", "classification", "subtype", "counts_toward_rate"]
    upsert(connection, DAILY, rows, keys, [("count", Merge.ADD)])


# Only these kinds are counted per domain: the overview ranks domains by them.
_DOMAIN_KINDS = frozenset({"bounce", "complaint"})


def _update_domain_counts(connection: Connection, facts: Sequence[ParsedFact]) -> None:
    counts: dict[tuple[Any, ...], int] = {}
    for fact in facts:
        if fact.kind in _DOMAIN_KINDS:
            key = (fact.occurred_at.date(), fact.domain, fact.kind, fact.classification or "")
            counts[key] = counts.get(key, 0) + 1
    rows = [
        {"day": day, "domain": domain, "kind": kind, "classification": classification, "count": n}
        for (day, domain, kind, classification), n in sorted(counts.items())
    ]
    keys = ["day", "domain", "kind", "classification"]
    upsert(connection, DOMAINS, rows, keys, [("count", Merge.ADD)])


# --- daily counts per configuration set ----------------------------------------------------


def counts_toward_set_rate(fact: ParsedFact) -> bool:
    """Whether a fact counts in its stream's rate: the bounce rule for bounces; a complaint
    unless it is about an address on our suppression list (never sent); other kinds always."""
    if fact.kind == "bounce":
        return fact.counts_toward_bounce_rate
    if fact.kind == "complaint":
        return (fact.complaint_subtype or "").lower() not in NOT_COUNTED_SUBTYPES
    return True


def _update_config_set_counts(connection: Connection, facts: Sequence[ParsedFact]) -> None:
    counts: dict[tuple[Any, ...], int] = {}
    for fact in facts:
        if fact.configuration_set:
            key = (
                fact.occurred_at.date(),
                fact.configuration_set[:128],
                fact.kind,
                counts_toward_set_rate(fact),
            )
            counts[key] = counts.get(key, 0) + 1
    rows = [
        {
            "day": day,
            "configuration_set": name,
            "kind": kind,
            "counts_toward_rate": counted,
            "count": count,
        }
        for (day, name, kind, counted), count in sorted(counts.items())
    ]
    keys = ["day", "configuration_set", "kind", "counts_toward_rate"]
    upsert(connection, SET_DAILY, rows, keys, [("count", Merge.ADD)])
