"""Test and demo controls: a request-rate limit and injected faults.

SES throttles management calls (about 1 request per second by default), and the dashboard must
cope with that and with failures part-way through a bulk removal; these two make both happen
on demand. Not thread-safe on their own: :class:`emulator.state.EmulatorState` holds the lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from emulator.errors import ERROR_FOR_STATUS
from emulator.suppression import normalize_address


class TokenBucket:
    """A token bucket: ``rate`` requests per second with a burst of ``max(1, rate)``.

    ``rate=None`` (or 0) means no limit. The clock is injectable so tests need not sleep.
    """

    def __init__(
        self, rate: float | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._clock = clock
        self.configure(rate)

    def configure(self, rate: float | None, burst: float | None = None) -> None:
        self.rate = rate if rate else None
        self.burst = burst if burst else max(1.0, self.rate or 1.0)
        self._tokens = self.burst
        self._stamp = self._clock()

    def try_acquire(self) -> bool:
        """Take one token if there is one; False means the caller should get a 429."""
        if self.rate is None:
            return True
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


@dataclass
class FaultRule:
    """Make the next ``count`` calls of ``operation`` fail with ``status``.

    ``operation`` is an SESv2 operation name or ``"*"``; ``email_address`` narrows the rule to
    calls about that address (path or body ``EmailAddress``).
    """

    operation: str
    status: int = 500
    count: int = 1
    email_address: str | None = None
    message: str | None = None

    def __post_init__(self) -> None:
        if self.status not in ERROR_FOR_STATUS:
            raise ValueError(f"status must be one of {sorted(ERROR_FOR_STATUS)}")
        if self.count < 1:
            raise ValueError("count must be at least 1")

    @property
    def error_code(self) -> str:
        return ERROR_FOR_STATUS[self.status]

    def matches(self, operation: str, address: str | None) -> bool:
        if self.operation not in ("*", operation):
            return False
        if self.email_address is None:
            return True
        return address is not None and (
            normalize_address(address) == normalize_address(self.email_address)
        )

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class FaultPlan:
    """The pending fault rules, first match wins; a rule is dropped once used up."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []

    def add(self, rule: FaultRule) -> None:
        self._rules.append(rule)

    def take(self, operation: str, address: str | None) -> FaultRule | None:
        for rule in self._rules:
            if rule.matches(operation, address):
                rule.count -= 1
                if rule.count == 0:
                    self._rules.remove(rule)
                return rule
        return None

    def clear(self) -> None:
        self._rules.clear()

    def rules(self) -> list[FaultRule]:
        return list(self._rules)
