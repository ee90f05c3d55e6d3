"""`bouncedesk alerts check | list | ack | snooze | resume`: thin commands over core.alerts."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from core.alerts.lifecycle import AlertFilter, list_alerts
from core.audit import AuditFilter, list_audit
from core.cli.main import main
from tests.alerts_kit import receiving, send


@pytest.fixture(autouse=True)
def clean_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("BOUNCEDESK_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("BOUNCEDESK_ACTOR", "oncall@qube.example")
    monkeypatch.setenv("BOUNCEDESK_ALERT_SILENCE_HOURS", "0")


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_check_opens_notifies_once_and_list_shows_it(
    sqlite_engine: Engine, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    send(sqlite_engine, 100, 3, day=date.today())
    with receiving() as receiver:
        monkeypatch.setenv("BOUNCEDESK_ALERT_CHANNELS", f'["{receiver.url}"]')
        assert main(["alerts", "check", "--no-ses", "--database-url", _url(sqlite_engine)]) == 0
        assert main(["alerts", "check", "--no-ses", "--database-url", _url(sqlite_engine)]) == 0
    out = capsys.readouterr().out
    assert "opened 1, re-notified 0, resolved 0" in out
    assert "opened 0, re-notified 0, resolved 0" in out
    assert len(receiver.bodies) == 1
    assert main(["alerts", "list", "--database-url", _url(sqlite_engine)]) == 0
    listing = capsys.readouterr().out
    assert "bounce_rate_warning [account]" in listing
    assert "Bounce rate 3.00% reached the warning level" in listing


def test_ack_and_snooze_act_as_the_cli_actor_and_are_audited(
    sqlite_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    send(sqlite_engine, 100, 3, day=date.today())
    assert main(["alerts", "check", "--no-ses", "--database-url", _url(sqlite_engine)]) == 0
    [alert] = list_alerts(sqlite_engine, AlertFilter())
    url = _url(sqlite_engine)
    assert main(["alerts", "snooze", str(alert.id), "--for", "4h", "--database-url", url]) == 0
    assert main(["alerts", "ack", str(alert.id), "--note", "on it", "--database-url", url]) == 0
    out = capsys.readouterr().out
    assert f"#{alert.id} acknowledged by oncall@qube.example" in out
    entries = list_audit(sqlite_engine, AuditFilter(actor="oncall")).rows
    assert [e.action for e in entries] == ["alerts.acknowledge", "alerts.snooze"]


def test_bad_input_gets_a_clear_error_and_changes_nothing(
    sqlite_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _url(sqlite_engine)
    assert main(["alerts", "ack", "99", "--database-url", url]) == 1
    assert "there is no alert 99" in capsys.readouterr().err
    assert main(["alerts", "snooze", "1", "--for", "soon", "--database-url", url]) == 1
    assert "not a duration" in capsys.readouterr().err


def test_resume_needs_the_admin_role(
    sqlite_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _url(sqlite_engine)
    code = main(["alerts", "resume", "bulk", "--reason", "clean", "--database-url", url])
    assert code == 1
    assert "admin" in capsys.readouterr().err
