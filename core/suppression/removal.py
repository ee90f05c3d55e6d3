"""Taking addresses off the SES account-level suppression list: the `Remover`.

A `Remover` is built once from settings (`Remover.from_settings(settings, engine,
gateway)`) and offers the whole removal journey: `plan` (the dry run), `remove` (one
DeleteSuppressedDestination per address, paced to the SES management rate), `start_import`
(bulk, with SES import jobs: `core.suppression.import_jobs`), `resume`, `retry_failed` and
`poll_jobs`. The bookkeeping of runs and results is `core.suppression.runs`.

Every request is first planned by `core.suppression.guardrails` for the acting person and
refused unless every address is allowed, and the plan is checked again when a run is resumed
or retried. Each run, each attempt, each address's outcome and each import job are written to
the audit log in the same transaction as the change itself.

A call whose answer never arrives (a lost response, a database failure, Ctrl-C mid-call)
may still have removed the address, so each call is recorded and audited before it is made
(`removal_results.attempted_at`). The guardrails count such an attempt as a removal, and
when a resume finds SES no longer lists the address, the attempt is settled as `removed`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select, update

from core.access import Actor
from core.audit import record_audit
from core.clock import utcnow
from core.errors import (
    AwsCallFailed,
    AwsConfigurationError,
    InvalidInput,
    SesAccessDenied,
    SesNotFound,
    SesUnreachable,
)
from core.ses.gateway import Pacer, SesGateway, retry_throttled
from core.settings import Settings
from core.store.db import open_session, translated_errors
from core.store.models import Outcome, RemovalResult, RunStatus
from core.suppression.guardrails import RemovalPlan, authorise, plan_removal
from core.suppression.import_jobs import (
    IMPORT_JOB_LIMIT,
    NO_BUCKET,
    ImportJobState,
    JobTarget,
    poll_import_jobs,
    submit_pending,
)
from core.suppression.runs import (
    AddressResult,
    RemovalProgress,
    RemovalReport,
    authorise_run,
    create_run,
    empty_report,
    get_run,
    mark_unsuppressed,
    removal_report,
    reopen_failed,
    run_method,
    ses_spelling,
    set_run_status,
    settle_run,
)

SETTLED_ON_RESUME = (
    "settled on resume: SES no longer lists it after an earlier, interrupted attempt "
    "whose answer was lost, so that attempt removed it"
)


@dataclass(frozen=True)
class Remover:
    """The removal service: the store, SES, and the knobs from settings, bound once.

    `max_per_click` bounds a removal of one call per address (more go through
    `start_import`); `bucket`/`prefix` are where import files go; `rate` defaults to the
    gateway's; `sleep`/`clock` are injectable for tests, `job_limit` too (SES's 10,000).
    """

    engine: Engine
    gateway: SesGateway
    max_per_click: int
    bucket: str | None = None
    prefix: str = ""
    rate: float | None = None
    job_limit: int = IMPORT_JOB_LIMIT
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    @classmethod
    def from_settings(cls, settings: Settings, engine: Engine, gateway: SesGateway) -> Remover:
        """The limits and the import bucket from settings; the pace is the gateway's
        (`SesGateway.from_settings` takes it from `ses_request_rate`)."""
        return cls(
            engine,
            gateway,
            max_per_click=settings.max_removals_per_click,
            bucket=settings.suppression_import_bucket,
            prefix=settings.suppression_import_prefix,
        )

    def plan(
        self, addresses: Iterable[str], *, actor: Actor, reason: str = "", override: bool = False
    ) -> RemovalPlan:
        """The dry run (`core.suppression.guardrails.plan_removal`), changing nothing."""
        return plan_removal(
            self.engine, addresses, actor=actor, reason=reason, override=override,
            max_per_click=self.max_per_click,
        )  # fmt: skip

    def remove(
        self,
        addresses: Iterable[str],
        *,
        actor: Actor,
        reason: str,
        override: bool = False,
        progress: RemovalProgress | None = None,
    ) -> RemovalReport:
        """Take addresses off the SES suppression list, one DeleteSuppressedDestination each.

        The request is planned for `actor` (with `reason` and `override`) and refused before
        any call unless every address is allowed and there are at most `max_per_click` of
        them (more go through `start_import`). Rejected lines are reported and never sent.
        The run and one pending result per address are committed before the first call,
        each attempt before its call and each result as its call returns, so an interrupted
        run loses nothing: `resume` finishes it.
        """
        plan = self.plan(addresses, actor=actor, reason=reason, override=override)
        authorise(plan, actor)
        if not plan.items:
            return empty_report("api", plan.rejected)
        if len(plan.allowed) > self.max_per_click:
            raise InvalidInput(
                f"{len(plan.allowed)} addresses are more than {self.max_per_click} per click: "
                "remove them with an SES import job, which asks to confirm their number once more"
            )
        run_id = create_run(self.engine, plan, actor, reason, "api")
        results = self._process_pending(run_id, actor, progress)
        return removal_report(self.engine, run_id, rejected=plan.rejected, results=results)

    def start_import(
        self,
        addresses: Iterable[str],
        *,
        actor: Actor,
        reason: str,
        override: bool = False,
        confirm_count: int | None = None,
    ) -> RemovalReport:
        """Remove many addresses with SES import jobs (action DELETE), 10,000 per job.

        Planned and refused like `remove`; more than `max_per_click` addresses also need
        `confirm_count` equal to their number (the extra confirmation). Each chunk is
        uploaded as a console-format CSV to s3://bucket/prefix..., then a job is created and
        recorded; its addresses become `submitted` until `poll_jobs` sees the job finish.
        If a chunk fails, the rest stay pending and `resume` sends them.
        """
        target = self._job_target()
        plan = self.plan(addresses, actor=actor, reason=reason, override=override)
        authorise(plan, actor)
        if not plan.items:
            return empty_report("import_job", plan.rejected)
        count = len(plan.allowed)
        if count > self.max_per_click and confirm_count != count:
            raise InvalidInput(
                f"removing {count} addresses at once (more than {self.max_per_click}) needs one "
                f"more confirmation: give their number, {count}"
            )
        run_id = create_run(self.engine, plan, actor, reason, "import_job")
        submit_pending(self.engine, target, run_id, actor)
        return removal_report(self.engine, run_id, rejected=plan.rejected)

    def resume(
        self, run_id: int, *, actor: Actor, progress: RemovalProgress | None = None
    ) -> RemovalReport:
        """Finish an interrupted run: only addresses still pending are sent again, and only if
        `actor` may remove each of them now. For an import-job run, the pending addresses go
        into new jobs (the bucket must be configured)."""
        authorise_run(self.engine, run_id, actor, Outcome.PENDING)
        if run_method(self.engine, run_id) == "import_job":
            submit_pending(self.engine, self._job_target(), run_id, actor)
            return removal_report(self.engine, run_id)
        results = self._process_pending(run_id, actor, progress)
        return removal_report(self.engine, run_id, results=results)

    def retry_failed(
        self, run_id: int, *, actor: Actor, progress: RemovalProgress | None = None
    ) -> RemovalReport:
        """Send the failed addresses of a run again; removed and not-listed ones are left
        alone."""
        authorise_run(self.engine, run_id, actor, Outcome.FAILED)
        reopen_failed(self.engine, run_id)
        return self.resume(run_id, actor=actor, progress=progress)

    def poll_jobs(self, *, actor: Actor, run_id: int | None = None) -> list[ImportJobState]:
        """Record what SES says about unfinished import jobs (`import_jobs.poll_import_jobs`)."""
        return poll_import_jobs(self.engine, self.gateway, actor=actor, run_id=run_id)

    # --- one call per address ------------------------------------------------------------

    def _pacer(self) -> Pacer:
        return Pacer(self.rate or self.gateway.request_rate, clock=self.clock, sleep=self.sleep)

    def _job_target(self) -> JobTarget:
        if not self.bucket:
            raise AwsConfigurationError(NO_BUCKET)
        return JobTarget(
            self.gateway, self.bucket, self.prefix, self._pacer(), self.sleep, self.job_limit
        )

    def _process_pending(
        self, run_id: int, actor: Actor, progress: RemovalProgress | None
    ) -> list[AddressResult]:
        """Send every pending address of the run; each attempt and outcome is audited as
        `actor`'s."""
        engine = self.engine
        with open_session(engine) as session, translated_errors():
            run = get_run(session, run_id)
            run_actor, total = run.actor, run.requested
            pending = session.execute(
                select(RemovalResult.id, RemovalResult.address, RemovalResult.attempted_at)
                .where(RemovalResult.run_id == run_id, RemovalResult.outcome == Outcome.PENDING)
                .order_by(RemovalResult.id)
            ).all()
            spelling = ses_spelling(session, [row.address for row in pending])
        done = total - len(pending)
        pacer = self._pacer()
        results: list[AddressResult] = []
        audit = _AuditAs(actor, run_id, run_actor)
        try:
            for row in pending:
                _record_attempt(engine, row.id, row.address, audit)
                ses_address = spelling.get(row.address, row.address)
                in_flight = row.attempted_at is not None
                try:
                    result = _remove_one(
                        self.gateway, row.address, ses_address, in_flight, pacer, self.sleep
                    )
                except SesAccessDenied:
                    _clear_attempt(engine, row.id)
                    raise
                _record_result(engine, row.id, result, audit)
                results.append(result)
                done += 1
                if progress is not None:
                    progress(done, total, result)
        except BaseException:
            set_run_status(engine, run_id, RunStatus.INTERRUPTED, finished=False)
            raise
        settle_run(engine, run_id)
        return results


