"""The alert rules: what each one watches, on which scope, and the levels from settings.

Each rule family is a function that reads the store (and what the checker hands it) and
returns the `Finding`s that hold right now. A finding is a condition, not an event: the
lifecycle (`core.alerts.lifecycle`) turns "holds now" into "opened", "still open" or,
when a rule that was evaluated no longer finds it, "resolved".
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, func, select

from core.clock import day_start
from core.reports.overview import account_health, configuration_sets_seen, rate_trend
from core.settings import Settings
from core.store.db import translated_errors
from core.store.tables import DAILY, DEAD_LETTERS, DOMAINS, FACTS, MIRROR, POINTS, SNAPSHOTS

ACCOUNT = "account"
SPIKE_HISTORY_DAYS = 28
PROJECTION_PACE_DAYS = 3
LEVELS = ("warning", "review", "pause")


def set_scope(name: str) -> str:
    return f"configuration_set:{name}"


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule's condition holding on one scope, with what the message needs to say."""

    rule: str
    scope: str
    severity: str  # warning | review | critical
    title: str
    detail: str
    value: float | None = None
    threshold: float | None = None


@dataclass(frozen=True, slots=True)
class JobHealth:
    """How one job stands, as the jobs runner reports it (handed in: alerts never import
    the runner). `problem` is None for a healthy job, else why it is stale or failing."""

    name: str
    problem: str | None
    last_run_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Levels:
    warning: float
    review: float
    pause: float

    def crossed(self) -> list[tuple[str, float]]:
        """The levels that are on (0 is off), lowest first."""
        pairs = [("warning", self.warning), ("review", self.review), ("pause", self.pause)]
        return [(name, level) for name, level in pairs if level > 0]


@dataclass(frozen=True, slots=True)
class Rules:
    """Every rule's knobs, read once from settings."""

    bounce: Levels
    complaint: Levels
    projection_days: int
    spike_factor: float
    spike_floor: int
    spike_domain_floor: int
    ses_status: bool
    dead_letters: int
    dlq_url: str | None
    silence_hours: int
    jobs: bool
    suppressed_per_day: int
    min_sends: int = 100

    @classmethod
    def from_settings(cls, settings: Settings) -> Rules:
        return cls(
            bounce=Levels(
                settings.alert_bounce_warning,
                settings.alert_bounce_review,
                settings.alert_bounce_pause,
            ),
            complaint=Levels(
                settings.alert_complaint_warning,
                settings.alert_complaint_review,
                settings.alert_complaint_pause,
            ),
            projection_days=settings.alert_projection_days,
            spike_factor=settings.alert_spike_factor,
            spike_floor=settings.alert_spike_floor,
            spike_domain_floor=settings.alert_spike_domain_floor,
            ses_status=settings.alert_ses_status,
            dead_letters=settings.alert_dead_letters,
            dlq_url=settings.alert_dlq_url,
            silence_hours=settings.alert_silence_hours,
            jobs=settings.alert_jobs,
            suppressed_per_day=settings.alert_suppressed_per_day,
            min_sends=settings.alert_min_sends,
        )


# --- Rates -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StreamRate:
    """The figure a rate rule judges for one scope, and where it came from."""

    scope: str
    kind: str  # bounce | complaint
    value: float | None
    source: str  # official | own | none
    sends_7d: int
    events_7d: int


def stream_rates(
    engine: Engine, today: date, configuration_sets: Sequence[str]
) -> list[StreamRate]:
    """The account's and each configuration set's bounce and complaint rate: the official
    figure when SES publishes one, else our rolling 7-day figure."""
    rates = []
    for name in [None, *configuration_sets]:
        health = account_health(engine, today=today, configuration_set=name)
        scope = ACCOUNT if name is None else set_scope(name)
        for kind, official, own, events in (
            ("bounce", health.official_bounce_rate, health.own_bounce_rate_7d,
             health.counting_bounces_7d),
            ("complaint", health.official_complaint_rate, health.own_complaint_rate_7d,
             health.complaints_7d),
        ):  # fmt: skip
            value, source = (official, "official") if official is not None else (own, "own")
            rates.append(
                StreamRate(
                    scope,
                    kind,
                    value,
                    source if value is not None else "none",
                    health.sends_7d,
                    events,
                )  # fmt: skip
            )
    return rates


