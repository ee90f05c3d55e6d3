"""`python -m core audit list|export`: thin commands over core.audit."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest
from sqlalchemy import Engine

from core.audit import AuditFilter, list_audit
from core.cli.main import main
from core.recipients.confirmations import confirm_valid
from tests.factories import person


@pytest.fixture(autouse=True)
def clean_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("BOUNCEDESK_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("BOUNCEDESK_ACTOR", "auditor@qube.example")


def test_the_list_shows_the_newest_entries_matching_the_filters(
    sqlite_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    confirm_valid(sqlite_engine, ["a@example.com"], actor=person("alice"), note="phoned")
    confirm_valid(sqlite_engine, ["b@example.com"], actor=person("bob"), note="phoned")
    url = sqlite_engine.url.render_as_string(hide_password=False)
    assert main(["audit", "list", "--actor", "bob", "--database-url", url]) == 0
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert lines[0].endswith("bob  confirmation.confirm b@example.com: confirmed")
    assert '"note": "phoned"' in lines[1]
    assert out.err.strip() == "1 of 1 entries"


def test_the_export_writes_csv_and_is_itself_audited(sqlite_engine: Engine, tmp_path: Path) -> None:
    confirm_valid(sqlite_engine, ["a@example.com"], actor=person("alice"), note="phoned")
    url = sqlite_engine.url.render_as_string(hide_password=False)
    target = tmp_path / "audit.csv"
    assert main(["audit", "export", "-o", str(target), "--database-url", url]) == 0
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert [(r["actor"], r["action"]) for r in rows] == [("alice", "confirmation.confirm")]
    [export] = list_audit(sqlite_engine, AuditFilter(action="export.audit")).rows
    assert (export.actor, export.outcome) == ("auditor@qube.example", "1 rows")


def test_the_list_shows_hostile_actors_and_notes_as_escapes_not_terminal_controls(
    sqlite_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    actor = person("mallory\x1b[2J\u2066")
    confirm_valid(sqlite_engine, ["a@example.com"], actor=actor, note="ok\x9b31m\x7f")
    url = sqlite_engine.url.render_as_string(hide_password=False)
    assert main(["audit", "list", "--database-url", url]) == 0
    out = capsys.readouterr().out
    assert not any(c in out for c in "\x1b\u2066\x9b\x7f")
    assert "mallory\\x1b[2J\\u2066  confirmation.confirm a@example.com" in out
    assert "ok\\x9b31m\\x7f" in out
