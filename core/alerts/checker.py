"""One alerts check: evaluate every rule, let the guard act, update the alerts, notify.

`AlertChecker.from_settings(settings, engine, gateway, notifier, job_statuses=...)` is built
once; `check(now)` returns a `CheckSummary`. Job health is handed in (this wing never
imports the jobs runner, which sits above it). A rule family that fails (SES unreachable,
say) is reported in the summary and resolves nothing; the others go on. A failed delivery
is recorded on the alert and never stops the check.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine

from core.alerts import rules as r
from core.alerts.channels import Delivery, Notifier
from core.alerts.guard import PAUSED, WOULD_PAUSE, Guard, GuardStep
from core.alerts.lifecycle import Transition, apply_findings, mark_notified, record_delivery
from core.alerts.messages import compose, read_context
from core.clock import utcnow
from core.errors import BounceDeskError
from core.ses.gateway import SesGateway
from core.ses.metrics import record_account_snapshot
from core.settings import Settings

JobStatuses = Callable[[], Sequence[r.JobHealth]]


@dataclass(frozen=True, slots=True)
class CheckSummary:
    """What one check found and did."""

    at: datetime
    findings: int
    opened: list[int] = field(default_factory=list)
    renotified: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    guard: list[GuardStep] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # rule family -> why not evaluated

    @property
    def failed_deliveries(self) -> int:
        return sum(1 for d in self.deliveries if not d.delivered)


class AlertChecker:
    def __init__(
        self,
        engine: Engine,
        rules: r.Rules,
        *,
        gateway: SesGateway | None,
        notifier: Notifier | None,
        guard: Guard,
        job_statuses: JobStatuses | None = None,
        renotify_after: timedelta = timedelta(hours=24),
        dashboard_url: str | None = None,
        configuration_sets: Sequence[str] = (),
    ) -> None:
        self.engine = engine
        self.rules = rules
        self.gateway = gateway
        self.notifier = notifier
        self.guard = guard
        self.job_statuses = job_statuses
        self.renotify_after = renotify_after
        self.dashboard_url = dashboard_url
        self.configuration_sets = tuple(configuration_sets)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        engine: Engine,
        gateway: SesGateway | None,
        notifier: Notifier | None,
        *,
        job_statuses: JobStatuses | None = None,
    ) -> AlertChecker:
        return cls(
            engine,
            r.Rules.from_settings(settings),
            gateway=gateway,
            notifier=notifier,
            guard=Guard.from_settings(settings, engine, gateway),
            job_statuses=job_statuses,
            renotify_after=timedelta(hours=settings.alert_renotify_hours),
            dashboard_url=settings.alert_dashboard_url,
            configuration_sets=settings.guard_configuration_sets,
        )

    def check(self, now: datetime | None = None) -> CheckSummary:
        now = now or utcnow()
        today = now.date()
        findings: list[r.Finding] = []
        evaluated: set[str] = set()
        skipped: dict[str, str] = {}
        sets = r.watched_sets(self.engine, self.configuration_sets)
        rates = r.stream_rates(self.engine, today, sets)
        rate_rules = {
            f"{kind}_rate_{level}" for kind in ("bounce", "complaint") for level in r.LEVELS
        }
        self._family(findings, evaluated, skipped, "rates", rate_rules,
                     lambda: r.rate_findings(self.rules, rates))  # fmt: skip
        self._family(findings, evaluated, skipped, "projection", {"bounce_rate_projection"},
                     lambda: r.projection_findings(self.engine, self.rules, today, sets),
                     )  # fmt: skip
        self._family(findings, evaluated, skipped, "spikes", {"bounce_spike"},
                     lambda: r.spike_findings(self.engine, self.rules, today))  # fmt: skip
        if self.rules.ses_status:
            self._family(findings, evaluated, skipped, "ses",
                         {"ses_enforcement", "ses_sending_disabled"},
                         lambda: self._ses_findings(sets))  # fmt: skip
        self._family(findings, evaluated, skipped, "dead_letters", {"dead_letters"},
                     lambda: r.dead_letter_findings(self.engine, self.rules))  # fmt: skip
        if self.rules.dlq_url:
            self._family(findings, evaluated, skipped, "dlq", {"dlq_not_empty"},
                         self._dlq_findings)  # fmt: skip
        self._family(findings, evaluated, skipped, "silence", {"pipeline_silent"},
                     lambda: r.silence_findings(self.engine, self.rules, now))  # fmt: skip
        self._family(findings, evaluated, skipped, "jobs", {"job_unhealthy"},
                     lambda: r.job_findings(self.rules, self._jobs()))  # fmt: skip
        self._family(findings, evaluated, skipped, "suppression", {"suppressed_today"},
                     lambda: r.suppression_findings(self.engine, self.rules, today))  # fmt: skip
        guard_findings, steps = self.guard.check(rates, now)
        findings += guard_findings
        evaluated |= {WOULD_PAUSE, PAUSED}
        transitions = apply_findings(self.engine, findings, evaluated, now, self.renotify_after)
        deliveries = self._notify(transitions, now)
        return CheckSummary(
            at=now,
            findings=len(findings),
            opened=[t.alert.id for t in transitions if t.change == "opened"],
            renotified=[t.alert.id for t in transitions if t.change == "renotify"],
            resolved=[t.alert.id for t in transitions if t.change == "resolved"],
            deliveries=deliveries,
            guard=steps,
            skipped=skipped,
        )

    @staticmethod
    def _family(
        findings: list[r.Finding],
        evaluated: set[str],
        skipped: dict[str, str],
        name: str,
        rule_names: set[str],
        evaluate: Callable[[], list[r.Finding]],
    ) -> None:
        try:
            found = evaluate()
        except BounceDeskError as exc:
            skipped[name] = str(exc)
            return
        findings.extend(found)
        evaluated.update(rule_names)

    def _ses_findings(self, sets: Sequence[str]) -> list[r.Finding]:
        if self.gateway is None:
            return r.enforcement_findings(self.engine)
        record_account_snapshot(self.engine, self.gateway)
        found = r.enforcement_findings(self.engine)
        known = set(self.gateway.list_configuration_sets())
        for name in sets:
            if name in known and not self.gateway.get_configuration_set(name).sending_enabled:
                found.append(r.set_sending_finding(name))
        return found

    def _dlq_findings(self) -> list[r.Finding]:
        if self.gateway is None or not self.rules.dlq_url:
            return []
        return r.dlq_finding(self.gateway.queue_depth(self.rules.dlq_url))

    def _jobs(self) -> Sequence[r.JobHealth]:
        return self.job_statuses() if self.job_statuses is not None else ()

    def _notify(self, transitions: Sequence[Transition], now: datetime) -> list[Delivery]:
        due = [t for t in transitions if t.notify]
        if not due or self.notifier is None or not self.notifier.channels:
            return []
        prefix = r.set_scope("")
        sets = sorted(
            {t.alert.scope[len(prefix) :] for t in due if t.alert.scope.startswith(prefix)}
        )
        context = read_context(self.engine, now.date(), sets)
        deliveries = []
        for transition in due:
            outcomes = self.notifier.send(compose(transition, context, self.dashboard_url))
            for outcome in outcomes:
                record_delivery(
                    self.engine, transition.alert.id, utcnow(), outcome.delivered,
                    f"{outcome.channel}: {outcome.detail} after {outcome.attempts} attempt(s)",
                )  # fmt: skip
            if transition.change != "resolved":
                mark_notified(self.engine, transition.alert.id, now)
            deliveries += outcomes
        return deliveries
