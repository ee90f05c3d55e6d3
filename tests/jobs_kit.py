"""Helpers for the jobs tests: settings and runners against the local SES emulator, a
clock that can be moved, and the recorded runs."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from core.clock import utcnow
from core.jobs.runner import JobRunner
from core.jobs.spec import JobContext, JobResult, JobSpec
from core.settings import Settings
from core.store.db import open_session
from core.store.models import AuditEntry, JobRun
from emulator.launch import EmulatorHandle


def point_at(emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    """The standard AWS variables name the emulator; no BOUNCEDESK_ variable is set."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "BOUNCEDESK_")):
            monkeypatch.delenv(name)
    for name, value in emulator.environment().items():
        monkeypatch.setenv(name, value)


def settings_for(engine: Engine, emulator: EmulatorHandle | None = None, **knobs: Any) -> Settings:
    """Settings naming `engine`'s database (and the emulator's queue), no retries, fast pace."""
    values: dict[str, Any] = {
        "database_url": engine.url.render_as_string(hide_password=False),
        "aws_max_attempts": 1,
        "ses_request_rate": 100,
    }
    if emulator is not None:
        values.update(aws_region=emulator.region, sqs_queue_url=emulator.queue_url)
    return Settings(**{**values, **knobs})


class Clock:
    """Naive UTC now, moved on by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def job(
    name: str,
    run: Callable[[JobContext], JobResult],
    *,
    interval_setting: str = "job_metrics_pull_minutes",
    changes: bool = False,
) -> JobSpec:
    return JobSpec(name, f"the {name} test job", interval_setting, changes, run)


def runner_with(
    engine: Engine, *jobs: JobSpec, clock: Clock | None = None, **knobs: Any
) -> JobRunner:
    return JobRunner(settings_for(engine, **knobs), engine, jobs=jobs, clock=clock or Clock())


def runs(engine: Engine, name: str | None = None) -> list[JobRun]:
    with open_session(engine) as session:
        query = select(JobRun).order_by(JobRun.id)
        if name is not None:
            query = query.where(JobRun.job == name)
        return list(session.scalars(query))


def job_audit(engine: Engine) -> list[AuditEntry]:
    with open_session(engine) as session:
        query = select(AuditEntry).where(AuditEntry.action == "jobs.run").order_by(AuditEntry.id)
        return list(session.scalars(query))