@dataclass(frozen=True, slots=True)
class _AuditAs:
    """Who the audit entries of a run's calls are written as."""

    actor: Actor
    run_id: int
    run_actor: str

    def parameters(self, **extra: Any) -> dict[str, Any]:
        parameters: dict[str, Any] = {"run_id": self.run_id, **extra}
        if self.run_actor != self.actor.name:
            parameters["requested_by"] = self.run_actor
        return parameters


def _record_attempt(engine: Engine, result_id: int, address: str, audit: _AuditAs) -> None:
    """Before the call, durably: the attempt is counted, marked in flight and audited, so a
    call whose answer is lost is never a removal nobody knows about."""
    now = utcnow()
    with open_session(engine) as session, translated_errors():
        session.execute(
            update(RemovalResult)
            .where(RemovalResult.id == result_id)
            .values(attempts=RemovalResult.attempts + 1, attempted_at=now, updated_at=now)
        )
        record_audit(
            session.connection(),
            audit.actor,
            "suppression.remove_attempt",
            address,
            "sent",
            audit.parameters(),
        )
        session.commit()


def _clear_attempt(engine: Engine, result_id: int) -> None:
    """SES refused the call outright (permissions): it cannot have removed anything."""
    with open_session(engine) as session, translated_errors():
        session.execute(
            update(RemovalResult).where(RemovalResult.id == result_id).values(attempted_at=None)
        )
        session.commit()


