"""The audit log page: newest first, filters, and a CSV export that is itself audited."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from typing import Any

from pagekit import ACTING, ACTOR, assert_clean, run_page, table_with
from sqlalchemy import Engine

from core.audit import AuditFilter, list_audit
from core.recipients.confirmations import confirm_valid, revoke_confirmation


def shown(at: Any) -> list[tuple[str, str, str]]:
    frame = table_with(at, "who")
    return list(zip(frame["who"], frame["action"], frame["address"], strict=True))


def test_the_log_lists_every_change_newest_first(db: Engine):
    confirm_valid(db, ["a@example.com", "b@example.com"], actor=ACTING, note="phoned")
    revoke_confirmation(db, ["a@example.com"], actor=replace(ACTING, name="lead"), note="wrong")
    at = run_page("audit_log")
    assert_clean(at)
    assert shown(at) == [
        ("lead", "confirmation.revoke", "a@example.com"),
        (ACTOR, "confirmation.confirm", "b@example.com"),
        (ACTOR, "confirmation.confirm", "a@example.com"),
    ]
    assert '"note": "phoned"' in table_with(at, "who")["parameters"][2]


def test_the_log_filters_by_who_action_and_address(db: Engine):
    confirm_valid(db, ["a@example.com", "b@example.com"], actor=ACTING, note="phoned")
    revoke_confirmation(db, ["a@example.com"], actor=replace(ACTING, name="lead"), note="wrong")
    at = run_page("audit_log")
    at.selectbox(key="al_actor").select("lead").run()
    assert shown(at) == [("lead", "confirmation.revoke", "a@example.com")]
    at.selectbox(key="al_actor").select("").run()
    at.selectbox(key="al_action").select("confirmation.confirm").run()
    at.text_input(key="al_address").input("b@").run()
    assert shown(at) == [(ACTOR, "confirmation.confirm", "b@example.com")]
    at.text_input(key="al_address").input("nobody").run()
    assert any("No audit entries match" in i.value for i in at.info)


def test_the_export_writes_the_filtered_entries_and_is_itself_audited(
    db: Engine, downloads: dict[str, Any]
):
    confirm_valid(db, ["a@example.com", "b@example.com"], actor=ACTING, note="phoned")
    at = run_page("audit_log")
    at.text_input(key="al_address").input("a@").run()
    assert at.download_button(key="al_download").label == "Download all 1 matching entries (CSV)"
    name = max(n for n in downloads if n.startswith("audit-log_"))
    rows = list(csv.DictReader(io.StringIO(downloads[name]().decode("utf-8"))))
    assert [(r["action"], r["address"]) for r in rows] == [
        ("confirmation.confirm", "a@example.com")
    ]
    [export] = list_audit(db, AuditFilter(action="export.audit")).rows
    assert (export.actor, export.outcome) == (ACTOR, "1 rows")
