"""The overview figures: account health, rate trends, bounces by type, top domains.

Our own rates are built the way AWS builds its figure: only bounces that count toward the
bounce rate (hard bounces SES attempted; not ``OnAccountSuppressionList``), over sends. The
official CloudWatch reputation metrics are shown beside them, because SES computes its rate
over a "representative volume" we cannot reproduce exactly.

Trends read the small ``daily_counts`` and ``metric_points`` tables, and top domains
``daily_domain_counts``: never the facts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, Engine, and_, case, func, select

from core.clock import day_start, utcnow
from core.errors import InvalidInput
from core.policy import BOUNCE_PAUSE, BOUNCE_REVIEW, NOT_COUNTED_SUBTYPES
from core.reports.rates import RateStatus, bounce_status, complaint_status, headroom, rate
from core.store.db import translated_errors
from core.store.tables import DAILY, DOMAINS, POINTS, SET_DAILY, SET_POINTS, SNAPSHOTS

Kind = Literal["bounce", "complaint"]
CLOUDWATCH = "cloudwatch"
HOUR, DAY = 3600, 86400
OFFICIAL_METRIC = {"bounce": "Reputation.BounceRate", "complaint": "Reputation.ComplaintRate"}
WINDOW_DAYS = 7


@dataclass(frozen=True, slots=True)
class RatePoint:
    """One UTC day of a rate trend. `sends_source` is "cloudwatch" (the SES Send metric),
    "own" (Send events we received) or "none"; rates are None when nothing was sent."""

    day: date
    sends: int
    sends_source: str
    events: int
    daily_rate: float | None
    rolling_7d_rate: float | None
    official_rate: float | None


@dataclass(frozen=True, slots=True)
class AccountHealth:
    """Everything the overview's headline shows. Statuses use the official rate when
    CloudWatch has one and our own 7-day estimate otherwise (`*_status_source` says which).
    Account fields are None until GetAccount has been pulled once."""

    official_bounce_rate: float | None
    official_bounce_rate_at: datetime | None
    official_complaint_rate: float | None
    official_complaint_rate_at: datetime | None
    bounce_status: RateStatus
    bounce_status_source: str
    complaint_status: RateStatus
    complaint_status_source: str
    enforcement_status: str | None
    sending_enabled: bool | None
    production_access: bool | None
    account_checked_at: datetime | None
    last_metrics_at: datetime | None
    own_bounce_rate_7d: float | None
    own_complaint_rate_7d: float | None
    sends_7d: int
    sends_source_7d: str
    counting_bounces_7d: int
    complaints_7d: int
    headroom_to_review: int | None
    headroom_to_pause: int | None


@dataclass(frozen=True, slots=True)
class TypeCount:
    """Bounces (or complaints, classification "complaint") of one kind on one day."""

    day: date
    classification: str
    subtype: str
    count: int


@dataclass(frozen=True, slots=True)
class DomainCount:
    domain: str
    hard: int
    soft: int
    undetermined: int
    complaints: int
    total: int


# --- Account health ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Official:
    value: float | None
    at: datetime | None


def account_health(
    engine: Engine, *, today: date | None = None, configuration_set: str | None = None
) -> AccountHealth:
    """The headline: official rates, enforcement status, our 7-day rates and the headroom
    (counting bounces that would bring the last 7 days' volume to review / pause).

    With `configuration_set`, the rates, volume and headroom are that stream's (its Send
    events and its `Reputation.*` points); the thresholds and the enforcement status stay
    the account's, since SES enforces per account."""
    today = today or utcnow().date()
    start = today - timedelta(days=WINDOW_DAYS - 1)
    with translated_errors(), engine.connect() as connection:
        inputs = _daily_inputs(connection, start, today, configuration_set)
        bounce = inputs.latest["bounce"] or _latest_official(
            connection, "bounce", configuration_set
        )
        complaint = inputs.latest["complaint"] or _latest_official(
            connection, "complaint", configuration_set
        )
        snapshot = connection.execute(
            select(SNAPSHOTS).order_by(SNAPSHOTS.c.taken_at.desc()).limit(1)
        ).first()
        last_pull = connection.scalar(select(func.max(POINTS.c.pulled_at)))
    volume = [inputs.sends(today - timedelta(days=i)) for i in range(WINDOW_DAYS)]
    sends = sum(count for count, _ in volume)
    counting, complained = inputs.total("bounce"), inputs.total("complaint")
    own_bounce, own_complaint = rate(counting, sends), rate(complained, sends)
    b_status, b_source = _status(bounce.value, own_bounce, bounce_status)
    c_status, c_source = _status(complaint.value, own_complaint, complaint_status)
    return AccountHealth(
        official_bounce_rate=bounce.value,
        official_bounce_rate_at=bounce.at,
        official_complaint_rate=complaint.value,
        official_complaint_rate_at=complaint.at,
        bounce_status=b_status,
        bounce_status_source=b_source,
        complaint_status=c_status,
        complaint_status_source=c_source,
        enforcement_status=snapshot.enforcement_status if snapshot else None,
        sending_enabled=snapshot.sending_enabled if snapshot else None,
        production_access=snapshot.production_access_enabled if snapshot else None,
        account_checked_at=snapshot.taken_at if snapshot else None,
        last_metrics_at=last_pull,
        own_bounce_rate_7d=own_bounce,
        own_complaint_rate_7d=own_complaint,
        sends_7d=sends,
        sends_source_7d=_combined_source(source for _, source in volume),
        counting_bounces_7d=counting,
        complaints_7d=complained,
        headroom_to_review=headroom(sends, counting, BOUNCE_REVIEW) if sends else None,
        headroom_to_pause=headroom(sends, counting, BOUNCE_PAUSE) if sends else None,
    )


