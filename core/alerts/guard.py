"""The guard: when a protected stream's bounce rate reaches `guard_pause_at`, pause sending
for that configuration set only (SESv2 PutConfigurationSetSendingOptions), so transactional
mail keeps flowing while the bulk stream stops hurting the account.

Dry-run by default: it then opens a "would pause" alert and changes nothing. A real pause
is audited with the actor "guard" and opens an alert that only an admin's resume (with a
reason, also audited) closes; resuming is never automatic, and after a resume the guard
leaves that set alone for `guard_resume_grace_hours`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, select

from core.access import Action, Actor, Role, require
from core.alerts.lifecycle import OPEN, add_event, alert_record, open_key, resolve
from core.alerts.rules import Finding, StreamRate, set_scope
from core.audit import record_audit
from core.clock import utcnow
from core.errors import BounceDeskError, InvalidInput
from core.ses.gateway import SesGateway
from core.settings import Settings
from core.store.db import translated_errors
from core.store.tables import ALERT_EVENTS, ALERTS

GUARD_ACTOR = Actor(name="guard", role=Role.ADMIN)
PAUSED, WOULD_PAUSE = "guard_paused", "guard_would_pause"


@dataclass(frozen=True, slots=True)
class GuardStep:
    """What the guard did about one protected set in one check."""

    configuration_set: str
    rate: float | None
    source: str
    # below | too_few_sends | paused | would_pause | already_paused | resumed_recently | failed
    outcome: str
    detail: str = ""


class Guard:
    """Built once from settings; `check` runs inside every alerts check."""

    def __init__(
        self,
        engine: Engine,
        gateway: SesGateway | None,
        configuration_sets: Sequence[str],
        *,
        pause_at: float,
        dry_run: bool = True,
        grace: timedelta = timedelta(hours=24),
        min_sends: int = 100,
    ) -> None:
        self.engine = engine
        self.gateway = gateway
        self.configuration_sets = tuple(configuration_sets)
        self.pause_at = pause_at
        self.dry_run = dry_run
        self.grace = grace
        self.min_sends = min_sends

    @classmethod
    def from_settings(cls, settings: Settings, engine: Engine, gateway: SesGateway | None) -> Guard:
        return cls(
            engine,
            gateway,
            settings.guard_configuration_sets,
            pause_at=settings.guard_pause_at,
            dry_run=settings.guard_dry_run,
            grace=timedelta(hours=settings.guard_resume_grace_hours),
            min_sends=settings.alert_min_sends,
        )

    def check(
        self, rates: Sequence[StreamRate], now: datetime
    ) -> tuple[list[Finding], list[GuardStep]]:
        """Judge each protected set's bounce rate; pause (or say it would) at the level."""
        by_scope = {r.scope: r for r in rates if r.kind == "bounce"}
        findings, steps = [], []
        for name in self.configuration_sets:
            rate = by_scope.get(set_scope(name))
            value = rate.value if rate else None
            source = rate.source if rate else "none"
            if value is None or value < self.pause_at:
                steps.append(GuardStep(name, value, source, "below"))
                continue
            if rate is not None and source == "own" and rate.sends_7d < self.min_sends:
                # Never pause a stream on a figure from a handful of Send events.
                steps.append(GuardStep(name, value, source, "too_few_sends"))
                continue
            step, finding = self._act(name, value, source, now)
            steps.append(step)
            if finding is not None:
                findings.append(finding)
        return findings, steps

    def _act(
        self, name: str, value: float, source: str, now: datetime
    ) -> tuple[GuardStep, Finding | None]:
        why = f"bounce rate {value:.2%} ({source}) reached the guard level {self.pause_at:.2%}"
        if self.dry_run:
            finding = Finding(
                rule=WOULD_PAUSE,
                scope=set_scope(name),
                severity="review",
                title=f"The guard would pause configuration set {name} (dry run)",
                detail=f"{why}; guard_dry_run is on, so nothing was changed",
                value=value,
                threshold=self.pause_at,
            )
            self._audit_once(name, "alerts.guard_would_pause", "would pause", why, now)
            return GuardStep(name, value, source, "would_pause", why), finding
        if self._already_paused(name):
            return GuardStep(name, value, source, "already_paused"), None
        if self._resumed_since(name, now - self.grace):
            return GuardStep(name, value, source, "resumed_recently"), None
        if self.gateway is None:
            return GuardStep(name, value, source, "failed", "no SES gateway"), None
        try:
            self.gateway.set_configuration_set_sending(name, enabled=False)
        except BounceDeskError as exc:
            self._audit(name, "alerts.guard_pause", "failed", f"{why}; SES refused: {exc}")
            return GuardStep(name, value, source, "failed", str(exc)), None
        self._audit(name, "alerts.guard_pause", "paused", why)
        finding = Finding(
            rule=PAUSED,
            scope=set_scope(name),
            severity="critical",
            title=f"The guard paused sending for configuration set {name}",
            detail=f"{why}; every other stream is untouched. An admin resumes it with a reason.",
            value=value,
            threshold=self.pause_at,
        )
        return GuardStep(name, value, source, "paused", why), finding

    def _audit(self, name: str, action: str, outcome: str, detail: str) -> None:
        with translated_errors(), self.engine.begin() as connection:
            record_audit(
                connection, GUARD_ACTOR, action, None, outcome,
                {"configuration_set": name, "pause_at": self.pause_at, "dry_run": self.dry_run},
                detail,
            )  # fmt: skip

    def _audit_once(self, name: str, action: str, outcome: str, detail: str, now: datetime) -> None:
        """A dry run is audited when its alert opens, not on every check."""
        key = open_key(WOULD_PAUSE, set_scope(name))
        with translated_errors(), self.engine.connect() as connection:
            already = connection.scalar(select(ALERTS.c.id).where(ALERTS.c.open_key == key))
        if already is None:
            self._audit(name, action, outcome, detail)

    def _already_paused(self, name: str) -> bool:
        key = open_key(PAUSED, set_scope(name))
        with translated_errors(), self.engine.connect() as connection:
            return (
                connection.scalar(select(ALERTS.c.id).where(ALERTS.c.open_key == key)) is not None
            )

    def _resumed_since(self, name: str, since: datetime) -> bool:
        query = (
            select(ALERT_EVENTS.c.id)
            .join(ALERTS, ALERTS.c.id == ALERT_EVENTS.c.alert_id)
            .where(
                ALERTS.c.rule == PAUSED,
                ALERTS.c.scope == set_scope(name),
                ALERT_EVENTS.c.kind == "resumed",
                ALERT_EVENTS.c.at >= since,
            )
            .limit(1)
        )
        with translated_errors(), self.engine.connect() as connection:
            return connection.scalar(query) is not None


def resume_sending(
    engine: Engine, gateway: SesGateway, actor: Actor, configuration_set: str, reason: str
) -> None:
    """An admin turns sending back on for a set (the guard's or anyone's pause), with a
    reason; audited, and the guard's alert for the set is resolved saying who and why."""
    require(actor, Action.RESUME_SENDING)
    if not reason.strip():
        raise InvalidInput("resuming sending needs a reason")
    gateway.set_configuration_set_sending(configuration_set, enabled=True)
    now = utcnow()
    with translated_errors(), engine.begin() as connection:
        record_audit(
            connection, actor, "alerts.guard_resume", None, "resumed",
            {"configuration_set": configuration_set, "reason": reason.strip()},
        )  # fmt: skip
        row = connection.execute(
            select(ALERTS).where(
                ALERTS.c.open_key == open_key(PAUSED, set_scope(configuration_set)),
                ALERTS.c.status == OPEN,
            )
        ).first()
        if row is not None:
            alert = alert_record(row)
            add_event(connection, alert.id, now, "resumed", actor.name, reason.strip())
            resolve(connection, alert, now, f"resumed by {actor.name}: {reason.strip()}")
