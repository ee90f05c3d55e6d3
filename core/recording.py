"""Write one batch of parsed input in one transaction: facts, summaries, daily counts,
confirmations and dead letters. Summaries and daily counts change only for facts that
were actually new, so a redelivery never counts twice."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Any

from sqlalchemy import Connection, insert

from core.events import ParsedFact, storable_text
from core.models import AddressSummary, DailyCount, DeadLetter, Fact, SnsConfirmation
from core.upsert import Merge, insert_ignoring_duplicates, newer_wins, upsert

FACTS = Fact.__table__
SUMMARIES = AddressSummary.__table__
DAILY = DailyCount.__table__
# A reason may quote the input; a long one adds nothing and would overflow a MySQL TEXT.
MAX_REASON = 2_000


@dataclass(slots=True)
class DeadLetterRow:
    source: str
    reason_code: str
    reason: str
    raw: bytes


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
    new_keys: frozenset[str] = frozenset()


def write_batch(connection: Connection, batch: Batch, received_at: datetime) -> Written:
    """Store a batch; return how many facts were new and how many were already there."""
    unique = {fact.dedup_key: fact for fact in batch.facts}
    rows = [_fact_row(fact, received_at) for fact in sorted(unique.values(), key=_key)]
    new_keys = set(insert_ignoring_duplicates(connection, FACTS, rows, "dedup_key"))
    new_facts = [fact for fact in unique.values() if fact.dedup_key in new_keys]
    _update_summaries(connection, new_facts)
    _update_daily_counts(connection, new_facts)
    insert_ignoring_duplicates(
        connection, SnsConfirmation.__table__, batch.confirmations, "sns_message_id"
    )
    if batch.dead_letters:
        connection.execute(
            insert(DeadLetter.__table__),
            [_dead_letter_row(row, received_at) for row in batch.dead_letters],
        )
    return Written(
        stored=len(new_facts),
        duplicates=len(batch.facts) - len(new_facts),
        new_keys=frozenset(new_keys),
    )


def _key(fact: ParsedFact) -> str:
    # A fixed order keeps concurrent ingesters from deadlocking on each other's rows.
    return fact.dedup_key


_FACT_FIELDS = tuple(ParsedFact.__slots__)
_fact_values = attrgetter(*_FACT_FIELDS)


def _fact_row(fact: ParsedFact, received_at: datetime) -> dict[str, Any]:
    row = dict(zip(_FACT_FIELDS, _fact_values(fact), strict=True))
    row["received_at"] = received_at
    return row


def _dead_letter_row(row: DeadLetterRow, received_at: datetime) -> dict[str, Any]:
    return {
        "received_at": received_at,
        "source": storable_text(row.source[:500]),
        "reason_code": row.reason_code[:64],
        "reason": storable_text(row.reason[:MAX_REASON]),
        "raw": row.raw,
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
_SUMMARISED_KINDS = frozenset({"bounce", "complaint", "delivery"})


def _update_summaries(connection: Connection, facts: Sequence[ParsedFact]) -> None:
    summaries: dict[str, dict[str, Any]] = {}
    for fact in facts:
        if fact.kind in _SUMMARISED_KINDS:
            row = summaries.setdefault(fact.address, _empty_summary(fact))
            _add_to_summary(row, fact)
    rows = [summaries[address] for address in sorted(summaries)]
    upsert(connection, SUMMARIES, rows, ["address"], SUMMARY_MERGES)


def _empty_summary(fact: ParsedFact) -> dict[str, Any]:
    row: dict[str, Any] = {name: None for name, _ in SUMMARY_MERGES}
    row.update(address=fact.address, recipient=fact.recipient, domain=fact.domain)
    for name in ("hard_count", "soft_count", "undetermined_count", "complaint_count"):
        row[name] = 0
    row["delivery_count"] = 0
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