def _status(
    official: float | None, own: float | None, judge: Callable[[float | None], RateStatus]
) -> tuple[RateStatus, str]:
    if official is not None:
        return judge(official), "official"
    if own is not None:
        return judge(own), "own"
    return RateStatus.UNKNOWN, "none"


def _combined_source(sources: Iterable[str]) -> str:
    used = {s for s in sources if s != "none"}
    if not used:
        return "none"
    return used.pop() if len(used) == 1 else "mixed"


def _latest_official(
    connection: Connection, kind: str, configuration_set: str | None = None
) -> _Official:
    """The newest official point of any age (the window read found none)."""
    if configuration_set is not None:
        row = connection.execute(
            select(SET_POINTS.c.value, SET_POINTS.c.at)
            .where(
                SET_POINTS.c.configuration_set == configuration_set,
                SET_POINTS.c.metric == OFFICIAL_METRIC[kind],
            )
            .order_by(SET_POINTS.c.at.desc(), SET_POINTS.c.period_seconds)
            .limit(1)
        ).first()
        return _Official(float(row.value), row.at) if row else _Official(None, None)
    row = connection.execute(
        select(POINTS.c.value, POINTS.c.at)
        .where(POINTS.c.source == CLOUDWATCH, POINTS.c.metric == OFFICIAL_METRIC[kind])
        .order_by(POINTS.c.at.desc(), POINTS.c.period_seconds)
        .limit(1)
    ).first()
    return _Official(float(row.value), row.at) if row else _Official(None, None)


# --- Rate trend ----------------------------------------------------------------------------


@dataclass(slots=True)
class _DailyInputs:
    """Everything a trend needs per UTC day, read in two queries for both kinds."""

    own_sends: dict[date, int] = field(default_factory=dict)
    cloudwatch_sends: dict[date, int] = field(default_factory=dict)
    events: dict[str, dict[date, int]] = field(
        default_factory=lambda: {"bounce": {}, "complaint": {}}
    )
    official: dict[str, dict[date, float]] = field(
        default_factory=lambda: {"bounce": {}, "complaint": {}}
    )
    latest: dict[str, _Official | None] = field(
        default_factory=lambda: {"bounce": None, "complaint": None}
    )

    def sends(self, day: date) -> tuple[int, str]:
        """The day's volume and where it came from: CloudWatch first, then Send events."""
        if day in self.cloudwatch_sends:
            return self.cloudwatch_sends[day], "cloudwatch"
        if day in self.own_sends:
            return self.own_sends[day], "own"
        return 0, "none"

    def total(self, kind: str) -> int:
        return sum(self.events[kind].values())


