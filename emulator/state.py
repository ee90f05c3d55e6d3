"""All of one emulator's state, in memory, behind one lock.

This is the Python API tests and the demo seed use directly (the HTTP apps use it too): every
public method takes the lock, so request threads, the import-job threads and the trickle
thread can share one instance.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from emulator import ACCOUNT_ID, REGION
from emulator.account import AccountSettings, SendStatistics
from emulator.controls import FaultPlan, FaultRule, TokenBucket
from emulator.moto_internals import clear_metrics
from emulator.suppression import REASONS, ListFilter, SuppressedEntry, SuppressionList

JOB_STATUSES = ("CREATED", "PROCESSING", "COMPLETED", "FAILED", "CANCELLED")


def to_epoch(value: datetime | float | int | None) -> float:
    """Epoch seconds from a datetime (naive means UTC) or a number; None means now."""
    if value is None:
        return time.time()
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC).timestamp()
        return value.timestamp()
    return float(value)


@dataclass(frozen=True)
class ImportJob:
    """One suppression-list import job as GetImportJob reports it."""

    job_id: str
    action: str  # DELETE | PUT
    s3_url: str
    data_format: str  # CSV | JSON
    status: str = "CREATED"
    created: float = field(default_factory=time.time)
    completed: float | None = None
    processed: int = 0
    failed: int = 0
    failed_records_url: str | None = None
    error_message: str | None = None


class EmulatorState:
    """Suppression list, import jobs, account, send statistics, throttle and faults."""

    def __init__(self, request_rate: float | None = None) -> None:
        self._lock = threading.RLock()
        self._request_rate = request_rate
        self.suppression = SuppressionList()
        self.account = AccountSettings()
        self.statistics = SendStatistics()
        self.throttle = TokenBucket(request_rate)
        self.faults = FaultPlan()
        self._jobs: dict[str, ImportJob] = {}
        # Configuration sets: name -> sending enabled (PutConfigurationSetSendingOptions).
        self.configuration_sets: dict[str, bool] = {}

    @contextmanager
    def locked(self) -> Iterator[EmulatorState]:
        """Hold the lock across several calls (the lock is re-entrant)."""
        with self._lock:
            yield self

    def reset(self) -> None:
        """Back to an empty account; the configured request rate is kept.

        The account's SES metrics live in moto's process-wide CloudWatch backend, where an
        earlier emulator in the same process (a demo seed, say) may have left data points:
        they are part of the account, so they go too.
        """
        with self._lock:
            self.suppression.clear()
            self.account = AccountSettings()
            self.statistics.clear()
            self.throttle.configure(self._request_rate)
            self.faults.clear()
            self._jobs.clear()
            self.configuration_sets.clear()
            clear_metrics(ACCOUNT_ID, REGION, "AWS/SES")

    # -- configuration sets -----------------------------------------------------------
    def create_configuration_set(self, name: str, sending_enabled: bool = True) -> None:
        with self._lock:
            self.configuration_sets.setdefault(name, sending_enabled)

    def set_configuration_set_sending(self, name: str, enabled: bool) -> bool:
        """False when there is no such set."""
        with self._lock:
            if name not in self.configuration_sets:
                return False
            self.configuration_sets[name] = enabled
            return True

    # -- suppression list -------------------------------------------------------------
    def put_suppressed(
        self,
        address: str,
        reason: str = "BOUNCE",
        last_update: datetime | float | None = None,
        message_id: str | None = None,
        feedback_id: str | None = None,
    ) -> SuppressedEntry:
        """Add or overwrite one entry (``last_update`` defaults to now)."""
        entry = make_entry(address, reason, last_update, message_id, feedback_id)
        with self._lock:
            self.suppression.put(entry)
        return entry

    def put_many_suppressed(self, entries: Iterable[SuppressedEntry]) -> int:
        """Bulk seeding: 100,000 entries take well under a second."""
        with self._lock:
            return self.suppression.put_many(entries)

    def get_suppressed(self, address: str) -> SuppressedEntry | None:
        with self._lock:
            return self.suppression.get(address)

    def delete_suppressed(self, address: str) -> bool:
        with self._lock:
            return self.suppression.delete(address)

    def list_suppressed(
        self, flt: ListFilter | None = None, after: str | None = None, size: int = 1000
    ) -> tuple[list[SuppressedEntry], str | None]:
        with self._lock:
            return self.suppression.page(flt or ListFilter(), after, size)

    def all_suppressed(self) -> list[SuppressedEntry]:
        """Every entry in address order (for tests and the demo; no paging)."""
        with self._lock:
            entries, _ = self.suppression.page(ListFilter(), None, len(self.suppression) + 1)
            return entries

    # -- account and statistics -------------------------------------------------------
    def set_account(self, **changes: Any) -> AccountSettings:
        """Change GetAccount's answer, e.g. ``set_account(enforcement_status="PROBATION")``."""
        with self._lock:
            self.account = self.account.updated(**changes)
            return self.account

    def record_sending(self, timestamp: datetime | float, **counts: int) -> None:
        """Add counts (delivery_attempts, bounces, complaints, rejects) to a 15-minute bucket."""
        with self._lock:
            self.statistics.record(to_epoch(timestamp), **counts)

    # -- throttle and faults ----------------------------------------------------------
    def set_request_rate(self, rate: float | None, burst: float | None = None) -> None:
        """Requests per second allowed for the emulated SESv2 calls; None or 0 = no limit."""
        with self._lock:
            self._request_rate = rate or None
            self.throttle.configure(rate, burst)

    @property
    def request_rate(self) -> float | None:
        return self._request_rate

    def admit_request(self) -> bool:
        with self._lock:
            return self.throttle.try_acquire()

    def add_fault(self, rule: FaultRule) -> None:
        with self._lock:
            self.faults.add(rule)

    def take_fault(self, operation: str, address: str | None) -> FaultRule | None:
        with self._lock:
            return self.faults.take(operation, address)

    # -- import jobs --------------------------------------------------------------------
    def create_job(self, action: str, s3_url: str, data_format: str) -> ImportJob:
        job = ImportJob(str(uuid.uuid4()), action, s3_url, data_format)
        with self._lock:
            self._jobs[job.job_id] = job
        return job

    def update_job(self, job_id: str, **changes: Any) -> ImportJob | None:
        """The updated job, or None if a reset removed it meanwhile."""
        with self._lock:
            if job_id not in self._jobs:
                return None
            job = replace(self._jobs[job_id], **changes)
            self._jobs[job_id] = job
            return job

    def get_job(self, job_id: str) -> ImportJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def list_jobs(self) -> list[ImportJob]:
        with self._lock:
            return sorted(self._jobs.values(), key=lambda job: job.created)

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready summary for ``GET /_emulator/state``."""
        with self._lock:
            return {
                "suppressed": {"total": len(self.suppression), **self.suppression.counts()},
                "import_jobs": [job.__dict__ for job in self.list_jobs()],
                "account": self.account.__dict__,
                "send_statistics_buckets": len(self.statistics.buckets),
                "request_rate": self._request_rate,
                "faults": [rule.to_dict() for rule in self.faults.rules()],
                "configuration_sets": dict(self.configuration_sets),
            }


def make_entry(
    address: str,
    reason: str = "BOUNCE",
    last_update: datetime | float | None = None,
    message_id: str | None = None,
    feedback_id: str | None = None,
) -> SuppressedEntry:
    """A validated entry, e.g. for :meth:`EmulatorState.put_many_suppressed`."""
    if reason not in REASONS:
        raise ValueError(f"reason must be one of {REASONS}, not {reason!r}")
    return SuppressedEntry(address.strip(), reason, to_epoch(last_update), message_id, feedback_id)
