"""One runner of a job at a time: two runners of one job at once, as real processes with
their own connections, on SQLite (file lock), PostgreSQL (advisory lock) and MariaDB
(GET_LOCK): exactly one runs, the other records "already running" and succeeds."""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import Engine

from core.jobs.locks import advisory_key, job_lock, lock_name
from core.jobs.runner import ALREADY_RUNNING, JobRunner
from core.jobs.spec import JobContext, JobResult, JobSpec
from core.settings import Settings
from core.store.db import make_engine
from core.store.models import JobOutcome
from tests.conftest import SERVER_URLS
from tests.factories import OPS
from tests.jobs_kit import runner_with, runs
from tests.processes import run_together

HOLD_SECONDS = 3.0


def _slow(ctx: JobContext) -> JobResult:
    time.sleep(HOLD_SECONDS)
    return JobResult("held the lock")


SLOW = JobSpec("slow", "holds its lock for a while", "job_metrics_pull_minutes", False, _slow)


def run_slow_job(url: str) -> str:
    """One runner in its own process (tests.processes), with its own engine."""
    engine = make_engine(url)
    try:
        runner = JobRunner(Settings(database_url=url), engine, jobs=(SLOW,))
        return str(runner.run("slow", actor=OPS).outcome)
    finally:
        engine.dispose()


def test_two_runner_processes_of_one_job_at_once_run_it_exactly_once(
    database_url: str, engine: Engine
) -> None:
    outcomes = run_together("tests.test_job_locks:run_slow_job", [[database_url], [database_url]])
    assert sorted(outcomes) == [JobOutcome.SKIPPED, JobOutcome.SUCCEEDED]
    recorded = sorted((run.outcome, run.summary) for run in runs(engine, "slow"))
    assert recorded == [("skipped", ALREADY_RUNNING), ("succeeded", "held the lock")]


def test_the_lock_is_free_again_once_the_run_is_over(engine: Engine) -> None:
    with job_lock(engine, "slow") as first:
        assert first
    with job_lock(engine, "slow") as again:
        assert again


def test_a_held_lock_refuses_another_connection_and_leaves_other_jobs_alone(
    engine: Engine,
) -> None:
    with job_lock(engine, "one") as held:
        assert held
        with job_lock(engine, "one") as second, job_lock(engine, "two") as other:
            assert (second, other) == (False, True)


def test_two_runner_threads_with_separate_engines_run_a_job_once(engine: Engine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    outcomes: list[Any] = []

    def one_runner() -> None:
        outcomes.append(run_slow_job(url))

    threads = [threading.Thread(target=one_runner) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [JobOutcome.SKIPPED, JobOutcome.SUCCEEDED]


def test_a_runner_that_finds_the_job_running_reports_success_not_failure(engine: Engine) -> None:
    def work(ctx: JobContext) -> JobResult:
        return JobResult("ran")

    runner = runner_with(engine, JobSpec("busy", "d", "job_metrics_pull_minutes", False, work))
    with job_lock(engine, "busy"):
        result = runner.run("busy", actor=OPS)
    assert (result.outcome, result.failed, result.summary) == ("skipped", False, ALREADY_RUNNING)
    assert runner.run("busy", actor=OPS).outcome == JobOutcome.SUCCEEDED


def test_lock_names_fit_mariadb_and_keys_are_stable_64_bit_integers() -> None:
    assert len(lock_name("x" * 100)) == 64
    assert advisory_key("suppression-sync") == advisory_key("suppression-sync")
    assert advisory_key("suppression-sync") != advisory_key("metrics-pull")
    assert -(2**63) <= advisory_key("metrics-pull") < 2**63


def test_one_job_locked_in_one_database_leaves_the_same_job_free_in_another(
    database_url: str, engine: Engine, tmp_path: Any
) -> None:
    """MariaDB's named locks are server-wide: two deployments (or two test runs) sharing a
    server must not block each other's jobs. Before the lock name carried the database's,
    the second lock here was refused on MariaDB."""
    if engine.dialect.name == "sqlite":
        other_url = f"sqlite:///{tmp_path / 'other.db'}"
    else:
        other_url = SERVER_URLS["postgresql" if engine.dialect.name == "postgresql" else "mariadb"]
    other = make_engine(other_url, auto_upgrade=False)
    try:
        with job_lock(engine, "sqs-poll") as here, job_lock(other, "sqs-poll") as there:
            assert (here, there) == (True, True)
    finally:
        other.dispose()


def test_lock_names_carry_the_database_and_stay_within_64_characters() -> None:
    assert lock_name("sqs-poll", "desk_a") != lock_name("sqs-poll", "desk_b")
    assert len(lock_name("sqs-poll", "d" * 80)) == 64
    assert lock_name("sqs-poll", "d" * 80) != lock_name("sqs-poll", "d" * 81)
