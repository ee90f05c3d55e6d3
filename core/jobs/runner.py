"""The one way a job runs: `JobRunner.run(name)` and `JobRunner.run_due(now)`.

Each run takes the job's lock (`core.jobs.locks`); a runner that does not get it records
the run as skipped ("already running") and reports success. A run is recorded when it
starts (`job_runs`, outcome `running`) and finished with its outcome, summary and error;
for a job that changes anything, the finish is audited (`jobs.run`) in the same
transaction. A run left `running` by a runner that died is settled as failed by the next
runner that gets the lock. A failed job never stops `run_due` from running the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, update

from core.access import Action, Actor, Role, require
from core.audit import record_audit
from core.clock import utcnow
from core.jobs.locks import job_lock
from core.jobs.registry import JOBS, find_job
from core.jobs.spec import JobContext, JobResult, JobSpec
from core.jobs.status import JobStatus, job_statuses
from core.ses.clients import make_client
from core.ses.gateway import SesGateway
from core.settings import Settings
from core.store.db import translated_errors
from core.store.models import JobOutcome, JobRun

ALREADY_RUNNING = "already running in another runner"
INTERRUPTED = "interrupted: its runner stopped before the run finished"


@dataclass(frozen=True, slots=True)
class RunResult:
    job: str
    run_id: int
    outcome: JobOutcome
    summary: str | None
    error: str | None

    @property
    def failed(self) -> bool:
        return self.outcome == JobOutcome.FAILED


def job_actor(settings: Settings) -> Actor:
    """Whom scheduled runs act as (`jobs_actor`, operator role): the role every job needs."""
    return Actor(settings.jobs_actor, Role.OPERATOR, settings.access_contact)


class JobRunner:
    """The jobs, the settings, the database and the AWS clients, bound once.

    `gateway` and `sqs` build the clients when a job first needs them (defaults: the
    standard AWS chain from settings); `clock` gives naive UTC now.
    """

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        gateway: Callable[[], SesGateway] | None = None,
        sqs: Callable[[], Any] | None = None,
        jobs: Sequence[JobSpec] = JOBS,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.jobs = tuple(jobs)
        self.clock = clock
        self._gateway = _once(gateway or (lambda: SesGateway.from_settings(settings)))
        self._sqs = _once(sqs or (lambda: make_client("sqs", settings)))

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        engine: Engine,
        *,
        gateway: Callable[[], SesGateway] | None = None,
        sqs: Callable[[], Any] | None = None,
    ) -> JobRunner:
        return cls(settings, engine, gateway=gateway, sqs=sqs)

    def statuses(self, now: datetime | None = None) -> list[JobStatus]:
        return job_statuses(self.engine, self.settings, self.jobs, now or self.clock())

    def run(self, name: str, *, actor: Actor) -> RunResult:
        """Run the job called `name` now, whether due or not (InvalidInput if unknown)."""
        spec = find_job(name, self.jobs)
        with job_lock(self.engine, spec.name) as held:
            if not held:
                return self._record_skipped(spec, actor)
            _settle_interrupted(self.engine, spec.name, self.clock())
            return self._run_locked(spec, actor)

    def run_due(self, now: datetime | None = None, *, actor: Actor) -> list[RunResult]:
        """Run every job that is on and due at `now`, one after another."""
        due = [status.name for status in self.statuses(now) if status.due]
        return [self.run(name, actor=actor) for name in due]

    def _run_locked(self, spec: JobSpec, actor: Actor) -> RunResult:
        started = self.clock()
        run_id = _start_run(self.engine, spec.name, actor, started)
        context = JobContext(self.settings, self.engine, actor, started, self._gateway, self._sqs)
        try:
            result = spec.run(context)
        except Exception as exc:  # noqa: BLE001 - every failure is the run's outcome
            result = JobResult("failed", str(exc) or type(exc).__name__)
            outcome = JobOutcome.FAILED
        else:
            outcome = JobOutcome.FAILED if result.error else JobOutcome.SUCCEEDED
        _finish_run(self.engine, spec, run_id, actor, outcome, result, self.clock())
        return RunResult(spec.name, run_id, outcome, result.summary, result.error)

    def _record_skipped(self, spec: JobSpec, actor: Actor) -> RunResult:
        now = self.clock()
        values = {"finished_at": now, "outcome": JobOutcome.SKIPPED, "summary": ALREADY_RUNNING}
        run_id = _insert_run(self.engine, spec.name, actor, now, values)
        return RunResult(spec.name, run_id, JobOutcome.SKIPPED, ALREADY_RUNNING, None)


def run_now(runner: JobRunner, name: str, actor: Actor) -> RunResult:
    """A person's "run now" (the dashboard's Jobs page): admins only."""
    require(actor, Action.RUN_JOBS)
    return runner.run(name, actor=actor)


def _once(build: Callable[[], Any]) -> Callable[[], Any]:
    built: list[Any] = []

    def get() -> Any:
        if not built:
            built.append(build())
        return built[0]

    return get


def _insert_run(
    engine: Engine, job: str, actor: Actor, started: datetime, values: dict[str, Any]
) -> int:
    row = {"job": job, "started_at": started, "actor": actor.name, **values}
    with translated_errors(), engine.begin() as connection:
        result = connection.execute(insert(JobRun).values(**row))
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])


def _start_run(engine: Engine, job: str, actor: Actor, started: datetime) -> int:
    return _insert_run(engine, job, actor, started, {"outcome": JobOutcome.RUNNING})


def _finish_run(
    engine: Engine,
    spec: JobSpec,
    run_id: int,
    actor: Actor,
    outcome: JobOutcome,
    result: JobResult,
    now: datetime,
) -> None:
    with translated_errors(), engine.begin() as connection:
        connection.execute(
            update(JobRun)
            .where(JobRun.id == run_id)
            .values(finished_at=now, outcome=outcome, summary=result.summary, error=result.error)
        )
        if spec.changes:
            parameters = {"job": spec.name, "run": run_id, "summary": result.summary}
            record_audit(connection, actor, "jobs.run", None, outcome, parameters, result.error)


def _settle_interrupted(engine: Engine, job: str, now: datetime) -> None:
    """Under the job's lock no run of it can still be going: one marked running died."""
    with translated_errors(), engine.begin() as connection:
        connection.execute(
            update(JobRun)
            .where(JobRun.job == job, JobRun.outcome == JobOutcome.RUNNING)
            .values(finished_at=now, outcome=JobOutcome.FAILED, error=INTERRUPTED)
        )