def watched_sets(engine: Engine, extra: Sequence[str] = ()) -> list[str]:
    """The configuration sets our facts name, plus any named in settings (the guard's)."""
    return sorted({*configuration_sets_seen(engine), *extra})


def rate_findings(rules: Rules, rates: Sequence[StreamRate]) -> list[Finding]:
    """One finding per level a rate has reached (5 % is already "review")."""
    findings = []
    for rate in rates:
        if rate.value is None or (rate.source == "own" and rate.sends_7d < rules.min_sends):
            continue
        levels = rules.bounce if rate.kind == "bounce" else rules.complaint
        for level, threshold in levels.crossed():
            if rate.value >= threshold:
                findings.append(
                    Finding(
                        rule=f"{rate.kind}_rate_{level}",
                        scope=rate.scope,
                        severity="critical" if level == "pause" else level,
                        title=(
                            f"{rate.kind.capitalize()} rate {rate.value:.2%} reached the "
                            f"{level} level ({threshold:.2%}) for {describe_scope(rate.scope)}"
                        ),
                        detail=(
                            f"{rate.source} figure; last 7 days: {rate.events_7d} counting "
                            f"{rate.kind}s out of {rate.sends_7d} sends"
                        ),
                        value=rate.value,
                        threshold=threshold,
                    )
                )
    return findings


def describe_scope(scope: str) -> str:
    if scope == ACCOUNT:
        return "the account"
    kind, _, name = scope.partition(":")
    return f"{kind.replace('_', ' ')} {name}"


def projection_findings(
    engine: Engine, rules: Rules, today: date, configuration_sets: Sequence[str]
) -> list[Finding]:
    """At the last 3 days' pace of the rolling 7-day bounce rate, the days until it reaches
    review; a finding when that is within `projection_days`."""
    review = rules.bounce.review
    if rules.projection_days <= 0 or review <= 0:
        return []
    findings = []
    start = today - timedelta(days=PROJECTION_PACE_DAYS)
    for name in [None, *configuration_sets]:
        points = rate_trend(engine, start, today, "bounce", configuration_set=name)
        first, last = points[0].rolling_7d_rate, points[-1].rolling_7d_rate
        if first is None or last is None or last >= review:
            continue
        pace = (last - first) / PROJECTION_PACE_DAYS
        if pace <= 0:
            continue
        days = (review - last) / pace
        if days <= rules.projection_days:
            scope = ACCOUNT if name is None else set_scope(name)
            findings.append(
                Finding(
                    rule="bounce_rate_projection",
                    scope=scope,
                    severity="warning",
                    title=(
                        f"At this pace the bounce rate of {describe_scope(scope)} reaches "
                        f"review ({review:.2%}) in {days:.1f} days"
                    ),
                    detail=(
                        f"rolling 7-day rate {first:.2%} {PROJECTION_PACE_DAYS} days ago, "
                        f"{last:.2%} today (+{pace:.2%} a day)"
                    ),
                    value=days,
                    threshold=float(rules.projection_days),
                )
            )
    return findings


# --- Spikes ------------------------------------------------------------------------------


