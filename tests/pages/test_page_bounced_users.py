"""Bounced users: server-side filters, paging, confirm / revoke, removal, detail, export."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from factories import ingest, make_bounce, make_complaint
from pagekit import ACTING, ACTOR, assert_clean, run_page, table_with
from sqlalchemy import Engine, select

from core.recipients.confirmations import confirm_valid, confirmation_history
from core.ses.gateway import SesGateway
from core.settings import load_settings
from core.store.models import AuditEntry, RemovalRun
from core.suppression.mirror import sync_suppression_list

NOTE = "user confirmed by phone, ticket 4711"
PLAN_COLUMNS = ["address", "verdict", "why"]


def recently(days: float = 1) -> datetime:
    return datetime.now(UTC).replace(tzinfo=None) - timedelta(days=days)


def select_rows(*rows: int) -> dict[str, Any]:
    return {"bu_table": {"selection": {"rows": list(rows), "columns": []}}}


def shown(at: Any) -> list[str]:
    return list(at.dataframe(key="bu_table").value["address"])


@pytest.fixture
def mixed(db: Engine) -> Engine:
    """Two hard bounces (one a day older), a soft bounce and a complaint."""
    ingest(
        db,
        make_bounce(["hard.new@example.com"], at=recently(1)),
        make_bounce(["hard.old@example.com"], at=recently(3)),
        make_bounce(
            ["soft@example.net"], bounce_type="Transient", subtype="MailboxFull", at=recently(2)
        ),
        make_complaint(["angry@example.org"], at=recently(4)),
    )
    return db


def test_the_list_shows_every_bounced_address_newest_first(mixed: Engine):
    at = run_page("bounced_users")
    assert_clean(at)
    assert shown(at) == [
        "hard.new@example.com",
        "soft@example.net",
        "hard.old@example.com",
        "angry@example.org",
    ]


def test_filters_run_in_the_database(mixed: Engine):
    at = run_page("bounced_users")
    at.multiselect(key="bu_kinds").select("soft").run()
    assert shown(at) == ["soft@example.net"]
    at.multiselect(key="bu_kinds").unselect("soft").select("hard").run()
    at.text_input(key="bu_text").input("old").run()
    assert shown(at) == ["hard.old@example.com"]
    at.text_input(key="bu_text").input("").run()
    at.text_input(key="bu_domain").input("example.net").run()
    assert any("No bounced addresses match" in i.value for i in at.info), "hard and .net"


def test_an_empty_result_says_so(mixed: Engine):
    at = run_page("bounced_users")
    at.text_input(key="bu_text").input("nobody-like-this").run()
    assert any("No bounced addresses match" in i.value for i in at.info)


def test_pages_split_a_long_list(db: Engine):
    ingest(
        db,
        *(make_bounce([f"user{i:02d}@example.com"], at=recently(1 + i / 100)) for i in range(30)),
    )
    at = run_page("bounced_users")
    at.selectbox(key="bu_page_size").select(25).run()
    assert len(shown(at)) == 25
    assert at.button(key="bu_previous").disabled
    at.button(key="bu_next").click().run()
    assert shown(at) == [f"user{i:02d}@example.com" for i in range(25, 30)]
    assert any(c.value.startswith("Page 2 of 2.") for c in at.caption)
    assert at.button(key="bu_next").disabled
    at.button(key="bu_previous").click().run()
    assert shown(at) == [f"user{i:02d}@example.com" for i in range(25)]
    assert any(c.value.startswith("Page 1 of 2.") for c in at.caption)


def test_marking_confirmed_valid_stores_the_note_and_who_did_it(mixed: Engine):
    at = run_page("bounced_users", **select_rows(0, 2))
    at.text_input(key="bu_confirm_note").input(NOTE)
    at.button(key="bu_confirm").click().run()
    assert_clean(at)
    assert "2 confirmed valid." in [s.value for s in at.success]
    for address in ("hard.new@example.com", "hard.old@example.com"):
        (entry,) = confirmation_history(mixed, address)
        assert (entry.note, entry.actor, entry.current) == (NOTE, ACTOR, True)
    assert confirmation_history(mixed, "soft@example.net") == []
    assert list(at.dataframe(key="bu_table").value["confirmed valid"]) == [True, False, True, False]


def test_confirming_without_a_note_is_refused(mixed: Engine):
    at = run_page("bounced_users", **select_rows(0))
    at.button(key="bu_confirm").click().run()
    assert any("A note is required" in w.value for w in at.warning)
    assert confirmation_history(mixed, "hard.new@example.com") == []


def test_revoking_ends_the_confirmation_and_records_why(mixed: Engine):
    confirm_valid(
        mixed, ["hard.new@example.com"], actor=replace(ACTING, name="someone else"), note=NOTE
    )
    at = run_page("bounced_users", **select_rows(0))
    at.text_input(key="bu_revoke_note").input("user says the mailbox was closed")
    at.button(key="bu_revoke").click().run()
    assert "1 revoked." in [s.value for s in at.success]
    (entry,) = confirmation_history(mixed, "hard.new@example.com")
    assert (entry.revoked_by, entry.revoke_note, entry.current) == (
        ACTOR,
        "user says the mailbox was closed",
        False,
    )


def test_action_buttons_are_disabled_until_rows_are_selected(mixed: Engine):
    at = run_page("bounced_users")
    assert at.button(key="bu_remove").disabled
    assert any("Select rows" in c.value for c in at.caption)


def test_the_detail_shows_every_event_with_its_diagnostic_code_as_text(db: Engine):
    hostile = "smtp; 550 <b>no</b> **such** [user](http://evil.example)"
    ingest(
        db,
        make_bounce(["detail@example.com"], diagnostic=hostile, at=recently(2)),
        make_bounce(
            ["detail@example.com"],
            bounce_type="Transient",
            subtype="MailboxFull",
            diagnostic="smtp; 452 4.2.2 mailbox full",
            at=recently(1),
        ),
    )
    at = run_page("bounced_users", **select_rows(0))
    assert_clean(at)
    events = table_with(at, "diagnostic code")
    assert list(events["diagnostic code"]) == ["smtp; 452 4.2.2 mailbox full", hostile]
    assert not any("evil.example" in m.value for m in at.markdown)
    assert "Address: detail@example.com" in [t.value for t in at.text]


def test_export_writes_the_whole_filtered_result(mixed: Engine, downloads: dict[str, Any]):
    at = run_page("bounced_users")
    at.multiselect(key="bu_kinds").select("hard").run()
    at.selectbox(key="bu_page_size").select(25).run()
    button = at.download_button(key="bu_download")
    assert button.label == "Download all 2 matching rows (CSV)"
    (name,) = [n for n in downloads if n.startswith("bounced-users_")]
    rows = list(csv.DictReader(io.StringIO(downloads[name]().decode("utf-8"))))
    assert [r["address"] for r in rows] == ["hard.new@example.com", "hard.old@example.com"]
    with mixed.connect() as connection:
        exports = connection.execute(
            select(AuditEntry.actor).where(AuditEntry.action == "export.bounced")
        ).all()
    assert exports == [(ACTOR,)]


def test_export_for_excel_starts_with_a_byte_order_mark(mixed: Engine, downloads: dict[str, Any]):
    at = run_page("bounced_users")
    at.radio(key="bu_encoding").set_value("utf-8-sig").run()
    name = max(n for n in downloads if n.startswith("bounced-users_"))
    assert downloads[name]().startswith(b"\xef\xbb\xbf")


# --- Removal, against the SES emulator -----------------------------------------------------


@pytest.fixture
def listed(aws: Any, mixed: Engine) -> Any:
    """The two hard-bounced addresses on the SES suppression list, mirrored."""
    for address in ("hard.new@example.com", "hard.old@example.com"):
        aws.state.put_suppressed(address, "BOUNCE")
    sync_suppression_list(mixed, SesGateway.from_settings(load_settings()), actor=ACTING, rate=100)
    return aws


def on_ses_list(emulator: Any) -> set[str]:
    return {entry.email_address for entry in emulator.state.all_suppressed()}


def test_removal_asks_first_then_removes_and_reports_each_address(listed: Any, mixed: Engine):
    confirm_valid(mixed, ["hard.new@example.com", "hard.old@example.com"], actor=ACTING, note=NOTE)
    at = run_page("bounced_users", **select_rows(0, 2))
    at.button(key="bu_remove").click().run()
    assert on_ses_list(listed) == {"hard.new@example.com", "hard.old@example.com"}, "asked first"
    (dialog,) = [f.value for f in at.dataframe if list(f.value.columns) == PLAN_COLUMNS]
    assert list(dialog["address"]) == ["hard.new@example.com", "hard.old@example.com"]
    assert list(dialog["verdict"]) == ["allowed", "allowed"]
    at.button(key="bu_removal_confirm").click().run()
    assert_clean(at)
    assert on_ses_list(listed) == set()
    results = table_with(at, "outcome")
    assert dict(zip(results["address"], results["outcome"], strict=True)) == {
        "hard.new@example.com": "removed",
        "hard.old@example.com": "removed",
    }
    assert "2 removed" in [s.value for s in at.success]
    with mixed.connect() as connection:
        run = connection.execute(select(RemovalRun.actor, RemovalRun.reason)).one()
    assert run == (ACTOR, "confirmed valid by staff")


def test_unconfirmed_addresses_stay_listed_unless_included(listed: Any, mixed: Engine):
    confirm_valid(mixed, ["hard.new@example.com"], actor=ACTING, note=NOTE)
    at = run_page("bounced_users", **select_rows(0, 2))
    at.button(key="bu_remove").click().run()
    assert any("1 of these need the admin role" in w.value for w in at.warning)
    (dialog,) = [f.value for f in at.dataframe if list(f.value.columns) == PLAN_COLUMNS]
    verdicts = dict(zip(dialog["address"], dialog["verdict"], strict=True))
    assert verdicts == {"hard.new@example.com": "allowed", "hard.old@example.com": "needs admin"}
    assert at.button(key="bu_removal_confirm").label == "Remove 1 addresses"
    at.button(key="bu_removal_confirm").click().run()
    assert on_ses_list(listed) == {"hard.old@example.com"}


def test_cancelling_the_dialog_changes_nothing(listed: Any, mixed: Engine):
    at = run_page("bounced_users", **select_rows(0))
    at.button(key="bu_remove").click().run()
    at.button(key="bu_removal_cancel").click().run()
    assert on_ses_list(listed) == {"hard.new@example.com", "hard.old@example.com"}
    assert not [b for b in at.button if b.key == "bu_removal_confirm"]


def test_an_ses_failure_is_reported_per_address(listed: Any, mixed: Engine):
    from emulator.controls import FaultRule

    confirm_valid(mixed, ["hard.new@example.com", "hard.old@example.com"], actor=ACTING, note=NOTE)
    listed.state.faults.add(
        FaultRule("DeleteSuppressedDestination", status=400, email_address="hard.old@example.com")
    )
    at = run_page("bounced_users", **select_rows(0, 2))
    at.button(key="bu_remove").click().run()
    at.button(key="bu_removal_confirm").click().run()
    results = table_with(at, "outcome")
    outcomes = dict(zip(results["address"], results["outcome"], strict=True))
    assert outcomes == {"hard.new@example.com": "removed", "hard.old@example.com": "failed"}
    assert "1 removed, 1 failed" in [w.value for w in at.warning]
    at.button(key="bu_removal_retry").click().run()
    assert on_ses_list(listed) == set()


def test_export_with_the_suppression_filter_writes_the_listed_addresses(
    listed: Any, mixed: Engine, downloads: dict[str, Any]
):
    at = run_page("bounced_users")
    at.selectbox(key="bu_suppression").select("suppressed").run()
    assert at.download_button(key="bu_download").label == "Download all 2 matching rows (CSV)"
    name = max(n for n in downloads if n.startswith("bounced-users_"))
    rows = list(csv.DictReader(io.StringIO(downloads[name]().decode("utf-8"))))
    assert sorted(r["address"] for r in rows) == ["hard.new@example.com", "hard.old@example.com"]


def test_a_dry_run_shows_the_plan_per_address_and_changes_nothing(listed: Any, mixed: Engine):
    confirm_valid(mixed, ["hard.new@example.com"], actor=ACTING, note=NOTE)
    at = run_page("bounced_users", **select_rows(0, 2))
    at.button(key="bu_dry_run").click().run()
    assert_clean(at)
    plan = table_with(at, "verdict")
    assert dict(zip(plan["address"], plan["verdict"], strict=True)) == {
        "hard.new@example.com": "allowed",
        "hard.old@example.com": "needs admin",
    }
    assert "not confirmed valid since its last bounce" in plan["why"][1]
    assert any(c.value.startswith("1 would be removed, 1 need an admin") for c in at.caption)
    assert on_ses_list(listed) == {"hard.new@example.com", "hard.old@example.com"}
    with mixed.connect() as connection:
        assert connection.scalar(select(RemovalRun.id)) is None


def test_the_detail_shows_what_bounce_desk_did_to_the_address(listed: Any, mixed: Engine):
    confirm_valid(mixed, ["hard.new@example.com"], actor=ACTING, note=NOTE)
    at = run_page("bounced_users", **select_rows(0))
    at.button(key="bu_remove").click().run()
    at.button(key="bu_removal_confirm").click().run()
    history = table_with(at, "action")
    # the call is audited before it is sent (suppression.remove_attempt), then its answer
    assert list(history["action"]) == [
        "suppression.remove",
        "suppression.remove_attempt",
        "confirmation.confirm",
    ]
    assert list(history["outcome"]) == ["removed", "sent", "confirmed"]
    assert set(history["who"]) == {ACTOR} and set(history["role"]) == {"operator"}