def rate_trend(
    engine: Engine,
    start: date,
    end: date,
    kind: Kind = "bounce",
    *,
    configuration_set: str | None = None,
) -> list[RatePoint]:
    """One point per UTC day from `start` to `end` inclusive: sends, counting events, the
    daily and rolling 7-day rate, and the official CloudWatch rate of that day; the
    account's, or one configuration set's."""
    if kind not in OFFICIAL_METRIC:
        raise InvalidInput(f"kind must be 'bounce' or 'complaint', not {kind!r}")
    if end < start:
        raise InvalidInput(f"the trend ends ({end}) before it starts ({start})")
    lead_in = start - timedelta(days=WINDOW_DAYS - 1)
    with translated_errors(), engine.connect() as connection:
        inputs = _daily_inputs(connection, lead_in, end, configuration_set)
    events, official = inputs.events[kind], inputs.official[kind]
    points = []
    for offset in range((end - start).days + 1):
        day = start + timedelta(days=offset)
        sends, source = inputs.sends(day)
        window = [day - timedelta(days=i) for i in range(WINDOW_DAYS)]
        points.append(
            RatePoint(
                day=day,
                sends=sends,
                sends_source=source,
                events=events.get(day, 0),
                daily_rate=rate(events.get(day, 0), sends),
                rolling_7d_rate=rate(
                    sum(events.get(d, 0) for d in window), sum(inputs.sends(d)[0] for d in window)
                ),
                official_rate=official.get(day),
            )
        )
    return points


def _daily_inputs(
    connection: Connection, start: date, end: date, configuration_set: str | None = None
) -> _DailyInputs:
    inputs = _DailyInputs()
    if configuration_set is not None:
        _read_set_counts(connection, start, end, configuration_set, inputs)
        _read_set_points(connection, start, end, configuration_set, inputs)
        return inputs
    _read_daily_counts(connection, start, end, inputs)
    _read_metric_points(connection, start, end, inputs)
    return inputs


def _read_set_counts(
    connection: Connection, start: date, end: date, name: str, inputs: _DailyInputs
) -> None:
    """One stream's Send events and rate-counting events per day (daily_config_set_counts)."""
    rows = connection.execute(
        select(SET_DAILY.c.day, SET_DAILY.c.kind, func.sum(SET_DAILY.c.count))
        .where(
            SET_DAILY.c.configuration_set == name,
            SET_DAILY.c.day >= start,
            SET_DAILY.c.day <= end,
            SET_DAILY.c.kind.in_(["send", "bounce", "complaint"]),
            SET_DAILY.c.counts_toward_rate.is_(True),
        )
        .group_by(SET_DAILY.c.day, SET_DAILY.c.kind)
    )
    for day, kind, count in rows:
        target = inputs.own_sends if kind == "send" else inputs.events[kind]
        target[_as_date(day)] = int(count)


def _read_set_points(
    connection: Connection, start: date, end: date, name: str, inputs: _DailyInputs
) -> None:
    """One stream's official rate per day: its daily point, else the day's last hourly one."""
    kinds = {metric: kind for kind, metric in OFFICIAL_METRIC.items()}
    rows = connection.execute(
        select(SET_POINTS.c.metric, SET_POINTS.c.at, SET_POINTS.c.value)
        .where(
            SET_POINTS.c.configuration_set == name,
            SET_POINTS.c.metric.in_(list(kinds)),
            SET_POINTS.c.period_seconds.in_([HOUR, DAY]),
            SET_POINTS.c.at >= day_start(start),
            SET_POINTS.c.at < day_start(end + timedelta(days=1)),
        )
        .order_by(SET_POINTS.c.period_seconds, SET_POINTS.c.at)
    )
    for metric, at, value in rows:
        kind = kinds[metric]
        inputs.official[kind][at.date()] = float(value)
        newest = inputs.latest[kind]
        if newest is None or newest.at is None or at > newest.at:
            inputs.latest[kind] = _Official(float(value), at)


def configuration_sets_seen(engine: Engine) -> list[str]:
    """Every configuration set our facts name, for the overview's stream selector."""
    query = (
        select(SET_DAILY.c.configuration_set)
        .group_by(SET_DAILY.c.configuration_set)
        .order_by(SET_DAILY.c.configuration_set)
    )
    with translated_errors(), engine.connect() as connection:
        return list(connection.scalars(query))


