"""What a job is: a name, what it does, how often it is due, whether it changes anything,
and the function that does it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from core.access import Actor
from core.ses.gateway import SesGateway
from core.settings import Settings


@dataclass(frozen=True, slots=True)
class JobResult:
    """What a job reports: one line for people; `error` when it ran but did not do all
    of its work (the run is then recorded as failed)."""

    summary: str
    error: str | None = None


@dataclass(frozen=True)
class JobContext:
    """What a job's function is handed: the settings, the database, whom it acts as, when
    the run started, and the AWS clients (built on first use, so a job that needs none of
    them runs without AWS configured)."""

    settings: Settings
    engine: Engine
    actor: Actor
    now: datetime
    gateway: Callable[[], SesGateway]
    sqs: Callable[[], Any]


@dataclass(frozen=True, slots=True)
class JobSpec:
    """One job. `interval_setting` names the `Settings` field (minutes; 0 turns the job
    off) that says how often it is due; `changes` is whether it changes anything people act
    on (then each run is also audited as `jobs.run`)."""

    name: str
    does: str
    interval_setting: str
    changes: bool
    run: Callable[[JobContext], JobResult]

    def interval(self, settings: Settings) -> timedelta | None:
        """How often the job is due, or None when it is turned off."""
        minutes = int(getattr(settings, self.interval_setting))
        return timedelta(minutes=minutes) if minutes > 0 else None
