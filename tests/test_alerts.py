"""Alerts: per-stream rates, each rule on seeded data, the lifecycle, and the audit trail."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, insert, select

from core.alerts.lifecycle import (
    AlertFilter,
    acknowledge,
    alert_events,
    export_alerts_csv,
    list_alerts,
    parse_duration,
    snooze,
)
from core.alerts.rules import JobHealth
from core.audit import AuditFilter, list_audit
from core.clock import utcnow
from core.errors import InvalidInput, PermissionDenied
from core.reports.overview import account_health, rate_trend
from core.store.tables import DEAD_LETTERS, MIRROR, POINTS, SET_DAILY, SNAPSHOTS
from tests.alerts_kit import NOON, TODAY, checker, send
from tests.factories import OPS, VIEWER


def _open(engine: Engine) -> dict[tuple[str, str], int]:
    return {(a.rule, a.scope): a.id for a in list_alerts(engine, AlertFilter())}


# --- Per-stream rates ----------------------------------------------------------------------


def test_per_configuration_set_rates_match_a_hand_computation_on_two_streams(
    engine: Engine,
) -> None:
    # bulk: 400 sends over two days, 12 counting bounces and 1 complaint;
    # transactional: 300 sends, 2 bounces. A bounce on our suppression list never counts.
    send(engine, 200, 5, stream="bulk", day=TODAY - timedelta(days=1))
    send(engine, 200, 7, stream="bulk", complaints=1, start=1000)
    send(engine, 300, 2, stream="transactional")
    bulk = account_health(engine, today=TODAY, configuration_set="bulk")
    transactional = account_health(engine, today=TODAY, configuration_set="transactional")
    account = account_health(engine, today=TODAY)
    assert (bulk.sends_7d, bulk.counting_bounces_7d, bulk.complaints_7d) == (400, 12, 1)
    assert bulk.own_bounce_rate_7d == pytest.approx(12 / 400)
    assert bulk.own_complaint_rate_7d == pytest.approx(1 / 400)
    assert transactional.own_bounce_rate_7d == pytest.approx(2 / 300)
    assert account.own_bounce_rate_7d == pytest.approx(14 / 700)
    trend = rate_trend(engine, TODAY - timedelta(days=1), TODAY, configuration_set="bulk")
    assert [p.daily_rate for p in trend] == [pytest.approx(5 / 200), pytest.approx(7 / 200)]


def test_the_stream_counts_are_kept_only_for_new_facts(engine: Engine) -> None:
    send(engine, 10, 2, stream="bulk")
    with engine.connect() as connection:
        before = sorted(connection.execute(select(SET_DAILY)).all())
    send(engine, 10, 2, stream="bulk")  # the same payload ids differ: new facts
    with engine.connect() as connection:
        after = sorted(connection.execute(select(SET_DAILY)).all())
    assert {(r.kind, r.count) for r in before} == {("send", 10), ("bounce", 2)}
    assert {(r.kind, r.count) for r in after} == {("send", 20), ("bounce", 4)}


# --- Rates: opening, once, re-notify, resolve -----------------------------------------------


def test_a_rate_alert_opens_at_the_crossing_and_not_before(engine: Engine) -> None:
    send(engine, 100, 1, stream="bulk")
    send(engine, 100, 0, stream="transactional")
    check = checker(engine)
    assert check.check(NOON).opened == []
    send(engine, 0, 0)
    send(engine, 1, 1, stream="bulk", start=500)  # bulk 2/101 < 2 %: still not
    assert check.check(NOON).opened == []
    send(engine, 1, 1, stream="bulk", start=600)  # bulk 3/102 > 2 %
    summary = check.check(NOON)
    assert set(_open(engine)) == {("bounce_rate_warning", "configuration_set:bulk")}
    assert len(summary.opened) == 1


def test_an_open_alert_is_not_opened_again_on_the_next_check(engine: Engine) -> None:
    send(engine, 100, 3, stream="bulk")
    check = checker(engine)
    first = check.check(NOON)
    second = check.check(NOON + timedelta(minutes=5))
    assert len(first.opened) == 2  # the account and the bulk stream
    assert second.opened == [] and second.renotified == []
    assert len(list_alerts(engine, AlertFilter(status=None))) == 2


def test_an_alert_resolves_by_itself_when_the_rate_clears_and_says_so(engine: Engine) -> None:
    send(engine, 100, 3, stream="bulk")
    check = checker(engine)
    check.check(NOON)
    send(engine, 400, 0, stream="bulk", start=1000)  # 3 / 500 = 0.6 %
    summary = check.check(NOON + timedelta(hours=1))
    assert len(summary.resolved) == 2
    assert list_alerts(engine, AlertFilter()) == []
    [resolved, *_] = list_alerts(engine, AlertFilter(status="resolved"))
    assert [e.kind for e in alert_events(engine, resolved.id)] == ["opened", "resolved"]
    assert alert_events(engine, resolved.id)[-1].detail == "the condition cleared"


def test_levels_can_be_turned_off(engine: Engine) -> None:
    send(engine, 100, 6)
    summary = checker(engine, alert_bounce_warning=0, alert_bounce_review=0).check(NOON)
    assert summary.opened == []


def test_the_official_figure_wins_over_our_own(engine: Engine) -> None:
    send(engine, 100, 0)
    with engine.begin() as connection:
        connection.execute(
            insert(POINTS),
            [{"source": "cloudwatch", "metric": "Reputation.BounceRate", "period_seconds": 3600,
              "at": NOON - timedelta(hours=1), "value": 0.051, "pulled_at": NOON}],
        )  # fmt: skip
    checker(engine).check(NOON)
    assert ("bounce_rate_review", "account") in _open(engine)


def test_a_complaint_rate_alert_uses_the_complaint_levels(engine: Engine) -> None:
    send(engine, 1000, 0, complaints=1)  # 0.1 %: review
    checker(engine).check(NOON)
    opened = set(_open(engine))
    assert ("complaint_rate_warning", "account") in opened
    assert ("complaint_rate_review", "account") in opened
    assert ("complaint_rate_pause", "account") not in opened


# --- The other rules -------------------------------------------------------------------------


def test_the_projection_alerts_when_review_is_near_at_the_recent_pace(engine: Engine) -> None:
    for back, bounces in ((3, 0), (2, 2), (1, 3), (0, 4)):
        send(engine, 100, bounces, day=TODAY - timedelta(days=back), start=back * 1000)
    # rolling rate 0/100 three days ago, 9/400 today: +0.75 points a day, review in 3.7 days
    assert "bounce_rate_projection" not in {r for r, _ in _open(engine)}
    checker(engine, alert_bounce_warning=0, alert_projection_days=3).check(NOON)
    assert ("bounce_rate_projection", "account") not in _open(engine)
    checker(engine, alert_bounce_warning=0, alert_projection_days=4).check(NOON)
    assert ("bounce_rate_projection", "account") in _open(engine)


def test_a_spike_of_one_domain_opens_above_the_median_and_the_floor(engine: Engine) -> None:
    for back in range(1, 29):
        send(engine, 50, 2, day=TODAY - timedelta(days=back), domain="gmail.example", start=back)
    send(engine, 2000, 9, domain="gmail.example", start=5000)
    check = checker(engine, alert_bounce_warning=0, alert_spike_domain_floor=10,
                    alert_spike_floor=1000)  # fmt: skip
    check.check(NOON)
    assert ("bounce_spike", "domain:gmail.example") not in _open(engine)  # 9 < the floor
    send(engine, 0, 0)
    send(engine, 3, 3, domain="gmail.example", start=9000)  # 12 > 3 x 2 and >= 10
    check.check(NOON)
    assert ("bounce_spike", "domain:gmail.example") in _open(engine)


def test_ses_enforcement_and_sending_disabled_open_critical_alerts(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            insert(SNAPSHOTS),
            [{"taken_at": NOON - timedelta(minutes=1), "enforcement_status": "PROBATION",
              "sending_enabled": False, "raw": "{}"}],
        )  # fmt: skip
    checker(engine).check(NOON)
    alerts = {a.rule: a for a in list_alerts(engine, AlertFilter())}
    assert alerts["ses_enforcement"].severity == "critical"
    assert "PROBATION" in alerts["ses_enforcement"].title
    assert "ses_sending_disabled" in alerts


def test_open_dead_letters_and_a_silent_pipeline_open_alerts(engine: Engine) -> None:
    now = utcnow()
    with engine.begin() as connection:
        connection.execute(
            insert(DEAD_LETTERS),
            [{"received_at": now, "source": "t", "reason_code": "bad_json", "reason": "x",
              "raw": b"x", "status": "open", "attempts": 0}],
        )  # fmt: skip
        connection.execute(
            insert(POINTS),
            [{"source": "cloudwatch", "metric": "Send", "period_seconds": 3600,
              "at": now - timedelta(hours=2), "value": 500, "pulled_at": now}],
        )  # fmt: skip
    check = checker(engine, alert_dead_letters=1, alert_silence_hours=6)
    check.check(now)
    opened = set(_open(engine))
    assert ("dead_letters", "pipeline") in opened
    assert ("pipeline_silent", "pipeline") in opened
    send(engine, 5, 0)  # a notification arrives: the pipeline speaks again
    check.check(utcnow())
    assert ("pipeline_silent", "pipeline") not in _open(engine)


def test_a_failing_job_handed_in_opens_an_alert_and_resolves_when_healthy(engine: Engine) -> None:
    health = [JobHealth("metrics-pull", "failing: AccessDenied", NOON - timedelta(hours=1))]
    check = checker(engine)
    check.job_statuses = lambda: health
    check.check(NOON)
    assert ("job_unhealthy", "job:metrics-pull") in _open(engine)
    health = [JobHealth("metrics-pull", None, NOON)]
    check.check(NOON + timedelta(minutes=10))
    assert ("job_unhealthy", "job:metrics-pull") not in _open(engine)


def test_many_addresses_newly_suppressed_in_a_day_open_an_alert(engine: Engine) -> None:
    rows = [
        {"address": f"s{i}@example.com", "email_address": f"s{i}@example.com",
         "reason": "BOUNCE", "last_update_time": NOON - timedelta(hours=1),
         "first_seen_at": NOON, "last_seen_at": NOON, "suppressed": True}
        for i in range(6)
    ]  # fmt: skip
    with engine.begin() as connection:
        connection.execute(insert(MIRROR), rows)
    checker(engine, alert_suppressed_per_day=6).check(NOON)
    assert _open(engine) == {}
    checker(engine, alert_suppressed_per_day=5).check(NOON)
    assert ("suppressed_today", "account") in _open(engine)


# --- Operators: acknowledge and snooze ------------------------------------------------------


def test_acknowledging_and_snoozing_are_audited_and_need_an_operator(engine: Engine) -> None:
    send(engine, 100, 3)
    checker(engine).check(NOON)
    [alert] = list_alerts(engine, AlertFilter())
    with pytest.raises(PermissionDenied):
        acknowledge(engine, VIEWER, alert.id)
    snoozed = snooze(engine, OPS, alert.id, parse_duration("4h"))
    assert snoozed.snoozed_by == "ops" and snoozed.snoozed_until is not None
    acknowledged = acknowledge(engine, OPS, alert.id, "looking at the import")
    assert acknowledged.acknowledged_by == "ops"
    actions = [e.action for e in list_audit(engine, AuditFilter()).rows]
    assert actions == ["alerts.acknowledge", "alerts.snooze"]
    assert [e.kind for e in alert_events(engine, alert.id)] == ["opened", "snoozed", "acknowledged"]


def test_durations_read_like_4h_and_bad_ones_are_refused() -> None:
    assert parse_duration("4h") == timedelta(hours=4)
    assert parse_duration("1d12h") == timedelta(hours=36)
    for bad in ("", "4", "h", "4x", "-4h"):
        with pytest.raises(InvalidInput):
            parse_duration(bad)


def test_a_resolved_alert_cannot_be_acknowledged(engine: Engine) -> None:
    send(engine, 100, 3)
    check = checker(engine)
    check.check(NOON)
    send(engine, 1000, 0, start=5000)
    check.check(NOON)
    [alert] = list_alerts(engine, AlertFilter(status="resolved"))
    with pytest.raises(InvalidInput, match="already resolved"):
        acknowledge(engine, OPS, alert.id)


def test_the_csv_export_holds_every_filtered_alert_formula_safe(engine: Engine) -> None:
    send(engine, 100, 3, stream="=cmd")
    checker(engine).check(NOON)
    out = io.BytesIO()
    assert export_alerts_csv(engine, AlertFilter(scope="cmd"), out) == 1
    text = out.getvalue().decode()
    assert "configuration_set:=cmd" in text and ",=cmd" not in text
    assert text.splitlines()[0].startswith("id,rule,scope")


def test_history_filters_by_status_rule_and_day(engine: Engine) -> None:
    send(engine, 100, 3)
    checker(engine).check(NOON)
    assert len(list_alerts(engine, AlertFilter(status=None, rule="bounce_rate_warning"))) == 1
    assert list_alerts(engine, AlertFilter(status=None, rule="bounce_spike")) == []
    day = datetime(2026, 10, 21).date()
    assert list_alerts(engine, AlertFilter(status=None, start=day)) == []
    with pytest.raises(InvalidInput):
        list_alerts(engine, AlertFilter(status="closed"))


def test_a_stream_with_too_few_send_events_is_not_judged_on_its_own_figure(
    engine: Engine,
) -> None:
    # 50 Send events (a sample, say) and 10 bounces: 20 % means nothing at that volume.
    send(engine, 50, 10, stream="sampled")
    send(engine, 900, 0, stream="bulk")
    checker(engine, alert_min_sends=100).check(NOON)
    assert not [s for _, s in _open(engine) if s == "configuration_set:sampled"]
    checker(engine, alert_min_sends=50).check(NOON)
    assert ("bounce_rate_warning", "configuration_set:sampled") in _open(engine)