def _read_daily_counts(
    connection: Connection, start: date, end: date, inputs: _DailyInputs
) -> None:
    """Send events and rate-counting events per day, from the ingest-time daily counts."""
    rows = connection.execute(
        select(DAILY.c.day, DAILY.c.kind, DAILY.c.counts_toward_rate, DAILY.c.subtype)
        .add_columns(func.sum(DAILY.c.count))
        .where(
            DAILY.c.day >= start,
            DAILY.c.day <= end,
            DAILY.c.kind.in_(["send", "bounce", "complaint"]),
        )
        .group_by(DAILY.c.day, DAILY.c.kind, DAILY.c.counts_toward_rate, DAILY.c.subtype)
    )
    for day, kind, counted, subtype, count in rows:
        day = _as_date(day)
        if kind == "send":
            target = inputs.own_sends
        elif kind == "bounce" and counted:
            target = inputs.events["bounce"]
        # A complaint about an address on our suppression list was never sent: not counted.
        elif kind == "complaint" and subtype.lower() not in NOT_COUNTED_SUBTYPES:
            target = inputs.events["complaint"]
        else:
            continue
        target[day] = target.get(day, 0) + int(count)


def _read_metric_points(
    connection: Connection, start: date, end: date, inputs: _DailyInputs
) -> None:
    """CloudWatch daily sends, and each day's official rate: the daily point, or failing
    that the day's last hourly one (rows come oldest first, so the last one wins)."""
    metrics = {"Send": None, **{m: kind for kind, m in OFFICIAL_METRIC.items()}}
    rows = connection.execute(
        select(POINTS.c.metric, POINTS.c.period_seconds, POINTS.c.at, POINTS.c.value)
        .where(
            POINTS.c.source == CLOUDWATCH,
            POINTS.c.metric.in_(list(metrics)),
            POINTS.c.period_seconds.in_([HOUR, DAY]),
            POINTS.c.at >= day_start(start),
            POINTS.c.at < day_start(end + timedelta(days=1)),
        )
        .order_by(POINTS.c.period_seconds, POINTS.c.at)
    )
    for metric, period, at, value in rows:
        kind = metrics[metric]
        if kind is not None:
            inputs.official[kind][at.date()] = float(value)
            newest = inputs.latest[kind]
            if newest is None or newest.at is None or at > newest.at:
                inputs.latest[kind] = _Official(float(value), at)
        elif period == DAY:
            inputs.cloudwatch_sends[at.date()] = round(value)


# --- Breakdowns ----------------------------------------------------------------------------


def bounces_by_type(engine: Engine, start: date, end: date) -> list[TypeCount]:
    """Bounces per day, classification and subtype (complaints as "complaint"), including
    the ones that do not count toward the rate: this is what happened, not the rate."""
    classification = case((DAILY.c.kind == "complaint", "complaint"), else_=DAILY.c.classification)
    query = (
        select(DAILY.c.day, classification, DAILY.c.subtype, func.sum(DAILY.c.count))
        .where(DAILY.c.day >= start, DAILY.c.day <= end, DAILY.c.kind.in_(["bounce", "complaint"]))
        .group_by(DAILY.c.day, classification, DAILY.c.subtype)
        .order_by(DAILY.c.day, classification, DAILY.c.subtype)
    )
    with translated_errors(), engine.connect() as connection:
        return [
            TypeCount(_as_date(day), cls, subtype, int(count))
            for day, cls, subtype, count in connection.execute(query)
        ]


def top_domains(engine: Engine, start: date, end: date, limit: int = 10) -> list[DomainCount]:
    """Recipient domains with the most bounces and complaints between two UTC days."""
    is_bounce = DOMAINS.c.kind == "bounce"

    def counted(condition: Any) -> Any:
        return func.sum(case((condition, DOMAINS.c.count), else_=0))

    def bounces(classification: str) -> Any:
        return counted(and_(is_bounce, DOMAINS.c.classification == classification))

    total = func.sum(DOMAINS.c.count).label("total")
    query = (
        select(
            DOMAINS.c.domain,
            bounces("hard"),
            bounces("soft"),
            bounces("undetermined"),
            counted(DOMAINS.c.kind == "complaint"),
            total,
        )
        .where(DOMAINS.c.day >= start, DOMAINS.c.day <= end)
        .group_by(DOMAINS.c.domain)
        .order_by(total.desc(), DOMAINS.c.domain)
        .limit(limit)
    )
    with translated_errors(), engine.connect() as connection:
        return [
            DomainCount(row[0], *(int(v or 0) for v in row[1:]))
            for row in connection.execute(query)
        ]


def _as_date(value: date | str) -> date:
    # Aggregates over a Date column come back as text on SQLite.
    return date.fromisoformat(value) if isinstance(value, str) else value
