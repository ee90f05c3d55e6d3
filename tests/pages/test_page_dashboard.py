"""The router: navigation, the shared sidebar, and start-up errors in words."""

from __future__ import annotations

import pytest
from pagekit import ACTOR, ROOT, TIMEOUT, assert_clean, badges
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest


def run_dashboard() -> AppTest:
    return AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=TIMEOUT).run()


def test_the_router_opens_on_the_overview_with_a_sidebar_naming_the_acting_user(db: Engine):
    at = run_dashboard()
    assert_clean(at)
    assert at.title[0].value == "Overview"
    sidebar = [t.value for t in at.sidebar.text]
    assert f"Sign-in is off (local mode) — acting as {ACTOR} (operator)" in sidebar
    assert not any("Demo" in b for b in badges(at.sidebar)), "not a demo"


def test_a_page_opened_by_url_still_runs_under_the_router(db: Engine):
    at = run_dashboard()
    at.switch_page("pages/bounced_users.py").run()
    assert_clean(at)
    assert at.title[0].value == "Bounced users"
    assert any("acting as" in t.value for t in at.sidebar.text), "the router's sidebar"


def test_the_sidebar_names_the_database_in_use_without_a_password(
    db: Engine, monkeypatch: pytest.MonkeyPatch
):
    at = run_dashboard()
    texts = [t.value for t in at.sidebar.text]
    assert any(t.startswith("Database: sqlite:///") and "pages.db" in t for t in texts)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://desk@127.0.0.1:1/desk?password=hunter2", "postgresql://127.0.0.1/desk"),
        ("mysql://desk@127.0.0.1:1/desk?passwd=hunter2", "mysql://127.0.0.1/desk"),
    ],
)
def test_the_connection_panel_never_shows_a_password_given_as_a_query_parameter(
    db: Engine, monkeypatch: pytest.MonkeyPatch, url: str, shown: str
):
    monkeypatch.setenv("BOUNCEDESK_DATABASE_URL", url)  # nothing listens on port 1
    at = run_dashboard()
    assert f"Database: {shown}" in [t.value for t in at.sidebar.text]
    everything = [
        str(e.value) for kind in ("text", "markdown", "error", "code") for e in at.get(kind)
    ]
    assert not [text for text in everything if "hunter2" in text]


def test_an_invalid_setting_stops_start_up_with_a_message_naming_it(
    db: Engine, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("BOUNCEDESK_SOFT_BOUNCE_WINDOW_DAYS", "0")
    at = run_dashboard()
    assert not at.exception
    message = at.error[0].value
    assert message.startswith("Bounce Desk cannot start")
    assert "BOUNCEDESK_SOFT_BOUNCE_WINDOW_DAYS" in message
