"""The alerts-check job against the local SES emulator: it checks, the guard acts, and the
other jobs' health reaches the alerts (handed in by the job, never imported by alerts)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Engine

from core.alerts.lifecycle import AlertFilter, list_alerts
from core.jobs.registry import find_job
from core.jobs.runner import JobRunner
from core.store.models import JobOutcome
from emulator.controls import FaultRule
from emulator.launch import EmulatorHandle, running_emulator
from tests.alerts_kit import send
from tests.factories import OPS
from tests.jobs_kit import Clock, job_audit, point_at, settings_for


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorHandle]:
    with running_emulator(seed="none", resource_name="bouncedesk-alert-jobs") as handle:
        yield handle


@pytest.fixture
def aws(emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> EmulatorHandle:
    emulator.state.reset()
    emulator.state.create_configuration_set("bulk")
    point_at(emulator, monkeypatch)
    return emulator


def runner(engine: Engine, aws: EmulatorHandle, clock: Clock, **knobs: object) -> JobRunner:
    values = {"alert_silence_hours": 0, "alert_dead_letters": 0, **knobs}
    return JobRunner(settings_for(engine, aws, **values), engine, clock=clock)


def test_alerts_check_is_registered_as_a_job_that_changes_things() -> None:
    spec = find_job("alerts-check")
    assert spec.interval_setting == "job_alerts_check_minutes" and spec.changes


def test_the_job_opens_the_alert_and_the_guard_pauses_only_the_protected_set(
    engine: Engine, aws: EmulatorHandle
) -> None:
    send(engine, 100, 6, stream="bulk", day=date.today())
    clock = Clock()
    jobs = runner(engine, aws, clock, guard_configuration_sets=["bulk"], guard_dry_run=False)
    result = jobs.run("alerts-check", actor=OPS)
    assert result.outcome == JobOutcome.SUCCEEDED, result.error
    assert "opened" in (result.summary or "")
    opened = {(a.rule, a.scope) for a in list_alerts(engine, AlertFilter())}
    assert ("bounce_rate_review", "configuration_set:bulk") in opened
    assert ("guard_paused", "configuration_set:bulk") in opened
    assert aws.state.configuration_sets == {"bulk": False}
    assert [e.action for e in job_audit(engine)] == ["jobs.run"]


def test_a_failing_job_reaches_the_alerts_through_the_job(
    engine: Engine, aws: EmulatorHandle
) -> None:
    aws.state.add_fault(FaultRule(operation="GetAccount", status=500, count=10))
    clock = Clock()
    jobs = runner(engine, aws, clock)
    for _ in range(2):
        assert jobs.run("account-snapshot", actor=OPS).failed
        clock.advance(minutes=1)
    result = jobs.run("alerts-check", actor=OPS)
    scopes = {a.scope for a in list_alerts(engine, AlertFilter(rule="job_unhealthy"))}
    assert "job:account-snapshot" in scopes
    # GetAccount still fails inside the check too: the SES rules say so and resolve nothing.
    assert result.failed and "ses not evaluated" in (result.error or "")
