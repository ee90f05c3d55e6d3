"""The bookkeeping of removal runs: a run and one result per address, written before any
SES call and updated as answers arrive, and the reports read back from them.

Both ways of removing (`core.suppression.removal`, one call per address, and
`core.suppression.import_jobs`, in bulk) record through this module, so a run of either
kind is resumed, retried, settled and reported the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from core.access import Action, Actor, require
from core.audit import record_audit
from core.chunks import IN_LIST_SIZE, chunked
from core.clock import utcnow
from core.errors import InvalidInput
from core.store.db import open_session, translated_errors
from core.store.models import (
    ImportJob,
    Outcome,
    RemovalResult,
    RemovalRun,
    RunStatus,
    SuppressedDestination,
)
from core.suppression.guardrails import RejectedLine, RemovalPlan, flags_of, require_for_flags

__all__ = [
    "TERMINAL_JOB_STATES",
    "AddressResult",
    "Outcome",
    "RemovalProgress",
    "RemovalReport",
    "RunStatus",
    "removal_report",
    "removal_results",
]

TERMINAL_JOB_STATES = frozenset({"COMPLETED", "FAILED", "CANCELLED"})


@dataclass(frozen=True, slots=True)
class AddressResult:
    """One address's outcome. `settled` says it was settled on resume: SES no longer listed
    it after an earlier call whose answer was never recorded, so that call removed it."""

    address: str
    outcome: str
    message: str | None
    attempts: int
    settled: bool = False


@dataclass(frozen=True, slots=True)
class RemovalReport:
    """Where a removal run stands, and what this call did (`results`)."""

    run_id: int | None
    method: str
    status: str
    requested: int
    counts: dict[str, int]
    rejected: tuple[RejectedLine, ...]
    results: tuple[AddressResult, ...]

    def count(self, outcome: Outcome) -> int:
        return self.counts.get(outcome.value, 0)

    @property
    def ok(self) -> bool:
        """Nothing rejected, failed or left pending."""
        bad = self.count(Outcome.FAILED) + self.count(Outcome.PENDING)
        return not self.rejected and bad == 0


RemovalProgress = Callable[[int, int, AddressResult], None]


def empty_report(method: str, rejected: Sequence[RejectedLine]) -> RemovalReport:
    """A request with no valid address: no run, no call."""
    return RemovalReport(None, method, RunStatus.COMPLETED, 0, {}, tuple(rejected), ())


def create_run(engine: Engine, plan: RemovalPlan, actor: Actor, reason: str, method: str) -> int:
    """Record the request and one pending result per allowed address, before any SES call.
    The audit entry keeps the reason and, for addresses an admin included on purpose, why
    they needed an admin."""
    addresses = plan.allowed
    now = utcnow()
    with open_session(engine) as session, translated_errors():
        run = RemovalRun(
            actor=actor.name,
            reason=reason,
            method=method,
            created_at=now,
            status=RunStatus.RUNNING,
            requested=len(addresses),
        )
        session.add(run)
        session.flush()
        session.add_all(
            RemovalResult(run_id=run.id, address=a, outcome=Outcome.PENDING, updated_at=now)
            for a in addresses
        )
        parameters: dict[str, Any] = {
            "run_id": run.id,
            "addresses": len(addresses),
            "reason": reason,
        }
        if plan.flagged:
            parameters["admin_override"] = plan.flagged
        record_audit(
            session.connection(), actor, "suppression.removal_requested", None, method, parameters
        )
        session.commit()
        return run.id


def authorise_run(engine: Engine, run_id: int, actor: Actor, outcome: Outcome) -> None:
    """The guardrails again, for the addresses a resume or retry would send: the facts may
    have changed since the run was planned, and someone else may be resuming it."""
    require(actor, Action.REMOVE_CONFIRMED)
    with open_session(engine) as session, translated_errors():
        get_run(session, run_id)
        addresses = list(
            session.scalars(
                select(RemovalResult.address).where(
                    RemovalResult.run_id == run_id, RemovalResult.outcome == outcome
                )
            )
        )
    flags = flags_of(engine, addresses)
    require_for_flags(actor, (flag for found in flags.values() for flag in found))


def reopen_failed(engine: Engine, run_id: int) -> None:
    """Make a run's failed addresses pending again, for `retry_failed`. SES answered each
    of those calls, so none of them is in flight (`attempted_at` cleared)."""
    with open_session(engine) as session, translated_errors():
        session.execute(
            update(RemovalResult)
            .where(RemovalResult.run_id == run_id, RemovalResult.outcome == Outcome.FAILED)
            .values(outcome=Outcome.PENDING, attempted_at=None, updated_at=utcnow())
        )
        session.execute(
            update(RemovalRun)
            .where(RemovalRun.id == run_id)
            .values(status=RunStatus.RUNNING, finished_at=None)
        )
        session.commit()


def mark_unsuppressed(
    session: Session, addresses: Sequence[str], now: datetime, *, by_us: bool
) -> None:
    values: dict[str, Any] = {"suppressed": False, "unsuppressed_at": now}
    if by_us:
        values["removed_by_us"] = True
    session.execute(
        update(SuppressedDestination)
        .where(
            SuppressedDestination.address.in_(addresses), SuppressedDestination.suppressed.is_(True)
        )
        .values(**values)
    )


def ses_spelling(session: Session, addresses: Sequence[str]) -> dict[str, str]:
    """normalised address -> the exact string SES lists, for the addresses the mirror knows."""
    spelling: dict[str, str] = {}
    for chunk in chunked(addresses, IN_LIST_SIZE):
        rows = session.execute(
            select(SuppressedDestination.address, SuppressedDestination.email_address).where(
                SuppressedDestination.address.in_(chunk)
            )
        )
        spelling.update({row.address: row.email_address for row in rows})
    return spelling


def settle_run(engine: Engine, run_id: int) -> None:
    """Finished when nothing is pending and no import job is still running; with_failures
    if any address failed or sits in a job that reported failed records."""
    with open_session(engine) as session, translated_errors():
        counts = outcome_counts(session, run_id)
        running_jobs = session.scalar(
            select(func.count()).where(
                ImportJob.run_id == run_id, ImportJob.status.not_in(TERMINAL_JOB_STATES)
            )
        )
    if counts.get(Outcome.PENDING) or running_jobs:
        return
    uncertain = counts.get(Outcome.FAILED) or counts.get(Outcome.SUBMITTED)
    status = RunStatus.WITH_FAILURES if uncertain else RunStatus.COMPLETED
    set_run_status(engine, run_id, status, finished=True)


def set_run_status(engine: Engine, run_id: int, status: RunStatus, *, finished: bool) -> None:
    with open_session(engine) as session, translated_errors():
        session.execute(
            update(RemovalRun)
            .where(RemovalRun.id == run_id)
            .values(status=status, finished_at=utcnow() if finished else None)
        )
        session.commit()


def outcome_counts(session: Session, run_id: int) -> dict[str, int]:
    rows = session.execute(
        select(RemovalResult.outcome, func.count())
        .where(RemovalResult.run_id == run_id)
        .group_by(RemovalResult.outcome)
    )
    return {outcome: int(count) for outcome, count in rows}


def get_run(session: Session, run_id: int) -> RemovalRun:
    run = session.get(RemovalRun, run_id)
    if run is None:
        raise InvalidInput(f"there is no removal run {run_id}")
    return run


def run_method(engine: Engine, run_id: int) -> str:
    """`api` or `import_job`; InvalidInput for a run that does not exist."""
    with open_session(engine) as session, translated_errors():
        return get_run(session, run_id).method


def removal_report(
    engine: Engine,
    run_id: int,
    *,
    rejected: Sequence[RejectedLine] = (),
    results: Sequence[AddressResult] = (),
) -> RemovalReport:
    """Where a run stands now (counts per outcome), plus what the caller just did."""
    with open_session(engine) as session, translated_errors():
        run = get_run(session, run_id)
        counts = outcome_counts(session, run_id)
        return RemovalReport(
            run_id, run.method, run.status, run.requested, counts, tuple(rejected), tuple(results)
        )


def removal_results(engine: Engine, run_id: int) -> list[AddressResult]:
    """Every address of a run with its outcome, for the per-address results table."""
    with translated_errors(), engine.connect() as connection:
        rows = connection.execute(
            select(
                RemovalResult.address,
                RemovalResult.outcome,
                RemovalResult.message,
                RemovalResult.attempts,
            )
            .where(RemovalResult.run_id == run_id)
            .order_by(RemovalResult.id)
        )
        return [AddressResult(*row) for row in rows]
