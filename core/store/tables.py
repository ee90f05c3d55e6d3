"""Every table as a typed SQLAlchemy `Table`, in one place, for Core-style queries.

The audit table is not here: only core.audit touches it (append-only).
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table

from core.store.models import (
    AccountSnapshot,
    AddressSummary,
    Confirmation,
    DailyCount,
    DailyDomainCount,
    DeadLetter,
    DirectoryUser,
    Fact,
    FactKey,
    IngestionRun,
    MetricPoint,
    RemovalResult,
    SuppressedDestination,
    SuppressionSync,
)

CONFIRMATIONS = cast(Table, Confirmation.__table__)
DAILY = cast(Table, DailyCount.__table__)
DEAD_LETTERS = cast(Table, DeadLetter.__table__)
DOMAINS = cast(Table, DailyDomainCount.__table__)
FACTS = cast(Table, Fact.__table__)
FACT_KEYS = cast(Table, FactKey.__table__)
MIRROR = cast(Table, SuppressedDestination.__table__)
POINTS = cast(Table, MetricPoint.__table__)
RESULTS = cast(Table, RemovalResult.__table__)
RUNS = cast(Table, IngestionRun.__table__)
SNAPSHOTS = cast(Table, AccountSnapshot.__table__)
SUMMARIES = cast(Table, AddressSummary.__table__)
SYNCS = cast(Table, SuppressionSync.__table__)
USERS = cast(Table, DirectoryUser.__table__)

# Alerts (issue 11)
from core.store.models import (  # noqa: E402
    Alert,
    AlertEvent,
    ConfigSetMetricPoint,
    DailyConfigSetCount,
)

ALERTS = cast(Table, Alert.__table__)
ALERT_EVENTS = cast(Table, AlertEvent.__table__)
SET_DAILY = cast(Table, DailyConfigSetCount.__table__)
SET_POINTS = cast(Table, ConfigSetMetricPoint.__table__)