def spike_findings(engine: Engine, rules: Rules, today: date) -> list[Finding]:
    """Today's counting bounces (account) or hard bounces (per recipient domain) above
    factor x the 28-day daily median and above the floor."""
    if rules.spike_factor <= 0:
        return []
    start = today - timedelta(days=SPIKE_HISTORY_DAYS)
    with translated_errors(), engine.connect() as connection:
        account = dict(
            connection.execute(
                select(DAILY.c.day, func.sum(DAILY.c.count))
                .where(
                    DAILY.c.kind == "bounce",
                    DAILY.c.counts_toward_rate.is_(True),
                    DAILY.c.day >= start,
                    DAILY.c.day <= today,
                )
                .group_by(DAILY.c.day)
            ).all()
        )
        busy = list(
            connection.execute(
                select(DOMAINS.c.domain, func.sum(DOMAINS.c.count))
                .where(
                    DOMAINS.c.day == today,
                    DOMAINS.c.kind == "bounce",
                    DOMAINS.c.classification == "hard",
                )
                .group_by(DOMAINS.c.domain)
                .having(func.sum(DOMAINS.c.count) >= rules.spike_domain_floor)
            )
        )
        domains: dict[str, dict[date, int]] = {}
        if busy:
            rows = connection.execute(
                select(DOMAINS.c.domain, DOMAINS.c.day, func.sum(DOMAINS.c.count))
                .where(
                    DOMAINS.c.domain.in_([domain for domain, _ in busy]),
                    DOMAINS.c.day >= start,
                    DOMAINS.c.day < today,
                    DOMAINS.c.kind == "bounce",
                    DOMAINS.c.classification == "hard",
                )
                .group_by(DOMAINS.c.domain, DOMAINS.c.day)
            )
            for domain, day, count in rows:
                domains.setdefault(domain, {})[_as_date(day)] = int(count)
    by_day = {_as_date(day): int(count) for day, count in account.items()}
    findings = []
    spike = _spike(rules, today, by_day, rules.spike_floor, ACCOUNT, "counting bounces")
    if spike is not None:
        findings.append(spike)
    for domain, count in busy:
        history = {**domains.get(domain, {}), today: int(count)}
        found = _spike(
            rules, today, history, rules.spike_domain_floor, f"domain:{domain}", "hard bounces"
        )
        if found is not None:
            findings.append(found)
    return findings


def _spike(
    rules: Rules, today: date, by_day: dict[date, int], floor: int, scope: str, what: str
) -> Finding | None:
    count = by_day.get(today, 0)
    history = [by_day.get(today - timedelta(days=i), 0) for i in range(1, SPIKE_HISTORY_DAYS + 1)]
    median = statistics.median(history)
    limit = max(rules.spike_factor * median, float(floor))
    if count < floor or count <= rules.spike_factor * median:
        return None
    return Finding(
        rule="bounce_spike",
        scope=scope,
        severity="warning",
        title=f"{count} {what} today for {describe_scope(scope)}: a spike",
        detail=(
            f"{rules.spike_factor:g} x the {SPIKE_HISTORY_DAYS}-day daily median ({median:g}) "
            f"and the floor ({floor}) give {limit:g}"
        ),
        value=float(count),
        threshold=limit,
    )


# --- SES itself --------------------------------------------------------------------------


def enforcement_findings(engine: Engine) -> list[Finding]:
    """The account's latest GetAccount: enforcement status not HEALTHY, sending disabled."""
    with translated_errors(), engine.connect() as connection:
        rows = connection.execute(
            select(SNAPSHOTS.c.enforcement_status, SNAPSHOTS.c.sending_enabled)
            .order_by(SNAPSHOTS.c.taken_at.desc(), SNAPSHOTS.c.id.desc())
            .limit(1)
        ).first()
    if rows is None:
        return []
    findings = []
    status, enabled = rows
    if status and status != "HEALTHY":
        findings.append(
            Finding(
                rule="ses_enforcement",
                scope=ACCOUNT,
                severity="critical",
                title=f"SES enforcement status is {status}",
                detail="GetAccount reports the account is no longer HEALTHY",
            )
        )
    if enabled is False:
        findings.append(
            Finding(
                rule="ses_sending_disabled",
                scope=ACCOUNT,
                severity="critical",
                title="SES sending is disabled for the whole account",
                detail="GetAccount reports SendingEnabled = false",
            )
        )
    return findings


def set_sending_finding(name: str) -> Finding:
    return Finding(
        rule="ses_sending_disabled",
        scope=set_scope(name),
        severity="critical",
        title=f"SES sending is disabled for configuration set {name}",
        detail="GetConfigurationSet reports SendingOptions.SendingEnabled = false",
    )


