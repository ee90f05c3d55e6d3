"""Mailing exclusions: the visible policy, the lookup with its reasons, the CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from factories import ingest, make_bounce, make_complaint
from pagekit import ACTING, assert_clean, run_page, table_with
from sqlalchemy import Engine

from core.recipients.confirmations import confirm_valid


def recently(days: float = 1) -> datetime:
    return datetime.now(UTC).replace(tzinfo=None) - timedelta(days=days)


def ask(address: str) -> Any:
    at = run_page("mailing_exclusions")
    at.text_input(key="mx_address").input(address)
    return at.button(key="mx_check").click().run()


def test_the_policy_on_the_page_follows_the_settings(db: Engine, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("BOUNCEDESK_SOFT_BOUNCE_EXCLUSION_COUNT", "3")
    monkeypatch.setenv("BOUNCEDESK_SOFT_BOUNCE_WINDOW_DAYS", "14")
    at = run_page("mailing_exclusions")
    assert_clean(at)
    policy = " ".join(m.value for m in at.markdown)
    assert "excluded after 3 soft bounces within 14 days" in policy


def test_a_hard_bounced_address_is_excluded_and_the_page_says_why(db: Engine):
    ingest(
        db,
        make_bounce(["gone@example.com"], diagnostic="smtp; 550 5.1.1 unknown user", at=recently()),
    )
    at = ask("gone@example.com")
    assert [w.value for w in at.warning] == ["No: this address is excluded from bulk mail."]
    address, *reasons = [t.value for t in at.text]
    assert address == "Address: gone@example.com"
    assert len(reasons) == 1
    assert reasons[0].startswith("• hard bounce on ")
    assert "550 5.1.1 unknown user" in reasons[0]


def test_a_confirmation_after_the_bounce_makes_the_address_mailable_again(db: Engine):
    ingest(db, make_bounce(["back@example.com"], at=recently(3)))
    confirm_valid(db, ["back@example.com"], actor=ACTING, note="mailbox recreated")
    at = ask("back@example.com")
    assert [s.value for s in at.success] == ["Yes: this address may receive bulk mail."]
    assert at.text[0].value == "Address: back@example.com"
    assert at.text[1].value.startswith("• confirmed valid on ")


def test_an_unknown_address_is_mailable(db: Engine):
    at = ask("new.user@example.com")
    assert [s.value for s in at.success] == ["Yes: this address may receive bulk mail."]
    assert at.text[0].value == "Address: new.user@example.com"


def test_the_exclusion_list_previews_and_exports_every_excluded_address(
    db: Engine, downloads: dict[str, Any]
):
    ingest(
        db,
        make_bounce(["hard@example.com"], at=recently()),
        make_complaint(["angry@example.com"], at=recently()),
        make_bounce(
            ["maybe@example.com"], bounce_type="Undetermined", subtype="Undetermined", at=recently()
        ),
    )
    at = run_page("mailing_exclusions")
    assert list(table_with(at, "reason")["address"]) == ["angry@example.com", "hard@example.com"]
    (name,) = [n for n in downloads if n.startswith("mailing-exclusions_")]
    rows = list(csv.DictReader(io.StringIO(downloads[name]().decode("utf-8"))))
    assert [r["address"] for r in rows] == ["angry@example.com", "hard@example.com"]


def test_nobody_excluded_is_an_empty_state(db: Engine):
    at = run_page("mailing_exclusions")
    assert any("Nobody is excluded" in i.value for i in at.info)
