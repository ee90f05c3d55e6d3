"""An alert's life: opened once per rule and scope, re-notified while open, resolved when
its condition clears, acknowledged or snoozed by an operator (audited). Every step leaves
an `alert_events` row, so the history is complete.

The unique `open_key` (``rule|scope`` while open, NULL after) makes "one open alert per rule
and scope" a database fact: two checks at once cannot open it twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any, BinaryIO

from sqlalchemy import Connection, Engine, Select, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from core.access import Action, Actor, require
from core.alerts.rules import Finding
from core.audit import record_audit
from core.chunks import EXPORT_BATCH
from core.clock import utcnow
from core.csv_safety import write_csv
from core.errors import InvalidInput
from core.store.db import translated_errors
from core.store.tables import ALERT_EVENTS, ALERTS

OPEN, RESOLVED = "open", "resolved"
MAX_SNOOZE = timedelta(days=30)
# Rules whose alerts only an admin's act closes (the guard's pause), never a check.
MANUAL_RULES = frozenset({"guard_paused"})


def open_key(rule: str, scope: str) -> str:
    return f"{rule}|{scope}"


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """One alert as stored."""

    id: int
    rule: str
    scope: str
    severity: str
    status: str
    title: str
    message: str
    value: float | None
    threshold: float | None
    opened_at: datetime
    last_seen_at: datetime
    last_notified_at: datetime | None
    notifications: int
    resolved_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    snoozed_until: datetime | None
    snoozed_by: str | None

    def quiet(self, now: datetime) -> bool:
        """Acknowledged, or snoozed until later than `now`: no notifications."""
        return self.acknowledged_at is not None or (
            self.snoozed_until is not None and self.snoozed_until > now
        )


ALERT_HEADER = [f.name for f in fields(AlertRecord)]


@dataclass(frozen=True, slots=True)
class AlertEventRecord:
    id: int
    alert_id: int
    at: datetime
    kind: str
    actor: str | None
    detail: str | None


@dataclass(frozen=True, slots=True)
class Transition:
    """What a check did to one alert and whether the channels should hear of it."""

    alert: AlertRecord
    change: str  # opened | renotify | resolved | unchanged
    notify: bool


@dataclass(frozen=True, slots=True)
class AlertFilter:
    """What the Alerts page and `alerts list` show: status (open | resolved | None for
    both), a rule, a scope substring, and UTC days (inclusive) of opening."""

    status: str | None = OPEN
    rule: str | None = None
    scope: str | None = None
    start: date | None = None
    end: date | None = None


# --- Applying a check ----------------------------------------------------------------------


def apply_findings(
    engine: Engine,
    findings: Sequence[Finding],
    evaluated: Iterable[str],
    now: datetime,
    renotify_after: timedelta,
) -> list[Transition]:
    """Open what is new, refresh what is still open, resolve the open alerts of the
    `evaluated` rules whose condition no longer holds. A rule that could not be evaluated
    (SES unreachable, say) resolves nothing."""
    evaluated = set(evaluated)
    seen = {open_key(f.rule, f.scope): f for f in findings}
    transitions = []
    with translated_errors(), engine.begin() as connection:
        current = {
            row.open_key: alert_record(row)
            for row in connection.execute(select(ALERTS).where(ALERTS.c.status == OPEN))
        }
        for key, finding in seen.items():
            alert = current.get(key)
            if alert is None:
                transitions.append(_open(connection, finding, now))
            else:
                transitions.append(_refresh(connection, alert, finding, now, renotify_after))
        for key, alert in current.items():
            if key not in seen and alert.rule in evaluated and alert.rule not in MANUAL_RULES:
                transitions.append(resolve(connection, alert, now, "the condition cleared"))
    return transitions


def _open(connection: Connection, finding: Finding, now: datetime) -> Transition:
    values = {
        "rule": finding.rule,
        "scope": finding.scope,
        "open_key": open_key(finding.rule, finding.scope),
        "severity": finding.severity,
        "status": OPEN,
        "title": finding.title[:2000],
        "message": finding.detail,
        "value": finding.value,
        "threshold": finding.threshold,
        "opened_at": now,
        "last_seen_at": now,
        "notifications": 0,
    }
    try:
        with connection.begin_nested():
            inserted = connection.execute(insert(ALERTS).values(**values))
            key = inserted.inserted_primary_key
            assert key is not None  # an INSERT of one row always has its key
            alert_id = int(key[0])
    except IntegrityError:
        # Another check opened it a moment ago: this one sees it as open.
        row = connection.execute(select(ALERTS).where(ALERTS.c.open_key == values["open_key"]))
        return Transition(alert_record(row.one()), "unchanged", False)
    add_event(connection, int(alert_id), now, "opened", None, finding.detail)
    alert = alert_record(connection.execute(select(ALERTS).where(ALERTS.c.id == alert_id)).one())
    return Transition(alert, "opened", True)


def _refresh(
    connection: Connection,
    alert: AlertRecord,
    finding: Finding,
    now: datetime,
    renotify_after: timedelta,
) -> Transition:
    changes = {
        "last_seen_at": now,
        "value": finding.value,
        "threshold": finding.threshold,
        "title": finding.title[:2000],
        "message": finding.detail,
    }
    connection.execute(update(ALERTS).where(ALERTS.c.id == alert.id).values(**changes))
    # Never notified (no channel was configured then): nothing to repeat.
    due = alert.last_notified_at is not None and now - alert.last_notified_at >= renotify_after
    fresh = alert_record(connection.execute(select(ALERTS).where(ALERTS.c.id == alert.id)).one())
    if due and not alert.quiet(now):
        return Transition(fresh, "renotify", True)
    return Transition(fresh, "unchanged", False)


def resolve(connection: Connection, alert: AlertRecord, now: datetime, why: str) -> Transition:
    """Close an open alert (its open_key freed) and say why."""
    connection.execute(
        update(ALERTS)
        .where(ALERTS.c.id == alert.id)
        .values(status=RESOLVED, open_key=None, resolved_at=now)
    )
    add_event(connection, alert.id, now, "resolved", None, why)
    fresh = alert_record(connection.execute(select(ALERTS).where(ALERTS.c.id == alert.id)).one())
    # Tell the channels only about alerts they were told of and nobody silenced.
    return Transition(fresh, "resolved", alert.notifications > 0 and not alert.quiet(now))


def add_event(
    connection: Connection,
    alert_id: int,
    at: datetime,
    kind: str,
    actor: str | None,
    detail: str | None,
) -> None:
    connection.execute(
        insert(ALERT_EVENTS).values(alert_id=alert_id, at=at, kind=kind, actor=actor, detail=detail)
    )


def record_delivery(
    engine: Engine, alert_id: int, now: datetime, delivered: bool, detail: str
) -> None:
    """One channel's outcome for one message: "notified" or "delivery_failed"."""
    with translated_errors(), engine.begin() as connection:
        add_event(connection, alert_id, now, "notified" if delivered else "delivery_failed",
                  None, detail)  # fmt: skip


