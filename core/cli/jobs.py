"""CLI commands for the jobs (core.jobs): thin wrappers over `JobRunner`.

    bouncedesk jobs list
    bouncedesk jobs run NAME
    bouncedesk jobs run-due      # for cron, systemd timers, Kubernetes CronJobs

`run` acts as `settings.actor` with `settings.cli_role`; `run-due` (a scheduler's command)
as `jobs_actor`. A job another runner is running is reported as "already running" and
exits 0; a failed job exits 1 (with `run-due`, after the others ran).
"""

from __future__ import annotations

import argparse
from datetime import datetime

from core.access import cli_actor
from core.cli.common import Commands, add_command, add_group, printable
from core.jobs.runner import JobRunner, RunResult, job_actor
from core.jobs.status import JobStatus
from core.settings import Settings
from core.store.db import make_engine


def register(commands: Commands) -> None:
    group = add_group(commands, "jobs", "the periodic jobs: list, run one, run what is due")
    add_command(group, "list", handle_list, "each job's last run, outcome, next due, stale")
    run = add_command(group, "run", handle_run, "run one job now, due or not")
    run.add_argument("name", metavar="NAME")
    add_command(group, "run-due", handle_run_due, "run every job that is due (for a scheduler)")


def _runner(settings: Settings) -> JobRunner:
    return JobRunner.from_settings(settings, make_engine(settings.database_url))


def handle_list(args: argparse.Namespace, settings: Settings) -> int:
    runner = _runner(settings)
    try:
        statuses = runner.statuses()
    finally:
        runner.engine.dispose()
    print(f"{'job':<18} {'last run':<19} {'outcome':<10} {'next due':<19} stale")
    for status in statuses:
        print(_status_line(status))
        if status.why_stale:
            print(f"  stale: {status.why_stale}")
        if status.last_error:
            print(f"  last error: {printable(status.last_error)}")
    return 0


def _status_line(status: JobStatus) -> str:
    outcome = status.last_outcome or "never run"
    next_due = "off" if status.next_due is None else _when(status.next_due)
    if status.due:
        next_due = "now"
    stale = "STALE" if status.stale else "no"
    return (
        f"{status.name:<18} {_when(status.last_started):<19} {outcome:<10} {next_due:<19} {stale}"
    )


def _when(at: datetime | None) -> str:
    return "-" if at is None else at.strftime("%Y-%m-%d %H:%M:%S")


def handle_run(args: argparse.Namespace, settings: Settings) -> int:
    runner = _runner(settings)
    try:
        result = runner.run(args.name, actor=cli_actor(settings))
    finally:
        runner.engine.dispose()
    _print_result(result)
    return 1 if result.failed else 0


def handle_run_due(args: argparse.Namespace, settings: Settings) -> int:
    runner = _runner(settings)
    try:
        results = runner.run_due(actor=job_actor(settings))
    finally:
        runner.engine.dispose()
    if not results:
        print("no job is due")
    for result in results:
        _print_result(result)
    return 1 if any(result.failed for result in results) else 0


def _print_result(result: RunResult) -> None:
    line = f"{result.job}: {result.outcome} (run {result.run_id}): {result.summary or ''}"
    print(printable(line.rstrip(": ")))
    if result.error:
        print(f"  error: {printable(result.error)}")
