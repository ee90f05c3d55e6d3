"""One address as the product's login screen asks about it: may we mail it, why, should the
user be asked to re-verify, is it suppressed, and its last bounce.

The mailing answer and its reasons are `core.recipients.mailing.mailing_status`'s (the
Mailing exclusions page's words). `prompt_reverify` is this module's own rule: ask the user
when a bounce SES attempted or a complaint came after their latest confirmation (or there
is none), or when the address is on the suppression list without a valid confirmation.
OnAccountSuppressionList bounces alone never ask again: SES made them without trying the
mailbox (see `core.recipients.confirmations`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select

from core.addresses import normalise_address
from core.recipients.confirmations import attempted_bounce
from core.recipients.mailing import mailing_status
from core.settings import Settings
from core.store.db import translated_errors
from core.store.tables import CONFIRMATIONS, FACTS, MIRROR, SUMMARIES


@dataclass(frozen=True, slots=True)
class Suppression:
    """The address's entry on the SES account suppression list, per our last sync."""

    reason: str  # BOUNCE | COMPLAINT
    since: datetime | None


@dataclass(frozen=True, slots=True)
class LastBounce:
    bounce_type: str | None
    subtype: str | None
    diagnostic: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class AddressReport:
    address: str
    mailable: bool
    reasons: list[str]
    prompt_reverify: bool
    confirmed_valid_at: datetime | None
    suppressed: Suppression | None
    last_bounce: LastBounce | None
    last_complaint_at: datetime | None


def address_report(
    engine: Engine, address: str, settings: Settings, *, now: datetime | None = None
) -> AddressReport:
    """Everything the product needs to decide about one address (InvalidAddress when it is
    not one)."""
    address = normalise_address(address)
    status = mailing_status(engine, address, settings, now=now)
    with translated_errors(), engine.connect() as connection:
        summary = connection.execute(
            select(SUMMARIES).where(SUMMARIES.c.address == address)
        ).first()
        listed = connection.execute(
            select(MIRROR.c.reason, MIRROR.c.last_update_time, MIRROR.c.first_seen_at).where(
                MIRROR.c.address == address, MIRROR.c.suppressed.is_(True)
            )
        ).first()
        latest_confirmation = connection.scalar(
            select(func.max(CONFIRMATIONS.c.confirmed_at)).where(
                CONFIRMATIONS.c.address == address, CONFIRMATIONS.c.revoked_at.is_(None)
            )
        )
        last_attempted = connection.scalar(
            select(func.max(FACTS.c.occurred_at)).where(
                FACTS.c.address == address, attempted_bounce(FACTS)
            )
        )
    suppressed = (
        Suppression(listed.reason, listed.last_update_time or listed.first_seen_at)
        if listed
        else None
    )
    last_bounce = None
    if summary is not None and summary.last_bounce_at is not None:
        last_bounce = LastBounce(
            summary.last_bounce_type,
            summary.last_bounce_subtype,
            summary.last_diagnostic_code,
            summary.last_bounce_at,
        )
    last_complaint = summary.last_complaint_at if summary is not None else None
    since_confirmation = [
        at
        for at in (last_attempted, last_complaint)
        if at is not None and (latest_confirmation is None or at >= latest_confirmation)
    ]
    prompt = bool(since_confirmation) or (
        suppressed is not None and status.confirmed_valid_at is None
    )
    return AddressReport(
        address=address,
        mailable=status.mailable,
        reasons=status.reasons,
        prompt_reverify=prompt,
        confirmed_valid_at=status.confirmed_valid_at,
        suppressed=suppressed,
        last_bounce=last_bounce,
        last_complaint_at=last_complaint,
    )