def mark_notified(engine: Engine, alert_id: int, now: datetime) -> None:
    """The alert was sent (to at least one channel, or tried on all): the re-notify clock
    starts again from `now`."""
    with translated_errors(), engine.begin() as connection:
        connection.execute(
            update(ALERTS)
            .where(ALERTS.c.id == alert_id)
            .values(last_notified_at=now, notifications=ALERTS.c.notifications + 1)
        )


# --- Operator acts -------------------------------------------------------------------------


def acknowledge(engine: Engine, actor: Actor, alert_id: int, note: str = "") -> AlertRecord:
    """An operator has seen it: no more notifications until it resolves (audited)."""
    require(actor, Action.ACKNOWLEDGE_ALERTS)
    now = utcnow()
    with translated_errors(), engine.begin() as connection:
        alert = _open_alert(connection, alert_id)
        connection.execute(
            update(ALERTS)
            .where(ALERTS.c.id == alert_id)
            .values(acknowledged_at=now, acknowledged_by=actor.name)
        )
        add_event(connection, alert_id, now, "acknowledged", actor.name, note.strip() or None)
        record_audit(
            connection, actor, "alerts.acknowledge", None, "acknowledged",
            {"alert_id": alert_id, "rule": alert.rule, "scope": alert.scope, "note": note},
        )  # fmt: skip
        return alert_record(connection.execute(select(ALERTS).where(ALERTS.c.id == alert_id)).one())


def snooze(engine: Engine, actor: Actor, alert_id: int, duration: timedelta) -> AlertRecord:
    """No notifications for `duration` (at most 30 days); it still shows as open (audited)."""
    require(actor, Action.ACKNOWLEDGE_ALERTS)
    if not timedelta(0) < duration <= MAX_SNOOZE:
        raise InvalidInput("a snooze lasts more than 0 and at most 30 days")
    now = utcnow()
    until = now + duration
    with translated_errors(), engine.begin() as connection:
        alert = _open_alert(connection, alert_id)
        connection.execute(
            update(ALERTS)
            .where(ALERTS.c.id == alert_id)
            .values(snoozed_until=until, snoozed_by=actor.name)
        )
        add_event(
            connection, alert_id, now, "snoozed", actor.name, f"until {until:%Y-%m-%d %H:%M} UTC"
        )
        record_audit(
            connection, actor, "alerts.snooze", None, "snoozed",
            {"alert_id": alert_id, "rule": alert.rule, "scope": alert.scope,
             "until": until.isoformat(timespec="seconds")},
        )  # fmt: skip
        return alert_record(connection.execute(select(ALERTS).where(ALERTS.c.id == alert_id)).one())