def _remove_one(
    gateway: SesGateway,
    address: str,
    ses_address: str,
    in_flight: bool,
    pacer: Pacer,
    sleep: Callable[[float], None],
) -> AddressResult:
    """One address: REMOVED when SES answered success, or answers NotFound after an earlier
    call that never got an answer (`in_flight`: that call removed it). Errors that would
    fail every address alike (unreachable, credentials, permissions) stop the run instead."""
    attempts = 0

    def call() -> None:
        nonlocal attempts
        attempts += 1
        pacer.wait()
        gateway.delete_suppressed_destination(ses_address)

    try:
        retry_throttled(call, sleep=sleep)
        return AddressResult(address, Outcome.REMOVED, None, attempts)
    except SesNotFound as exc:
        if in_flight:
            message = f"{SETTLED_ON_RESUME} (SES: {exc})"
            return AddressResult(address, Outcome.REMOVED, message, attempts, settled=True)
        return AddressResult(address, Outcome.NOT_ON_LIST, str(exc), attempts)
    except (SesUnreachable, SesAccessDenied):
        raise
    except AwsCallFailed as exc:
        return AddressResult(address, Outcome.FAILED, str(exc), attempts)


def _record_result(engine: Engine, result_id: int, result: AddressResult, audit: _AuditAs) -> None:
    """The result, the mirror and the audit entry, in one transaction."""
    now = utcnow()
    with open_session(engine) as session, translated_errors():
        session.execute(
            update(RemovalResult)
            .where(RemovalResult.id == result_id)
            .values(
                outcome=result.outcome,
                message=result.message,
                updated_at=now,
                # one attempt was counted by _record_attempt
                attempts=RemovalResult.attempts + result.attempts - 1,
            )
        )
        if result.outcome in (Outcome.REMOVED, Outcome.NOT_ON_LIST):
            mark_unsuppressed(
                session, [result.address], now, by_us=result.outcome == Outcome.REMOVED
            )
        parameters = audit.parameters(message=result.message)
        if result.settled:
            parameters["settled_on_resume"] = True
        record_audit(
            session.connection(),
            audit.actor,
            "suppression.remove",
            result.address,
            result.outcome,
            parameters,
        )
        session.commit()