# --- The pipeline ------------------------------------------------------------------------


def dead_letter_findings(engine: Engine, rules: Rules) -> list[Finding]:
    if rules.dead_letters <= 0:
        return []
    with translated_errors(), engine.connect() as connection:
        count = int(
            connection.scalar(
                select(func.count())
                .select_from(DEAD_LETTERS)
                .where(DEAD_LETTERS.c.status == "open")
            )
            or 0
        )
    if count < rules.dead_letters:
        return []
    return [
        Finding(
            rule="dead_letters",
            scope="pipeline",
            severity="warning",
            title=f"{count} open dead letters",
            detail="input that could not be stored waits on the Ingestion page",
            value=float(count),
            threshold=float(rules.dead_letters),
        )
    ]


def dlq_finding(depth: int) -> list[Finding]:
    if depth <= 0:
        return []
    return [
        Finding(
            rule="dlq_not_empty",
            scope="pipeline",
            severity="warning",
            title=f"{depth} messages on the dead-letter queue",
            detail="notifications SQS gave up on: they are not in Bounce Desk",
            value=float(depth),
            threshold=0.0,
        )
    ]


def silence_findings(engine: Engine, rules: Rules, now: datetime) -> list[Finding]:
    """No notification received for `silence_hours` while CloudWatch shows sends then."""
    if rules.silence_hours <= 0:
        return []
    since = now - timedelta(hours=rules.silence_hours)
    with translated_errors(), engine.connect() as connection:
        last = connection.scalar(select(func.max(FACTS.c.received_at)))
        sends = connection.scalar(
            select(func.sum(POINTS.c.value)).where(
                POINTS.c.source == "cloudwatch",
                POINTS.c.metric == "Send",
                POINTS.c.period_seconds == 3600,
                POINTS.c.at >= since,
            )
        )
    if not sends or (last is not None and last >= since):
        return []
    when = f"since {last:%Y-%m-%d %H:%M} UTC" if last is not None else "ever"
    return [
        Finding(
            rule="pipeline_silent",
            scope="pipeline",
            severity="warning",
            title=f"No notifications for {rules.silence_hours} h while SES sent {int(sends)}",
            detail=f"nothing received {when}; check the SNS subscription, SQS and the Lambda",
            value=float(sends),
        )
    ]


def job_findings(rules: Rules, jobs: Sequence[JobHealth]) -> list[Finding]:
    if not rules.jobs:
        return []
    return [
        Finding(
            rule="job_unhealthy",
            scope=f"job:{job.name}",
            severity="warning",
            title=f"Job {job.name} is {job.problem}",
            detail=(
                f"last run {job.last_run_at:%Y-%m-%d %H:%M} UTC" if job.last_run_at else "never run"
            ),
        )
        for job in jobs
        if job.problem
    ]


# --- The list ----------------------------------------------------------------------------


def suppression_findings(engine: Engine, rules: Rules, today: date) -> list[Finding]:
    """More than `suppressed_per_day` addresses put on the suppression list today (by
    SES's LastUpdateTime in the mirror)."""
    if rules.suppressed_per_day <= 0:
        return []
    with translated_errors(), engine.connect() as connection:
        count = int(
            connection.scalar(
                select(func.count())
                .select_from(MIRROR)
                .where(
                    MIRROR.c.suppressed.is_(True),
                    MIRROR.c.last_update_time >= day_start(today),
                )
            )
            or 0
        )
    if count <= rules.suppressed_per_day:
        return []
    return [
        Finding(
            rule="suppressed_today",
            scope=ACCOUNT,
            severity="warning",
            title=f"{count} addresses newly suppressed today",
            detail=f"more than {rules.suppressed_per_day} in a day: a bad list import?",
            value=float(count),
            threshold=float(rules.suppressed_per_day),
        )
    ]


def _as_date(value: date | str) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value
