"""`bouncedesk jobs list | run NAME | run-due` and the Lambda jobs handler, against the
local SES emulator named by the standard AWS variables."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from core.cli import main as cli
from core.errors import InvalidInput, JobFailed
from core.jobs import lambda_handler
from core.jobs.locks import job_lock
from core.jobs.runner import JobRunner
from core.jobs.spec import JobContext, JobResult, JobSpec
from emulator.launch import EmulatorHandle, running_emulator
from tests.jobs_kit import point_at, runs, settings_for


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorHandle]:
    with running_emulator(seed="none", resource_name="bouncedesk-cli-jobs") as handle:
        yield handle


@pytest.fixture
def aws(
    emulator: EmulatorHandle, sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> EmulatorHandle:
    emulator.state.reset()
    point_at(emulator, monkeypatch)
    monkeypatch.setenv("BOUNCEDESK_DATABASE_URL", str(sqlite_engine.url))
    monkeypatch.setenv("BOUNCEDESK_AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("BOUNCEDESK_SES_REQUEST_RATE", "100")
    monkeypatch.setenv("BOUNCEDESK_ACTOR", "ops@qube.example")
    monkeypatch.setenv("BOUNCEDESK_CONFIG_FILE", "/dev/null")
    return emulator


def test_jobs_run_runs_one_job_and_prints_its_outcome(
    aws: EmulatorHandle, sqlite_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.state.put_suppressed("a@example.com", "BOUNCE", last_update=1_700_000_000)
    assert cli.main(["jobs", "run", "suppression-sync"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("suppression-sync: succeeded (run 1): full sync")
    [run] = runs(sqlite_engine)
    assert (run.job, run.outcome, run.actor) == (
        "suppression-sync",
        "succeeded",
        "ops@qube.example",
    )


def test_jobs_run_of_an_unknown_job_exits_1_naming_the_jobs(
    aws: EmulatorHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["jobs", "run", "sync"]) == 1
    assert "no job called 'sync'; the jobs are: suppression-sync" in capsys.readouterr().err


def test_jobs_run_of_a_failing_job_exits_1_with_the_error(
    aws: EmulatorHandle, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BOUNCEDESK_SQS_QUEUE_URL", raising=False)
    assert cli.main(["jobs", "run", "sqs-poll"]) == 1
    out = capsys.readouterr().out
    assert "sqs-poll: failed" in out and "BOUNCEDESK_SQS_QUEUE_URL" in out


def test_a_second_runner_of_a_job_says_already_running_and_exits_0(
    aws: EmulatorHandle, sqlite_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    with job_lock(sqlite_engine, "account-snapshot") as held:
        assert held
        assert cli.main(["jobs", "run", "account-snapshot"]) == 0
    assert "account-snapshot: skipped" in capsys.readouterr().out
    assert "already running" in (runs(sqlite_engine)[0].summary or "")


def test_jobs_run_due_runs_what_is_due_then_nothing_until_the_next_interval(
    aws: EmulatorHandle, sqlite_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["jobs", "run-due"]) == 0
    out = capsys.readouterr().out
    for name in ("suppression-sync", "metrics-pull", "account-snapshot", "import-job-poll"):
        assert f"{name}: succeeded" in out
    assert "sqs-poll" not in out  # off unless set: the ingest Lambda reads the queue
    assert {run.actor for run in runs(sqlite_engine)} == {"bouncedesk-jobs"}
    assert cli.main(["jobs", "run-due"]) == 0
    assert capsys.readouterr().out == "no job is due\n"


def test_jobs_list_shows_last_run_outcome_next_due_and_staleness(
    aws: EmulatorHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    cli.main(["jobs", "run", "account-snapshot"])
    capsys.readouterr()
    assert cli.main(["jobs", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["job", "last", "run", "outcome", "next", "due", "stale"]
    account = next(line for line in lines if line.startswith("account-snapshot"))
    assert "succeeded" in account and account.endswith("no")
    sync = next(line for line in lines if line.startswith("suppression-sync"))
    assert "never run" in sync and " now " in sync
    assert "off" in next(line for line in lines if line.startswith("sqs-poll"))


# --- The Lambda jobs function -------------------------------------------------------------


def _fails(ctx: JobContext) -> JobResult:
    raise RuntimeError("broken on purpose")


def test_the_lambda_handler_runs_the_job_an_event_names(
    aws: EmulatorHandle, sqlite_engine: Engine
) -> None:
    runner = JobRunner(settings_for(sqlite_engine, aws), sqlite_engine)
    answer = lambda_handler.handler({"job": "account-snapshot"}, None, runner=runner)
    [result] = answer["results"]
    assert (result["job"], result["outcome"]) == ("account-snapshot", "succeeded")
    assert runs(sqlite_engine)[0].actor == "bouncedesk-jobs"


def test_the_lambda_handler_fails_the_invocation_after_running_the_other_due_jobs(
    aws: EmulatorHandle, sqlite_engine: Engine
) -> None:
    broken = JobSpec("broken", "fails", "job_metrics_pull_minutes", False, _fails)
    after = JobSpec("after", "works", "job_metrics_pull_minutes", False, lambda c: JobResult("ok"))
    runner = JobRunner(settings_for(sqlite_engine, aws), sqlite_engine, jobs=(broken, after))
    with pytest.raises(JobFailed, match="broken failed: broken on purpose"):
        lambda_handler.handler({"jobs": "due"}, None, runner=runner)
    assert [(run.job, run.outcome) for run in runs(sqlite_engine)] == [
        ("broken", "failed"),
        ("after", "succeeded"),
    ]


@pytest.mark.parametrize("event", [{}, {"job": 3}, {"jobs": "all"}, ["account-snapshot"]])
def test_the_lambda_handler_refuses_an_event_it_does_not_understand(
    aws: EmulatorHandle, sqlite_engine: Engine, event: object
) -> None:
    runner = JobRunner(settings_for(sqlite_engine, aws), sqlite_engine)
    with pytest.raises(InvalidInput, match='"jobs": "due"'):
        lambda_handler.handler(event, None, runner=runner)
    assert runs(sqlite_engine) == []


def test_the_lambda_handler_builds_its_runner_from_the_environment_once(
    aws: EmulatorHandle, sqlite_engine: Engine
) -> None:
    lambda_handler._runner.cache_clear()
    try:
        lambda_handler.handler({"job": "account-snapshot"}, None)
        lambda_handler.handler({"job": "account-snapshot"}, None)
        assert lambda_handler._runner.cache_info().misses == 1
    finally:
        lambda_handler._runner.cache_clear()
    assert [run.outcome for run in runs(sqlite_engine)] == ["succeeded", "succeeded"]
