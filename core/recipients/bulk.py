"""The bulk reads a mailing system makes: filter one campaign's recipients just before
sending, and take the whole exclusion list a page at a time. Both are exports of personal
data, so each records itself in the audit log with who asked.

The answers are `core.recipients.mailing`'s: the same rules, the same words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice

from sqlalchemy import Engine

from core.access import Action, Actor, require
from core.addresses import is_valid_address, normalise_address
from core.audit import record_audit
from core.errors import InvalidInput
from core.recipients.mailing import ExcludedRow, addresses_to_skip, excluded_addresses
from core.settings import Settings
from core.store.db import translated_errors

MAX_CHECK = 10_000
MAX_PAGE = 50_000
INVALID_REASON = "not a valid email address"


@dataclass(frozen=True, slots=True)
class SkipRow:
    """One address the campaign must leave out: as it was sent, as we match it (None when
    it is not an address at all), and why."""

    input: str
    address: str | None
    reasons: list[str]


@dataclass(frozen=True, slots=True)
class CheckResult:
    checked: int
    skip: list[SkipRow]


@dataclass(frozen=True, slots=True)
class ExclusionPage:
    """Up to `limit` excluded addresses after the cursor; `next_after` is where the next
    page starts (None on the last page)."""

    rows: list[ExcludedRow]
    next_after: str | None


def check_recipients(
    engine: Engine,
    addresses: Sequence[str],
    settings: Settings,
    *,
    actor: Actor,
    now: datetime | None = None,
) -> CheckResult:
    """Which of up to `MAX_CHECK` addresses bulk mail must skip, each with its reasons, in
    input order. Text that is not one email address is skipped too (SES would refuse it)."""
    require(actor, Action.EXPORT)
    if len(addresses) > MAX_CHECK:
        raise InvalidInput(f"at most {MAX_CHECK:,} addresses per check, not {len(addresses):,}")
    normalised = {raw: normalise_address(raw) for raw in addresses if is_valid_address(raw)}
    reasons = addresses_to_skip(engine, normalised.values(), settings, now=now)
    skip = []
    for raw in addresses:
        address = normalised.get(raw)
        if address is None:
            skip.append(SkipRow(raw, None, [INVALID_REASON]))
        elif address in reasons:
            skip.append(SkipRow(raw, address, reasons[address]))
    with translated_errors(), engine.begin() as connection:
        record_audit(
            connection,
            actor,
            "export.recipients_check",
            None,
            f"{len(skip)} of {len(addresses)} to skip",
            {"checked": len(addresses), "skip": len(skip)},
        )
    return CheckResult(len(addresses), skip)


def exclusions_page(
    engine: Engine,
    settings: Settings,
    *,
    actor: Actor,
    after: str | None = None,
    limit: int = MAX_PAGE,
    now: datetime | None = None,
) -> ExclusionPage:
    """The exclusion list in address order, `limit` rows after `after`, audited as an
    export like the CSV."""
    require(actor, Action.EXPORT)
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE:,}")
    rows = list(islice(excluded_addresses(engine, settings, now=now, after=after), limit + 1))
    next_after = rows[limit - 1].address if len(rows) > limit else None
    rows = rows[:limit]
    with translated_errors(), engine.begin() as connection:
        record_audit(
            connection,
            actor,
            "export.exclusions",
            None,
            f"{len(rows)} rows",
            {"after": after, "limit": limit, "more": next_after is not None},
        )
    return ExclusionPage(rows, next_after)
