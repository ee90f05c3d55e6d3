"""The job runner: run records, outcomes, audit, run_due, status and staleness, on every
database backend (the jobs themselves against the emulator are in test_jobs_emulator.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, insert

from core.errors import InvalidInput, PermissionDenied
from core.jobs.registry import JOBS
from core.jobs.runner import INTERRUPTED, JobRunner, run_now
from core.jobs.spec import JobContext, JobResult
from core.store.db import translated_errors
from core.store.models import JobOutcome, JobRun
from tests.factories import ADMIN, OPS
from tests.jobs_kit import Clock, job, job_audit, runner_with, runs, settings_for


def succeed(ctx: JobContext) -> JobResult:
    return JobResult("did it")


def explode(ctx: JobContext) -> JobResult:
    raise RuntimeError("SES said no")


def test_a_run_is_recorded_as_running_when_it_starts_and_finished_with_its_summary(
    engine: Engine,
) -> None:
    seen: list[tuple[str, str]] = []

    def look(ctx: JobContext) -> JobResult:
        seen.extend((run.job, run.outcome) for run in runs(ctx.engine))
        return JobResult("looked")

    result = runner_with(engine, job("look", look)).run("look", actor=OPS)
    assert seen == [("look", "running")]
    assert result.outcome == JobOutcome.SUCCEEDED and result.summary == "looked"
    [run] = runs(engine)
    assert (run.outcome, run.summary, run.error, run.actor) == ("succeeded", "looked", None, "ops")
    assert run.finished_at is not None and run.finished_at >= run.started_at


def test_a_job_that_raises_is_recorded_as_failed_with_the_error(engine: Engine) -> None:
    result = runner_with(engine, job("boom", explode)).run("boom", actor=OPS)
    assert result.failed and result.error == "SES said no"
    [run] = runs(engine)
    assert (run.outcome, run.error) == ("failed", "SES said no")


def test_a_job_that_reports_an_error_is_failed_but_keeps_its_summary(engine: Engine) -> None:
    def partly(ctx: JobContext) -> JobResult:
        return JobResult("3 messages, 1 left", "1 message left on the queue")

    result = runner_with(engine, job("partly", partly)).run("partly", actor=OPS)
    assert result.failed
    [run] = runs(engine)
    assert (run.outcome, run.summary, run.error) == (
        "failed",
        "3 messages, 1 left",
        "1 message left on the queue",
    )


def test_only_jobs_that_change_something_are_audited_with_their_outcome(engine: Engine) -> None:
    runner = runner_with(
        engine,
        job("reads", succeed),
        job("writes", succeed, changes=True),
        job("writes-badly", explode, changes=True),
    )
    for name in ("reads", "writes", "writes-badly"):
        runner.run(name, actor=OPS)
    entries = job_audit(engine)
    assert [(e.actor, e.outcome, e.detail) for e in entries] == [
        ("ops", "succeeded", None),
        ("ops", "failed", "SES said no"),
    ]
    assert '"job": "writes"' in (entries[0].parameters or "")


def test_an_unknown_job_is_refused_with_the_names_of_the_jobs(engine: Engine) -> None:
    with pytest.raises(InvalidInput, match="the jobs are: suppression-sync"):
        JobRunner(settings_for(engine), engine).run("supression-sync", actor=OPS)
    assert runs(engine) == []


def test_a_run_left_running_by_a_dead_runner_is_settled_as_interrupted(engine: Engine) -> None:
    clock = Clock()
    with translated_errors(), engine.begin() as connection:
        connection.execute(
            insert(JobRun).values(
                job="work", started_at=clock.now - timedelta(hours=1), outcome="running", actor="x"
            )
        )
    runner_with(engine, job("work", succeed), clock=clock).run("work", actor=OPS)
    dead, fresh = runs(engine, "work")
    assert (dead.outcome, dead.error) == ("failed", INTERRUPTED)
    assert fresh.outcome == "succeeded"


def test_run_due_runs_the_due_jobs_only_and_a_failure_does_not_stop_the_others(
    engine: Engine,
) -> None:
    clock = Clock()
    runner = runner_with(
        engine,
        job("first", explode),
        job("second", succeed),
        job("hourly", succeed, interval_setting="job_account_snapshot_minutes"),
        job("off", succeed, interval_setting="job_sqs_poll_minutes"),
        clock=clock,
        job_metrics_pull_minutes=10,
        job_account_snapshot_minutes=60,
        job_sqs_poll_minutes=0,
    )
    assert [r.job for r in runner.run_due(actor=OPS)] == ["first", "second", "hourly"]
    clock.advance(minutes=5)
    assert runner.run_due(actor=OPS) == []
    clock.advance(minutes=6)
    results = runner.run_due(actor=OPS)
    assert [(r.job, r.outcome) for r in results] == [("first", "failed"), ("second", "succeeded")]
    assert runs(engine, "off") == []


def test_the_status_says_last_run_outcome_and_next_due(engine: Engine) -> None:
    clock = Clock()
    runner = runner_with(engine, job("work", succeed), clock=clock, job_metrics_pull_minutes=30)
    [before] = runner.statuses()
    assert (before.last_outcome, before.due, before.stale) == (None, True, False)
    assert before.next_due == clock.now
    started = clock.now
    runner.run("work", actor=OPS)
    clock.advance(minutes=10)
    [after] = runner.statuses()
    assert after.last_outcome == JobOutcome.SUCCEEDED and after.last_summary == "did it"
    assert after.last_started == started and after.last_success == started
    assert after.next_due == started + timedelta(minutes=30) and not after.due


def test_a_job_turned_off_is_never_due_nor_stale(engine: Engine) -> None:
    clock = Clock()
    runner = runner_with(
        engine, job("off", explode, interval_setting="job_sqs_poll_minutes"), clock=clock
    )
    runner.run("off", actor=OPS)
    runner.run("off", actor=OPS)
    clock.advance(days=3)
    [status] = runner.statuses()
    assert (status.interval, status.next_due, status.due, status.stale) == (
        None,
        None,
        False,
        False,
    )


def test_a_job_is_stale_when_it_has_not_succeeded_for_twice_its_interval(engine: Engine) -> None:
    clock = Clock()
    runner = runner_with(engine, job("work", succeed), clock=clock, job_metrics_pull_minutes=60)
    runner.run("work", actor=OPS)
    clock.advance(minutes=119)
    assert not runner.statuses()[0].stale
    clock.advance(minutes=2)
    [status] = runner.statuses()
    assert status.stale and "last succeeded 2 h ago" in (status.why_stale or "")


def test_a_job_is_stale_when_it_failed_twice_in_a_row_and_fresh_again_once_it_succeeds(
    engine: Engine,
) -> None:
    outcomes = iter([explode, succeed, explode, explode, succeed])

    def next_outcome(ctx: JobContext) -> JobResult:
        return next(outcomes)(ctx)

    runner = runner_with(engine, job("flaky", next_outcome))
    stale = []
    for _ in range(5):
        runner.run("flaky", actor=OPS)
        stale.append(runner.statuses()[0].why_stale)
    assert stale == [None, None, None, "failed twice in a row", None]


def test_a_skipped_run_neither_counts_as_a_run_nor_hides_two_failures(engine: Engine) -> None:
    with translated_errors(), engine.begin() as connection:
        clock = Clock()
        for minutes, outcome in ((3, "failed"), (2, "failed"), (1, "skipped")):
            connection.execute(
                insert(JobRun).values(
                    job="work",
                    started_at=clock.now - timedelta(minutes=minutes),
                    finished_at=clock.now - timedelta(minutes=minutes),
                    outcome=outcome,
                    actor="x",
                )
            )
    [status] = runner_with(engine, job("work", succeed), clock=clock).statuses()
    assert status.last_outcome == JobOutcome.FAILED
    assert status.last_started == clock.now - timedelta(minutes=2)
    assert status.why_stale == "failed twice in a row"


def test_run_now_from_the_dashboard_is_for_admins(engine: Engine) -> None:
    runner = runner_with(engine, job("work", succeed))
    with pytest.raises(PermissionDenied, match="admin"):
        run_now(runner, "work", OPS)
    assert runs(engine) == []
    assert run_now(runner, "work", ADMIN).outcome == JobOutcome.SUCCEEDED


def test_every_registered_job_has_an_interval_setting_and_a_unique_name(engine: Engine) -> None:
    settings = settings_for(engine)
    assert len({spec.name for spec in JOBS}) == len(JOBS)
    names = {spec.name for spec in JOBS}
    assert {"suppression-sync", "metrics-pull", "account-snapshot", "import-job-poll"} <= names
    assert "sqs-poll" in names
    for spec in JOBS:
        assert isinstance(getattr(settings, spec.interval_setting), int)
    assert next(s for s in JOBS if s.name == "sqs-poll").interval(settings) is None
