"""The rules: hard / soft / undetermined, and what counts toward the SES bounce rate."""

from __future__ import annotations

from enum import StrEnum


class Classification(StrEnum):
    HARD = "hard"
    SOFT = "soft"
    UNDETERMINED = "undetermined"


_BY_TYPE = {
    "permanent": Classification.HARD,
    "transient": Classification.SOFT,
    "undetermined": Classification.UNDETERMINED,
}

# SES did not even try: the address is on our own account-level suppression list.
NOT_COUNTED_SUBTYPES = frozenset({"onaccountsuppressionlist"})

BOUNCE_REVIEW = 0.05
BOUNCE_PAUSE = 0.10
COMPLAINT_REVIEW = 0.001
COMPLAINT_PAUSE = 0.005


def classify_bounce(bounce_type: str | None) -> Classification:
    """Hard for Permanent, soft for Transient; anything else (or nothing) is undetermined."""
    return _BY_TYPE.get((bounce_type or "").strip().lower(), Classification.UNDETERMINED)


def counts_toward_bounce_rate(bounce_type: str | None, bounce_subtype: str | None) -> bool:
    """Only hard bounces that SES actually attempted drive the account's bounce rate."""
    if classify_bounce(bounce_type) is not Classification.HARD:
        return False
    return (bounce_subtype or "").strip().lower() not in NOT_COUNTED_SUBTYPES
