"""Suppression list: sync from SES, the mirror's filters, candidates, removal, bulk paths."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from factories import ingest, make_bounce
from pagekit import ACTING, ACTOR, assert_clean, run_page, table_with
from sqlalchemy import Engine, select

from core.audit import AuditFilter, list_audit
from core.recipients.confirmations import confirm_valid
from core.ses.gateway import SesGateway
from core.settings import load_settings
from core.store.models import AuditEntry, RemovalRun
from core.suppression.mirror import last_sync, sync_suppression_list

NOTE = "checked with the customer's IT department"


def on_ses_list(emulator: Any) -> set[str]:
    return {entry.email_address for entry in emulator.state.all_suppressed()}


def sync(db: Engine) -> None:
    sync_suppression_list(db, SesGateway.from_settings(load_settings()), actor=ACTING, rate=100)


@pytest.fixture
def listed(aws: Any, db: Engine) -> Any:
    """Three addresses SES lists (two bounces, one complaint), each of which bounced with us."""
    week_ago = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=7)
    for address, reason in (
        ("a@example.com", "BOUNCE"),
        ("b@example.com", "BOUNCE"),
        ("c@example.com", "COMPLAINT"),
    ):
        aws.state.put_suppressed(address, reason, last_update=week_ago)
        ingest(db, make_bounce([address], at=week_ago - timedelta(hours=1)))
    return aws


def test_a_mirror_never_synced_says_so(db: Engine):
    at = run_page("suppression_list")
    assert_clean(at)
    assert "The mirror has never been synced with SES." in [m.value for m in at.markdown]
    assert any("No candidates" in i.value for i in at.info)


def test_sync_now_fills_the_mirror_from_ses(listed: Any, db: Engine):
    at = run_page("suppression_list")
    at.button(key="sl_sync").click().run()
    assert_clean(at)
    assert any(s.value.startswith("Synced: 3 addresses listed") for s in at.success)
    assert sorted(at.dataframe(key="sl_table").value["address"]) == [
        "a@example.com",
        "b@example.com",
        "c@example.com",
    ]
    assert last_sync(db).status == "completed"  # type: ignore[union-attr]


def test_the_mirror_filters_by_reason_and_address(listed: Any, db: Engine):
    sync(db)
    at = run_page("suppression_list")
    at.multiselect(key="sl_reasons").select("COMPLAINT").run()
    assert list(at.dataframe(key="sl_table").value["address"]) == ["c@example.com"]
    at.multiselect(key="sl_reasons").unselect("COMPLAINT").run()
    at.text_input(key="sl_text").input("b@").run()
    assert list(at.dataframe(key="sl_table").value["address"]) == ["b@example.com"]


def test_candidates_are_suppressed_addresses_confirmed_valid_and_one_click_removes_them(
    listed: Any, db: Engine
):
    sync(db)
    confirm_valid(db, ["a@example.com"], actor=ACTING, note=NOTE)
    at = run_page("suppression_list")
    candidates = table_with(at, "confirmed_by")
    assert list(candidates["address"]) == ["a@example.com"]
    assert list(candidates["note"]) == [NOTE]
    at.button(key="sl_remove_candidates").click().run()
    at.button(key="sl_removal_confirm").click().run()
    assert_clean(at)
    assert on_ses_list(listed) == {"b@example.com", "c@example.com"}
    assert "1 removed" in [s.value for s in at.success]
    assert any("No candidates" in i.value for i in at.info), "the candidate left the list"


def test_the_console_csv_lists_what_an_operator_may_remove_one_per_line(
    listed: Any, db: Engine, downloads: dict[str, Any]
):
    sync(db)
    confirm_valid(db, ["a@example.com", "b@example.com", "c@example.com"], actor=ACTING, note=NOTE)
    at = run_page("suppression_list")
    (name,) = [n for n in downloads if n.startswith("ses-bulk-delete_")]
    assert downloads[name]() == b"a@example.com\nb@example.com\n"
    assert any("1 candidates need an admin" in w.value for w in at.warning)
    assert "c@example.com" in [t.value for t in at.text], "the complaint, left out"
    [export] = list_audit(db, AuditFilter(action="export.console_csv")).rows
    assert (export.actor, export.outcome) == (ACTOR, "2 addresses")


def test_an_operator_cannot_include_unconfirmed_mirror_rows(listed: Any, db: Engine):
    sync(db)
    at = run_page("suppression_list")
    at.session_state["sl_table"] = {"selection": {"rows": [0], "columns": []}}
    at.run()
    at.button(key="sl_remove_selected").click().run()
    assert not [c for c in at.checkbox if c.key == "sl_removal_include_flagged"]
    assert at.button(key="sl_removal_confirm").disabled
    assert len(on_ses_list(listed)) == 3


def test_an_admin_removes_unconfirmed_mirror_rows_only_when_included_with_a_reason(
    listed: Any, db: Engine, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("BOUNCEDESK_LOCAL_ROLE", "admin")
    sync(db)
    at = run_page("suppression_list")
    addresses = list(at.dataframe(key="sl_table").value["address"])
    at.session_state["sl_table"] = {"selection": {"rows": [0], "columns": []}}
    at.run()
    at.button(key="sl_remove_selected").click().run()
    assert at.button(key="sl_removal_confirm").disabled, "left out until included"
    at.checkbox(key="sl_removal_include_flagged").check().run()
    assert at.button(key="sl_removal_confirm").disabled, "a written reason is required"
    at.text_input(key="sl_removal_admin_reason").input("mailbox recreated, ticket 88").run()
    at.button(key="sl_removal_confirm").click().run()
    assert_clean(at)
    assert on_ses_list(listed) == set(addresses) - {addresses[0]}
    with db.connect() as connection:
        reason = connection.scalar(select(RemovalRun.reason))
        (parameters,) = connection.scalars(
            select(AuditEntry.parameters).where(
                AuditEntry.action == "suppression.removal_requested"
            )
        )
    assert reason == "mailbox recreated, ticket 88"
    assert json.loads(parameters)["admin_override"] == {addresses[0]: ["unconfirmed"]}


def test_a_selection_over_the_limit_goes_through_an_import_job_after_typing_its_size(
    listed: Any, db: Engine, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("BOUNCEDESK_MAX_REMOVALS_PER_CLICK", "1")
    bucket = f"imports-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("BOUNCEDESK_SUPPRESSION_IMPORT_BUCKET", bucket)
    listed.client("s3").create_bucket(Bucket=bucket)
    sync(db)
    confirm_valid(db, ["a@example.com", "b@example.com"], actor=ACTING, note=NOTE)
    at = run_page("suppression_list")
    at.button(key="sl_remove_candidates").click().run()
    assert any("import job" in i.value for i in at.info)
    assert at.button(key="sl_removal_confirm").disabled, "not before the count is typed"
    at.text_input(key="sl_removal_count").input("3").run()
    assert at.button(key="sl_removal_confirm").disabled, "the wrong count"
    at.text_input(key="sl_removal_count").input("2").run()
    at.button(key="sl_removal_confirm").click().run()
    assert_clean(at)
    assert "2 submitted" in [s.value for s in [*at.success, *at.warning]]
    for _ in range(50):
        at.button(key="sl_removal_poll").click().run()
        if not [b for b in at.button if b.key == "sl_removal_poll"]:
            break
    assert "2 removed" in [s.value for s in at.success]
    assert on_ses_list(listed) == {"c@example.com"}


def test_ses_not_configured_is_explained_when_syncing(db: Engine):
    at = run_page("suppression_list")
    at.button(key="sl_sync").click().run()
    assert not at.exception
    (error,) = at.error
    assert "Bounce Desk is not connected to AWS" in error.value
