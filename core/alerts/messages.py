"""What an alert message says: what crossed what, the numbers, the trend, the domains and
subtypes that bounce most, and a link to the dashboard page that explains it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import Engine

from core.alerts.channels import Message
from core.alerts.lifecycle import AlertRecord, Transition
from core.reports.overview import bounces_by_type, rate_trend, top_domains

TREND_DAYS = 7
ALERTS_PAGE = "alerts"


SET_PREFIX = "configuration_set:"


@dataclass(frozen=True, slots=True)
class Context:
    """The recent picture, read once per check and shared by its messages: the account's
    rolling bounce rate and each alerting configuration set's, top domains and subtypes."""

    trend: str
    domains: str
    subtypes: str
    set_trends: dict[str, str] = field(default_factory=dict)

    def trend_of(self, scope: str) -> tuple[str, str]:
        """The rolling bounce rate of the alert's configuration set, else the account's."""
        name = scope[len(SET_PREFIX) :] if scope.startswith(SET_PREFIX) else None
        if name is not None and name in self.set_trends:
            return f"configuration set {name}", self.set_trends[name]
        return "account", self.trend


def _trend(engine: Engine, start: date, today: date, configuration_set: str | None) -> str:
    points = rate_trend(engine, start, today, "bounce", configuration_set=configuration_set)
    return " → ".join(
        "–" if p.rolling_7d_rate is None else f"{p.rolling_7d_rate:.2%}" for p in points
    )


def read_context(engine: Engine, today: date, configuration_sets: Sequence[str] = ()) -> Context:
    start = today - timedelta(days=TREND_DAYS - 1)
    trend = _trend(engine, start, today, None)
    set_trends = {name: _trend(engine, start, today, name) for name in configuration_sets}
    domains = ", ".join(
        f"{d.domain} ({d.hard} hard, {d.soft} soft)" for d in top_domains(engine, start, today, 3)
    )
    counts: dict[str, int] = {}
    for row in bounces_by_type(engine, start, today):
        key = f"{row.classification}/{row.subtype}" if row.subtype else row.classification
        counts[key] = counts.get(key, 0) + row.count
    subtypes = ", ".join(
        f"{name} {count}" for name, count in sorted(counts.items(), key=lambda kv: -kv[1])[:3]
    )
    return Context(trend or "no data", domains or "none", subtypes or "none", set_trends)


def compose(transition: Transition, context: Context, dashboard_url: str | None) -> Message:
    alert = transition.alert
    if transition.change == "resolved":
        return Message(
            title=f"Resolved: {alert.title}",
            body="\n".join(
                [alert.title, "Resolved: the condition cleared.", _link(alert, dashboard_url)]
            ),
            kind="resolved",
        )
    prefix = "Still open" if transition.change == "renotify" else alert.severity.capitalize()
    whose, trend = context.trend_of(alert.scope)
    lines = [
        alert.title,
        alert.message,
        f"Bounce rate, rolling 7 days ({whose}): {trend}",
        f"Top bouncing domains (7 days): {context.domains}",
        f"Top types/subtypes (7 days): {context.subtypes}",
        f"Open since {alert.opened_at:%Y-%m-%d %H:%M} UTC "
        f"(alert {alert.id}, {alert.rule}, {alert.scope})",
        _link(alert, dashboard_url),
    ]
    return Message(title=f"{prefix}: {alert.title}", body="\n".join(lines), kind=alert.severity)


def _link(alert: AlertRecord, dashboard_url: str | None) -> str:
    if not dashboard_url:
        return "Dashboard: the Alerts page of Bounce Desk"
    return f"Dashboard: {dashboard_url.rstrip('/')}/{ALERTS_PAGE}"
