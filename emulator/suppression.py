"""The account-level suppression list: entries kept in address order for cursor pagination.

Pagination uses the last address returned as its cursor over a list sorted by address, so a
listing stays complete and free of duplicates even when entries are added or removed between
pages (an entry added *behind* the cursor is simply not seen by that listing, as with any
cursor). Not thread-safe on its own: :class:`emulator.state.EmulatorState` holds the lock.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass

REASONS = ("BOUNCE", "COMPLAINT")

# Deliberately simple: one "@", no spaces, a dot in the domain. SES's own rules are unpublished.
_ADDRESS = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\".]+$")


def normalize_address(address: str) -> str:
    """The lookup key of an address.

    Choice: the whole address is lower-cased (SES documents no rule; real mailboxes rarely
    differ by case). The spelling first stored is what the API returns.
    """
    return address.strip().lower()


def is_valid_address(address: str) -> bool:
    return bool(_ADDRESS.match(address.strip()))


@dataclass(frozen=True)
class SuppressedEntry:
    """One suppressed destination, with the feedback that put it there (if any)."""

    email_address: str
    reason: str
    last_update_time: float  # epoch seconds
    message_id: str | None = None
    feedback_id: str | None = None

    @property
    def key(self) -> str:
        return normalize_address(self.email_address)


@dataclass(frozen=True)
class ListFilter:
    """The filters of ListSuppressedDestinations; both date bounds are inclusive."""

    reasons: frozenset[str] = frozenset(REASONS)
    start: float | None = None
    end: float | None = None

    def matches(self, entry: SuppressedEntry) -> bool:
        if entry.reason not in self.reasons:
            return False
        if self.start is not None and entry.last_update_time < self.start:
            return False
        return self.end is None or entry.last_update_time <= self.end


class SuppressionList:
    """Entries by normalized address, plus a lazily rebuilt sorted index of the keys."""

    def __init__(self) -> None:
        self._entries: dict[str, SuppressedEntry] = {}
        self._sorted: list[str] | None = []

    def __len__(self) -> int:
        return len(self._entries)

    def put(self, entry: SuppressedEntry) -> None:
        key = entry.key
        existing = self._entries.get(key)
        if existing is not None:
            # Keep the spelling first stored, as the key's public face.
            entry = SuppressedEntry(
                existing.email_address,
                entry.reason,
                entry.last_update_time,
                entry.message_id,
                entry.feedback_id,
            )
        elif self._sorted is not None:
            bisect.insort(self._sorted, key)
        self._entries[key] = entry

    def put_many(self, entries: Iterable[SuppressedEntry]) -> int:
        """Bulk insert: one sort at the next listing instead of one insort per entry."""
        count = 0
        for entry in entries:
            existing = self._entries.get(entry.key)
            if existing is not None:
                self.put(entry)
            else:
                self._entries[entry.key] = entry
                self._sorted = None
            count += 1
        return count

    def get(self, address: str) -> SuppressedEntry | None:
        return self._entries.get(normalize_address(address))

    def delete(self, address: str) -> bool:
        key = normalize_address(address)
        if self._entries.pop(key, None) is None:
            return False
        if self._sorted is not None:
            index = bisect.bisect_left(self._sorted, key)
            del self._sorted[index]
        return True

    def clear(self) -> None:
        self._entries.clear()
        self._sorted = []

    def page(
        self, flt: ListFilter, after: str | None, size: int
    ) -> tuple[list[SuppressedEntry], str | None]:
        """Up to ``size`` matching entries after the cursor, and the next cursor (or None)."""
        keys = self._sorted_keys()
        index = 0 if after is None else bisect.bisect_right(keys, after)
        found: list[SuppressedEntry] = []
        while index < len(keys):
            entry = self._entries[keys[index]]
            index += 1
            if flt.matches(entry):
                found.append(entry)
                if len(found) == size:
                    break
        # Only promise a next page that has something on it: scan on to the next match
        # (the next call rescans that gap, so a whole listing stays O(n)).
        more = len(found) == size and any(
            flt.matches(self._entries[key]) for key in itertools.islice(keys, index, None)
        )
        return found, (found[-1].key if more else None)

    def counts(self) -> dict[str, int]:
        totals = dict.fromkeys(REASONS, 0)
        for entry in self._entries.values():
            totals[entry.reason] = totals.get(entry.reason, 0) + 1
        return totals

    def _sorted_keys(self) -> list[str]:
        if self._sorted is None:
            self._sorted = sorted(self._entries)
        return self._sorted
