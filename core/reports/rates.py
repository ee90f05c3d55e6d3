"""Where a bounce or complaint rate stands against the SES enforcement thresholds.

SES reviews an account at a 5 % bounce rate (0.1 % complaints) and may pause all sending at
10 % (0.5 %). Reaching a threshold exactly counts: 5 % is already "Under review".
"""

from __future__ import annotations

import math
from enum import StrEnum
from fractions import Fraction

from core.policy import BOUNCE_PAUSE, BOUNCE_REVIEW, COMPLAINT_PAUSE, COMPLAINT_REVIEW


class RateStatus(StrEnum):
    HEALTHY = "Healthy"
    REVIEW = "Under review"
    PAUSE = "At risk of pause"
    UNKNOWN = "No data"


def _status(rate: float | None, review: float, pause: float) -> RateStatus:
    if rate is None or math.isnan(rate):
        return RateStatus.UNKNOWN
    if rate >= pause:
        return RateStatus.PAUSE
    if rate >= review:
        return RateStatus.REVIEW
    return RateStatus.HEALTHY


def bounce_status(rate: float | None) -> RateStatus:
    """Status of a bounce rate given as a fraction (0.05 = 5 %); None means no data."""
    return _status(rate, BOUNCE_REVIEW, BOUNCE_PAUSE)


def complaint_status(rate: float | None) -> RateStatus:
    """Status of a complaint rate given as a fraction (0.001 = 0.1 %); None means no data."""
    return _status(rate, COMPLAINT_REVIEW, COMPLAINT_PAUSE)


def rate(events: int, sends: int) -> float | None:
    """events / sends, or None when nothing was sent (a rate of nothing is not 0 %)."""
    return events / sends if sends > 0 else None


def headroom(sends: int, counting_bounces: int, threshold: float) -> int:
    """How many more counting bounces, out of the same `sends`, bring the rate to `threshold`.

    Exact arithmetic: 5 % of 100 sends is 5 bounces, not 6 (0.05 * 100 is 5.000000000000001
    in floating point). 0 when the rate is already at or over the threshold, or nothing
    was sent (there is no rate to protect).
    """
    if sends <= 0:
        return 0
    needed = math.ceil(Fraction(str(threshold)) * sends)
    return max(0, needed - counting_bounces)
