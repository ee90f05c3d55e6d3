"""HTML and Markdown injection: hostile text reaches the pages only through elements that
show text as text (st.text, st.code, dataframes), never through Markdown-interpreting ones
(st.markdown, st.caption, titles, alerts, widget labels)."""

from __future__ import annotations

from typing import Any

import pytest
from pagekit import ACTING, ROOT, TIMEOUT, assert_clean, markdown_texts, run_page
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from core.audit import record_audit
from tests.injection_kit import (
    ADDRESSES,
    FORMULA_ADDRESS,
    FRAGMENTS,
    HTML,
    MARKDOWN,
    MARKDOWN_ADDRESS,
    seed_hostile,
)


@pytest.fixture
def hostile(db: Engine) -> Engine:
    seed_hostile(db)
    with db.begin() as connection:
        record_audit(
            connection, ACTING, "directory.import", MARKDOWN_ADDRESS, HTML, {"note": MARKDOWN},
            detail=MARKDOWN,
        )  # fmt: skip
    return db


def safe_texts(at: AppTest) -> str:
    """Everything shown as plain text: st.text, st.code and dataframe cells."""
    parts = [str(t.value) for t in at.text]
    parts += [str(c.value) for c in at.code]
    parts += [frame.value.to_csv() for frame in at.dataframe]
    return "\n".join(parts)


def assert_only_as_text(at: AppTest, *expected: str) -> None:
    """No fragment in a Markdown element, and each `expected` string shown as text."""
    leaked = [(f, t) for t in markdown_texts(at) for f in FRAGMENTS if f in t]
    assert leaked == []
    shown = safe_texts(at)
    assert [text for text in expected if text not in shown] == []


def rows_of(at: AppTest, *addresses: str) -> dict[str, Any]:
    frame = at.dataframe(key="bu_table").value
    rows = [list(frame["address"]).index(a) for a in addresses]
    return {"bu_table": {"selection": {"rows": rows, "columns": []}}}


def test_the_bounced_list_and_an_address_detail_show_hostile_text_as_text(hostile: Engine):
    at = run_page("bounced_users")
    assert_clean(at)
    state = rows_of(at, FORMULA_ADDRESS)
    at = run_page("bounced_users", **state)
    assert_clean(at)
    assert_only_as_text(at, f"Address: {FORMULA_ADDRESS}", HTML, MARKDOWN, "calc")


def test_confirm_revoke_dry_run_and_removal_dialog_show_addresses_as_text(hostile: Engine):
    at = run_page("bounced_users")
    state = rows_of(at, *ADDRESSES)
    at = run_page("bounced_users", **state)
    at.text_input(key="bu_revoke_note").input(MARKDOWN)
    at.button(key="bu_revoke").click().run()
    assert_only_as_text(at)
    at = run_page("bounced_users", **state)
    at.text_input(key="bu_revoke_note").input("again")
    at.button(key="bu_revoke").click().run()  # nothing left to revoke: named per address
    assert_only_as_text(at, f"{MARKDOWN_ADDRESS}: had no confirmation to revoke")
    at = run_page("bounced_users", **state)
    at.button(key="bu_dry_run").click().run()
    assert_only_as_text(at, MARKDOWN_ADDRESS)
    at.button(key="bu_remove").click().run()
    assert_only_as_text(at, MARKDOWN_ADDRESS, FORMULA_ADDRESS)


def test_the_suppression_page_shows_hostile_addresses_as_text(hostile: Engine):
    at = run_page("suppression_list")
    assert_clean(at)
    assert_only_as_text(at, FORMULA_ADDRESS, MARKDOWN_ADDRESS, MARKDOWN)
    assert any("left out of the console file" in w.value for w in at.warning)
    assert FORMULA_ADDRESS in [t.value for t in at.text], "named as plain text"


@pytest.mark.parametrize("address", [FORMULA_ADDRESS, MARKDOWN_ADDRESS])
def test_the_mailing_lookup_shows_the_address_and_the_reasons_as_text(
    hostile: Engine, address: str
):
    at = run_page("mailing_exclusions")
    at.text_input(key="mx_address").input(address)
    at.button(key="mx_check").click().run()
    assert_clean(at)
    assert_only_as_text(at, f"Address: {address}")


def test_the_audit_log_shows_hostile_entries_as_text(hostile: Engine):
    at = run_page("audit_log")
    assert_clean(at)
    assert_only_as_text(at, MARKDOWN_ADDRESS, HTML)


def test_an_error_quoting_a_hostile_file_shows_the_quote_as_text(db: Engine):
    at = run_page("user_directory")
    data = f"{HTML},{MARKDOWN}\n".encode()
    at.file_uploader(key="ud_file").set_value(("users.csv", data, "text/csv")).run()
    at.button(key="ud_import").click().run()
    assert [e.value for e in at.error] == [
        "Could not import the users. Bounce Desk could not use what was asked; the detail says why."
    ]
    assert_only_as_text(at, HTML)


def test_an_uploaded_file_name_is_shown_as_text(db: Engine):
    at = run_page("ingestion")
    at.file_uploader(key="ingest_files").set_value((f"{MARKDOWN}.json", b"[]", "text/plain"))
    at.run()
    at.button(key="ingest_store").click().run()
    assert_clean(at)
    assert_only_as_text(at, f"File 1: {MARKDOWN}.json")


def test_a_hostile_acting_name_is_shown_as_text_in_the_sidebar(
    db: Engine, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("BOUNCEDESK_ACTOR", f"{HTML} {MARKDOWN}")
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=TIMEOUT).run()
    assert_clean(at)
    assert_only_as_text(at, f"acting as {HTML} {MARKDOWN} (operator)")