def _open_alert(connection: Connection, alert_id: int) -> AlertRecord:
    row = connection.execute(select(ALERTS).where(ALERTS.c.id == alert_id)).first()
    if row is None:
        raise InvalidInput(f"there is no alert {alert_id}")
    alert = alert_record(row)
    if alert.status != OPEN:
        raise InvalidInput(f"alert {alert_id} is already resolved")
    return alert


def parse_duration(text: str) -> timedelta:
    """``4h``, ``30m``, ``2d`` (or a combination such as ``1d12h``) as a timedelta."""
    units = {"d": 86400, "h": 3600, "m": 60}
    total, number = 0, ""
    for char in text.strip().lower():
        if char.isdigit():
            number += char
        elif char in units and number:
            total += int(number) * units[char]
            number = ""
        else:
            raise InvalidInput(f"{text!r} is not a duration like 4h, 30m or 2d")
    if number or total == 0:
        raise InvalidInput(f"{text!r} is not a duration like 4h, 30m or 2d")
    return timedelta(seconds=total)


# --- Reading -------------------------------------------------------------------------------


def _query(flt: AlertFilter) -> Select[Any]:
    query = select(*(ALERTS.c[name] for name in ALERT_HEADER))
    if flt.status:
        if flt.status not in (OPEN, RESOLVED):
            raise InvalidInput("status is open, resolved or empty (both)")
        query = query.where(ALERTS.c.status == flt.status)
    if flt.rule:
        query = query.where(ALERTS.c.rule == flt.rule)
    if flt.scope and flt.scope.strip():
        query = query.where(ALERTS.c.scope.contains(flt.scope.strip(), autoescape=True))
    if flt.start is not None:
        query = query.where(ALERTS.c.opened_at >= datetime.combine(flt.start, datetime.min.time()))
    if flt.end is not None:
        end = datetime.combine(flt.end + timedelta(days=1), datetime.min.time())
        query = query.where(ALERTS.c.opened_at < end)
    return query.order_by(ALERTS.c.opened_at.desc(), ALERTS.c.id.desc())


def list_alerts(engine: Engine, flt: AlertFilter, *, limit: int = 500) -> list[AlertRecord]:
    """Alerts matching `flt`, newest first."""
    with translated_errors(), engine.connect() as connection:
        return [AlertRecord(*row) for row in connection.execute(_query(flt).limit(limit))]


def open_alert_count(engine: Engine) -> int:
    """How many alerts are open (the banner)."""
    with translated_errors(), engine.connect() as connection:
        query = select(func.count()).select_from(ALERTS).where(ALERTS.c.status == OPEN)
        return int(connection.scalar(query) or 0)


def alert_events(engine: Engine, alert_id: int) -> list[AlertEventRecord]:
    """One alert's history, oldest first."""
    query = (
        select(ALERT_EVENTS)
        .where(ALERT_EVENTS.c.alert_id == alert_id)
        .order_by(ALERT_EVENTS.c.at, ALERT_EVENTS.c.id)
    )
    with translated_errors(), engine.connect() as connection:
        return [AlertEventRecord(*row) for row in connection.execute(query)]


def rules_seen(engine: Engine) -> list[str]:
    query = select(ALERTS.c.rule).group_by(ALERTS.c.rule).order_by(ALERTS.c.rule)
    with translated_errors(), engine.connect() as connection:
        return list(connection.scalars(query))


def _stream(engine: Engine, flt: AlertFilter) -> Iterator[tuple[Any, ...]]:
    with translated_errors(), engine.connect() as connection:
        result = connection.execution_options(yield_per=EXPORT_BATCH).execute(_query(flt))
        yield from (tuple(row) for row in result)


def export_alerts_csv(engine: Engine, flt: AlertFilter, out: BinaryIO, *, bom: bool = False) -> int:
    """Every matching alert as CSV through the formula-safe writer; returns rows written.
    Alerts hold no personal data, so the export is not an audited act."""
    return write_csv(_stream(engine, flt), ALERT_HEADER, out, bom)


def alert_record(row: Any) -> AlertRecord:
    mapping = row._mapping
    return AlertRecord(*(mapping[name] for name in ALERT_HEADER))
