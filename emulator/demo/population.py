"""Who gets which kind of mail trouble in the demo, and who ended up suppressed.

The users are split once into pools: dormant users (the incident campaign's victims), a few
dozen flaky mailboxes (recurring soft bounces), users of dead domains (NoEmail), and the
customer whose mail server misbehaved on the incident day. The suppression list grows as
hard bounces and complaints happen; known-valid addresses are recorded with the reason staff
know them to be valid.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from emulator.demo.people import User, is_dead_domain

MISCONFIGURED_DOMAIN = "towa-seiki.example"
DORMANT_SHARE = 0.3
FLAKY_COUNT = 60
OTHER_KNOWN_VALID = 10
KNOWN_VALID_NOTES = [
    "User confirmed by phone that the address receives mail (support ticket)",
    "Mailbox was created after the bounce (new employee)",
    "Receiving server answered 550 during a migration; confirmed working since",
]


class Feedback(Protocol):
    """What a suppression remembers of the event behind it."""

    @property
    def timestamp(self) -> datetime: ...

    @property
    def message_id(self) -> str: ...

    @property
    def feedback_id(self) -> str | None: ...


@dataclass(frozen=True)
class Suppression:
    address: str
    reason: str
    timestamp: datetime
    message_id: str
    feedback_id: str | None


class Population:
    """The user pools and the suppression list they produce."""

    def __init__(self, users: list[User], rng: random.Random) -> None:
        self.rng = rng
        self.users = users
        emails = [u.email for u in users]
        self.dead = [e for e in emails if is_dead_domain(e)]
        self.misconfigured = [e for e in emails if e.endswith("@" + MISCONFIGURED_DOMAIN)]
        others = [e for e in emails if e not in set(self.dead) | set(self.misconfigured)]
        rng.shuffle(others)
        dormant_count = int(len(others) * DORMANT_SHARE)
        self.dormant = others[:dormant_count]
        self.flaky = others[dormant_count : dormant_count + FLAKY_COUNT]
        self.active = others[dormant_count + FLAKY_COUNT :] + self.misconfigured
        self.suppressed: dict[str, Suppression] = {}
        self.known_valid: dict[str, str] = {}
        self._other_valid = 0

    # -- picking ------------------------------------------------------------------------
    def pick_active(self) -> str:
        """An active user who is not suppressed (receives the everyday mail)."""
        return self._pick_unsuppressed(self.active)

    def pick_flaky(self) -> str:
        return self._pick_unsuppressed(self.flaky)

    def pick_hard(self, campaign: bool) -> str:
        """Who hard-bounces: dormant users in the campaign, else dead domains or anyone."""
        if campaign:
            pool = self.dormant
        elif self.rng.random() < 0.4 and self._any_unsuppressed(self.dead):
            pool = self.dead
        else:
            pool = self.active + self.dormant
        return self._pick_unsuppressed(pool)

    def misconfigured_users(self, count: int) -> list[str]:
        """Users of the misbehaving customer, all valid, all about to be suppressed."""
        chosen = [e for e in self.misconfigured if e not in self.suppressed][:count]
        for address in chosen:
            self.known_valid[address] = (
                f"{MISCONFIGURED_DOMAIN} mail server rejected every recipient with 550 5.1.1 "
                "(misconfiguration, fixed the next day)"
            )
        return chosen

    def pick_suppressed(self, count: int, before: datetime) -> list[str]:
        """Addresses suppressed before ``before``; known-valid ones get half the picks."""
        earlier = [s.address for s in self.suppressed.values() if s.timestamp < before]
        valid = [a for a in earlier if a in self.known_valid]
        picks = []
        for _ in range(min(count, len(earlier))):
            pool = valid if valid and self.rng.random() < 0.5 else earlier
            picks.append(self.rng.choice(pool))
        return picks

    def suppressed_count(self, before: datetime) -> int:
        return sum(1 for s in self.suppressed.values() if s.timestamp < before)

    def _pick_unsuppressed(self, pool: list[str]) -> str:
        for _ in range(200):
            address = self.rng.choice(pool)
            if address not in self.suppressed:
                return address
        candidates = [a for a in pool if a not in self.suppressed] or pool
        return self.rng.choice(candidates)

    def _any_unsuppressed(self, pool: list[str]) -> bool:
        return any(a not in self.suppressed for a in pool)

    # -- recording ----------------------------------------------------------------------
    def suppress(self, address: str, reason: str, event: Feedback) -> None:
        """SES puts a hard-bounced or complaining address on the account's list."""
        self.suppressed[address] = Suppression(
            address, reason, event.timestamp, event.message_id, event.feedback_id
        )

    def forget_after(self, moment: datetime) -> None:
        """Undo the suppressions made after ``moment`` (and the notes on those addresses)."""
        self.suppressed = {a: s for a, s in self.suppressed.items() if s.timestamp <= moment}
        self.known_valid = {a: n for a, n in self.known_valid.items() if a in self.suppressed}

    def maybe_mark_valid(self, address: str) -> None:
        """Now and then a General hard bounce turns out to be wrong: staff confirm it later."""
        if self._other_valid < OTHER_KNOWN_VALID and self.rng.random() < 0.08:
            self.known_valid[address] = self.rng.choice(KNOWN_VALID_NOTES)
            self._other_valid += 1

    def message_id(self, when: datetime) -> str:
        """An SES-style message id: 16 hex digits (with the time in ms), a UUID, -000000."""
        return f"01000{int(when.timestamp() * 1000):011x}-{self._uuid()}-000000"

    def feedback_id(self, when: datetime) -> str:
        return f"01000{int(when.timestamp() * 1000) + 7:011x}-{self._uuid()}-000000"

    def _uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)
