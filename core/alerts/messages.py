"""What an alert message says: what crossed what, the numbers, the trend, the domains and
subtypes that bounce most, and a link to the dashboard page that explains it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Engine

from core.alerts.channels import Message
from core.alerts.lifecycle import AlertRecord, Transition
from core.reports.overview import bounces_by_type, rate_trend, top_domains

TREND_DAYS = 7
ALERTS_PAGE = "alerts"


@dataclass(frozen=True, slots=True)
class Context:
    """The account's recent picture, read once per check and shared by its messages."""

    trend: str
    domains: str
    subtypes: str


def read_context(engine: Engine, today: date) -> Context:
    start = today - timedelta(days=TREND_DAYS - 1)
    points = rate_trend(engine, start, today, "bounce")
    trend = " → ".join(
        "–" if p.rolling_7d_rate is None else f"{p.rolling_7d_rate:.2%}" for p in points
    )
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
    return Context(trend or "no data", domains or "none", subtypes or "none")


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
    lines = [
        alert.title,
        alert.message,
        f"Bounce rate, rolling 7 days (account): {context.trend}",
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
