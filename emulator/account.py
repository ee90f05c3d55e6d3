"""The account: its sending status (GetAccount) and its send statistics (GetSendStatistics).

SES v1 GetSendStatistics reports 15-minute buckets for the last two weeks; we keep every
bucket that was recorded and let the caller cut the window, so a seeded history ages naturally.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

BUCKET_SECONDS = 15 * 60
STATISTICS_WINDOW_SECONDS = 14 * 24 * 3600
ENFORCEMENT_STATUSES = ("HEALTHY", "PROBATION", "SHUTDOWN")


@dataclass(frozen=True)
class AccountSettings:
    """What GetAccount reports, minus SentLast24Hours (computed from the statistics)."""

    enforcement_status: str = "HEALTHY"
    sending_enabled: bool = True
    production_access_enabled: bool = True
    dedicated_ip_auto_warmup_enabled: bool = False
    max_24_hour_send: float = 50000.0
    max_send_rate: float = 14.0
    suppressed_reasons: tuple[str, ...] = ("BOUNCE", "COMPLAINT")

    def updated(self, **changes: Any) -> AccountSettings:
        """A copy with ``changes`` (snake_case field names), validated."""
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown account settings: {sorted(unknown)}")
        result = replace(self, **changes)
        if result.enforcement_status not in ENFORCEMENT_STATUSES:
            raise ValueError(f"EnforcementStatus must be one of {ENFORCEMENT_STATUSES}")
        return result


@dataclass
class Bucket:
    """One 15-minute send-statistics data point."""

    delivery_attempts: int = 0
    bounces: int = 0
    complaints: int = 0
    rejects: int = 0


@dataclass
class SendStatistics:
    """15-minute buckets keyed by their start (epoch seconds)."""

    buckets: dict[int, Bucket] = field(default_factory=dict)

    def record(
        self,
        timestamp: float,
        delivery_attempts: int = 0,
        bounces: int = 0,
        complaints: int = 0,
        rejects: int = 0,
    ) -> None:
        start = int(timestamp // BUCKET_SECONDS * BUCKET_SECONDS)
        bucket = self.buckets.setdefault(start, Bucket())
        bucket.delivery_attempts += delivery_attempts
        bucket.bounces += bounces
        bucket.complaints += complaints
        bucket.rejects += rejects

    def window(self, now: float) -> list[tuple[int, Bucket]]:
        """The buckets of the last two weeks with any activity, oldest first."""
        since = now - STATISTICS_WINDOW_SECONDS
        return sorted((start, b) for start, b in self.buckets.items() if start >= since)

    def sent_since(self, since: float) -> int:
        return sum(b.delivery_attempts for s, b in self.buckets.items() if s >= since)

    def clear(self) -> None:
        self.buckets.clear()
