"""The guard against the local SES emulator: it pauses only the protected configuration set,
a dry run changes nothing, resuming needs an admin and a reason, every step is audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from core.alerts.checker import AlertChecker
from core.alerts.guard import resume_sending
from core.alerts.lifecycle import AlertFilter, alert_events, list_alerts
from core.audit import AuditFilter, list_audit, parameters_of
from core.errors import InvalidInput, PermissionDenied, SesNotFound
from core.ses.gateway import SesGateway
from core.settings import load_settings
from core.store.db import make_engine
from emulator.launch import EmulatorHandle, running_emulator
from tests.alerts_kit import NOON, send
from tests.factories import ADMIN, OPS


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorHandle]:
    with running_emulator(seed="none", resource_name="bouncedesk-guard") as handle:
        yield handle


@pytest.fixture
def ses(emulator: EmulatorHandle) -> Iterator[SesGateway]:
    emulator.state.reset()
    for name in ("bulk", "transactional"):
        emulator.state.create_configuration_set(name)
    yield SesGateway(emulator.client("sesv2", retries=1), request_rate=1000)
    emulator.state.reset()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'guard.db'}")
    yield engine
    engine.dispose()


def _checker(db: Engine, ses: SesGateway, **settings: object) -> AlertChecker:
    values = {
        "guard_configuration_sets": ["bulk"],
        "guard_pause_at": 0.04,
        "alert_silence_hours": 0,
        "alert_dead_letters": 0,
        "alert_ses_status": False,
        **settings,
    }
    loaded = load_settings(database_url="sqlite://", **values)
    return AlertChecker.from_settings(loaded, db, ses, None)


def _both_bad(db: Engine) -> None:
    """bulk at 5 %, transactional at 6 %: only bulk is protected."""
    send(db, 100, 5, stream="bulk")
    send(db, 100, 6, stream="transactional")


def test_the_guard_pauses_only_the_protected_set(
    db: Engine, ses: SesGateway, emulator: EmulatorHandle
) -> None:
    _both_bad(db)
    summary = _checker(db, ses, guard_dry_run=False).check(NOON)
    assert [(s.configuration_set, s.outcome) for s in summary.guard] == [("bulk", "paused")]
    assert emulator.state.configuration_sets == {"bulk": False, "transactional": True}
    assert ses.get_configuration_set("bulk").sending_enabled is False
    assert ses.get_configuration_set("transactional").sending_enabled is True
    [paused] = list_alerts(db, AlertFilter(rule="guard_paused"))
    assert paused.scope == "configuration_set:bulk"
    [entry] = list_audit(db, AuditFilter(action="alerts.guard_pause")).rows
    assert (entry.actor, entry.outcome) == ("guard", "paused")
    assert parameters_of(entry)["configuration_set"] == "bulk"


def test_the_guard_pauses_once_and_its_alert_stays_until_a_resume(
    db: Engine, ses: SesGateway
) -> None:
    _both_bad(db)
    check = _checker(db, ses, guard_dry_run=False)
    check.check(NOON)
    send(db, 1000, 0, stream="bulk", start=5000)  # the rate clears: the pause stays
    again = check.check(NOON + timedelta(hours=1))
    assert [s.outcome for s in again.guard] == ["below"]
    assert len(list_alerts(db, AlertFilter(rule="guard_paused"))) == 1
    assert len(list_audit(db, AuditFilter(action="alerts.guard_pause")).rows) == 1
    assert ses.get_configuration_set("bulk").sending_enabled is False


def test_a_dry_run_changes_nothing_but_says_it_would_pause(
    db: Engine, ses: SesGateway, emulator: EmulatorHandle
) -> None:
    _both_bad(db)
    check = _checker(db, ses)  # guard_dry_run defaults to true
    first = check.check(NOON)
    check.check(NOON + timedelta(minutes=5))
    assert [s.outcome for s in first.guard] == ["would_pause"]
    assert emulator.state.configuration_sets == {"bulk": True, "transactional": True}
    [alert] = list_alerts(db, AlertFilter(rule="guard_would_pause"))
    assert "would pause configuration set bulk" in alert.title
    [entry] = list_audit(db, AuditFilter(action="alerts.guard_would_pause")).rows
    assert entry.actor == "guard"


def test_resuming_needs_an_admin_and_a_reason_and_is_audited(db: Engine, ses: SesGateway) -> None:
    _both_bad(db)
    _checker(db, ses, guard_dry_run=False).check(NOON)
    with pytest.raises(PermissionDenied):
        resume_sending(db, ses, OPS, "bulk", "list cleaned")
    with pytest.raises(InvalidInput, match="reason"):
        resume_sending(db, ses, ADMIN, "bulk", "  ")
    assert ses.get_configuration_set("bulk").sending_enabled is False
    resume_sending(db, ses, ADMIN, "bulk", "bad import removed")
    assert ses.get_configuration_set("bulk").sending_enabled is True
    [entry] = list_audit(db, AuditFilter(action="alerts.guard_resume")).rows
    assert entry.actor == "admin"
    assert parameters_of(entry)["reason"] == "bad import removed"
    [alert] = list_alerts(db, AlertFilter(status="resolved", rule="guard_paused"))
    assert [e.kind for e in alert_events(db, alert.id)] == ["opened", "resumed", "resolved"]


def test_after_a_resume_the_guard_waits_out_the_grace_period(db: Engine, ses: SesGateway) -> None:
    _both_bad(db)
    check = _checker(db, ses, guard_dry_run=False, guard_resume_grace_hours=24)
    check.check(NOON)
    resume_sending(db, ses, ADMIN, "bulk", "watching it")
    summary = check.check(NOON)
    assert [s.outcome for s in summary.guard] == ["resumed_recently"]
    assert ses.get_configuration_set("bulk").sending_enabled is True


def test_a_set_ses_does_not_know_is_refused_by_name(ses: SesGateway) -> None:
    with pytest.raises(SesNotFound):
        ses.set_configuration_set_sending("nosuchset", enabled=False)
    assert sorted(ses.list_configuration_sets()) == ["bulk", "transactional"]


def test_sending_disabled_for_a_set_opens_an_alert(
    db: Engine, ses: SesGateway, emulator: EmulatorHandle
) -> None:
    send(db, 10, 0, stream="transactional")
    emulator.state.set_configuration_set_sending("transactional", False)
    _checker(db, ses, alert_ses_status=True).check(NOON)
    scopes = {a.scope for a in list_alerts(db, AlertFilter(rule="ses_sending_disabled"))}
    assert scopes == {"configuration_set:transactional"}


def test_the_guard_never_pauses_on_a_handful_of_send_events(
    db: Engine, ses: SesGateway, emulator: EmulatorHandle
) -> None:
    send(db, 20, 5, stream="bulk")  # 25 %, but out of 20 sends
    summary = _checker(db, ses, guard_dry_run=False, alert_min_sends=100).check(NOON)
    assert [s.outcome for s in summary.guard] == ["too_few_sends"]
    assert emulator.state.configuration_sets["bulk"] is True
