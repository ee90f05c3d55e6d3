"""AWS Lambda entry point of the jobs function (handler ``core.jobs.lambda_handler.handler``).

EventBridge Scheduler invokes it with ``{"job": "NAME"}`` (one schedule per job) or
``{"jobs": "due"}`` (one schedule for everything, each job at its own interval from
settings). Every job asked for runs; if any of them failed the invocation then raises
`JobFailed`, so the function's Errors metric and alarm see it. A job already running in
another invocation is skipped, which is not a failure.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from functools import cache
from typing import Any

from core.errors import InvalidInput, JobFailed
from core.jobs.runner import JobRunner, RunResult, job_actor
from core.settings import load_settings
from core.store.db import make_engine

log = logging.getLogger("bouncedesk.jobs")


@cache
def _runner() -> JobRunner:
    """Built on the first invocation and reused while the container lives."""
    settings = load_settings()
    engine = make_engine(settings.database_url, auto_upgrade=False, pool_size=1, max_overflow=1)
    return JobRunner.from_settings(settings, engine)


def handler(event: Any, context: Any = None, runner: JobRunner | None = None) -> dict[str, Any]:
    runner = runner or _runner()
    actor = job_actor(runner.settings)
    if isinstance(event, dict) and isinstance(event.get("job"), str):
        results = [runner.run(event["job"], actor=actor)]
    elif isinstance(event, dict) and event.get("jobs") == "due":
        results = runner.run_due(actor=actor)
    else:
        raise InvalidInput('the jobs function takes {"job": "NAME"} or {"jobs": "due"}')
    for result in results:
        log.info("job %s: %s %s", result.job, result.outcome, result.summary)
    failed = [result for result in results if result.failed]
    if failed:
        raise JobFailed("; ".join(f"{r.job} failed: {r.error}" for r in failed))
    return {"results": [_plain(result) for result in results]}


def _plain(result: RunResult) -> dict[str, Any]:
    return {**asdict(result), "outcome": str(result.outcome)}
