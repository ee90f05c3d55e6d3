"""Sign-in, roles and local mode on the pages (AppTest sets st.user through `at.user`).

With [auth] configured st.user always carries `is_logged_in`; AppTest stands in for that with
a user dict that has the key. Without it the dashboard runs in local mode.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import streamlit as st
from factories import ingest, make_bounce
from pagekit import (
    ACTOR,
    ROOT,
    SIGNED_OUT,
    TIMEOUT,
    assert_clean,
    run_page,
    signed_in,
)
from sqlalchemy import Engine, select
from streamlit.testing.v1 import AppTest

from core.recipients.confirmations import confirmation_history
from core.store.models import AuditEntry

PAGES = [
    "overview",
    "bounced_users",
    "suppression_list",
    "mailing_exclusions",
    "ingestion",
    "user_directory",
    "audit_log",
]
ALICE = signed_in("alice@corp.example")  # admin by email
BOB = signed_in("bob@corp.example")  # operator by domain
SAM = signed_in("sam@agency.example", groups=["support"])  # viewer by group
MALLORY = signed_in("mallory@elsewhere.example")  # no role
USERS = {"viewer": SAM, "operator": BOB, "admin": ALICE}
CONTACT = "ses-admins@corp.example"
ONE_ROW = {"bu_table": {"selection": {"rows": [0], "columns": []}}}


@pytest.fixture
def roles(db: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    roles = {
        "admin": ["alice@corp.example"],
        "operator": ["@corp.example"],
        "viewer": ["group:support"],
    }
    monkeypatch.setenv("BOUNCEDESK_ROLES", json.dumps(roles))
    monkeypatch.setenv("BOUNCEDESK_ACCESS_CONTACT", CONTACT)
    ingest(db, make_bounce(["private.person@example.com"]))
    return db


def run_dashboard(user: dict[str, Any] | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=TIMEOUT)
    if user is not None:
        at.user = user
    return at.run()


def shows_no_data(at: AppTest) -> bool:
    everything = [str(e.value) for kind in ("text", "markdown", "caption") for e in at.get(kind)]
    return (
        not at.dataframe
        and not at.metric
        and not any("private.person" in text for text in everything)
    )


def disabled(at: AppTest, key: str) -> bool:
    node = at.get_by_key(key)
    if getattr(node, "type", "") == "popover":
        return bool(node.proto.popover.disabled)
    return bool(node.disabled)  # type: ignore[union-attr]


# --- Who gets in ---------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_someone_signed_in_without_a_role_sees_whom_to_ask_and_no_data(
    roles: Engine, page: str
) -> None:
    at = run_page(page, user=MALLORY)
    assert not at.exception
    assert [t.value for t in at.title] == ["No access"]
    texts = [t.value for t in at.text]
    assert "Signed in as: mallory@elsewhere.example" in texts
    assert f"Ask {CONTACT} for access." in texts
    assert at.button(key="no_access_sign_out").label == "Sign out"
    assert shows_no_data(at)


@pytest.mark.parametrize("page", PAGES)
def test_nobody_reads_anything_before_signing_in(roles: Engine, page: str) -> None:
    at = run_page(page, user=SIGNED_OUT)
    assert at.button(key="sign_in").label == "Sign in"
    assert shows_no_data(at)


def test_the_router_stops_at_the_no_access_page_before_any_page_runs(roles: Engine) -> None:
    at = run_dashboard(MALLORY)
    assert [t.value for t in at.title] == ["No access"]
    assert shows_no_data(at)


def test_the_sidebar_names_the_signed_in_person_and_their_role(roles: Engine) -> None:
    at = run_dashboard(ALICE)
    assert_clean(at)
    assert "Signed in as alice@corp.example (admin)" in [t.value for t in at.sidebar.text]
    assert at.sidebar.button(key="sidebar_sign_out").label == "Sign out"


def test_an_unverified_email_gets_no_role_from_it(roles: Engine) -> None:
    at = run_page("overview", user={**BOB, "email_verified": False})
    assert [t.value for t in at.title] == ["No access"]


@pytest.mark.parametrize("claim", ["false", None])
def test_an_email_the_provider_did_not_say_it_verified_gets_no_role_from_it(
    roles: Engine, claim: str | None
) -> None:
    user = (
        {**ALICE, "email_verified": claim}
        if claim
        else {k: v for k, v in ALICE.items() if k != "email_verified"}
    )
    at = run_page("audit_log", user=user)
    assert [t.value for t in at.title] == ["No access"]
    assert shows_no_data(at)


# --- What each role may use ----------------------------------------------------------------

# (page, widget key, least role, session state, environment)
WIDGETS = [
    ("bounced_users", "bu_confirm_popover", "operator", ONE_ROW, {}),
    ("bounced_users", "bu_revoke_popover", "operator", ONE_ROW, {}),
    ("bounced_users", "bu_remove", "operator", ONE_ROW, {}),
    ("bounced_users", "bu_dry_run", "viewer", ONE_ROW, {}),
    ("bounced_users", "bu_download", "viewer", {}, {}),
    ("suppression_list", "sl_sync", "operator", {}, {}),
    ("mailing_exclusions", "mx_download", "viewer", {}, {}),
    (
        "ingestion",
        "ingest_poll",
        "operator",
        {},
        {"BOUNCEDESK_SQS_QUEUE_URL": "https://sqs.example/q"},
    ),
    ("audit_log", "al_download", "viewer", {}, {}),
]
RANK = {"viewer": 0, "operator": 1, "admin": 2}


@pytest.mark.parametrize("role", list(USERS))
@pytest.mark.parametrize(
    ("page", "key", "least", "state", "env"), WIDGETS, ids=[w[1] for w in WIDGETS]
)
def test_each_role_sees_only_what_it_may_use_enabled(
    roles: Engine,
    monkeypatch: pytest.MonkeyPatch,
    role: str,
    page: str,
    key: str,
    least: str,
    state: dict[str, Any],
    env: dict[str, str],
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    at = run_page(page, user=USERS[role], **state)
    assert_clean(at)
    assert disabled(at, key) is (RANK[role] < RANK[least])


def test_a_disabled_directory_import_says_which_role_it_needs(roles: Engine) -> None:
    at = run_page("user_directory", user=SAM)
    at.file_uploader(key="ud_file").set_value(("users.csv", b"email\na@x.example\n", "text/csv"))
    at.run()
    button = at.button(key="ud_import")
    assert button.disabled
    assert button.help == (
        f"Importing the user directory needs the operator role (yours: viewer); ask {CONTACT}."
    )


def test_hiding_a_button_is_not_the_check_core_refuses_a_viewer_anyway(roles: Engine) -> None:
    """A modified browser can send the click of the Confirm button inside the disabled
    popover: core refuses it, and nothing is recorded."""
    at = run_page("bounced_users", user=SAM, **ONE_ROW)
    assert disabled(at, "bu_confirm_popover")
    at.text_input(key="bu_confirm_note").input("I am sure")
    at.button(key="bu_confirm").click().run()
    assert [e.value for e in at.error] == [
        "Could not mark the addresses confirmed-valid. Your role does not allow this. "
        "Nothing was changed."
    ]
    assert (
        "Detail: Marking addresses confirmed-valid or revoking a confirmation needs the "
        f"operator role (yours: viewer); ask {CONTACT}." in [t.value for t in at.text]
    )
    assert confirmation_history(roles, "private.person@example.com") == []
    with roles.connect() as connection:
        assert connection.scalar(select(AuditEntry.id)) is None


def test_an_operator_confirms_under_their_signed_in_email(roles: Engine) -> None:
    at = run_page("bounced_users", user=BOB, **ONE_ROW)
    at.text_input(key="bu_confirm_note").input("phoned, ticket 12")
    at.button(key="bu_confirm").click().run()
    assert_clean(at)
    (entry,) = confirmation_history(roles, "private.person@example.com")
    assert entry.actor == "bob@corp.example"


def test_a_change_is_recorded_under_the_issuer_and_subject_not_a_changeable_claim(
    roles: Engine,
) -> None:
    user = {**BOB, "iss": "https://login.corp.example", "sub": "00u1b0b", "name": "alice"}
    at = run_page("bounced_users", user=user, **ONE_ROW)
    at.text_input(key="bu_confirm_note").input("phoned, ticket 12")
    at.button(key="bu_confirm").click().run()
    assert_clean(at)
    (entry,) = confirmation_history(roles, "private.person@example.com")
    assert entry.actor == "bob@corp.example [https://login.corp.example 00u1b0b]"
    with roles.connect() as connection:
        assert connection.scalars(select(AuditEntry.actor)).all() == [entry.actor]


def test_only_an_admin_is_offered_to_include_addresses_that_need_an_admin(
    roles: Engine,
) -> None:
    for user, offered in ((BOB, False), (ALICE, True)):
        at = run_page("bounced_users", user=user, **ONE_ROW)
        at.button(key="bu_remove").click().run()
        boxes = [c.key for c in at.checkbox]
        assert ("bu_removal_include_flagged" in boxes) is offered


# --- Local mode ----------------------------------------------------------------------------


def test_local_mode_acts_as_the_configured_actor_with_the_local_role(
    db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOUNCEDESK_LOCAL_ROLE", "viewer")
    at = run_dashboard()
    assert_clean(at)
    assert f"Sign-in is off (local mode) — acting as {ACTOR} (viewer)" in [
        t.value for t in at.sidebar.text
    ]
    at = run_page("suppression_list")
    assert disabled(at, "sl_sync")


@pytest.mark.parametrize("page", ["overview", "bounced_users"])
def test_local_mode_refuses_to_serve_a_network_address(
    db: Engine, server_address: dict[str, object], page: str
) -> None:
    ingest(db, make_bounce(["private.person@example.com"]))
    server_address["server.address"] = "0.0.0.0"
    at = run_page(page)
    assert [t.value for t in at.title] == ["Bounce Desk will not start like this"]
    (problem,) = [t.value for t in at.text]
    assert "listens on 0.0.0.0" in problem and "allow_remote_local_mode" in problem
    assert shows_no_data(at)
    server_address["server.address"] = None  # unset: every interface
    assert [t.value for t in run_dashboard().title] == ["Bounce Desk will not start like this"]


def test_local_mode_on_a_network_address_runs_when_someone_decided_so(
    db: Engine, server_address: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    server_address["server.address"] = "0.0.0.0"
    monkeypatch.setenv("BOUNCEDESK_ALLOW_REMOTE_LOCAL_MODE", "true")
    at = run_dashboard()
    assert_clean(at)
    assert at.title[0].value == "Overview"


def test_signed_in_mode_may_serve_any_address(
    roles: Engine, server_address: dict[str, object]
) -> None:
    server_address["server.address"] = "0.0.0.0"
    at = run_page("overview", user=BOB)
    assert_clean(at)
    assert at.title[0].value == "Overview"


# --- Local mode answers only this machine's browsers ---------------------------------------

REBOUND = {"Host": "evil.example:8501", "Origin": "http://evil.example:8501"}
LOOPBACK = {"Host": "localhost:8501", "Origin": "http://localhost:8501"}


@pytest.mark.parametrize("page", ["overview", "bounced_users"])
def test_local_mode_refuses_a_page_opened_under_a_name_rebound_to_this_machine(
    db: Engine, request_headers: dict[str, str], page: str
) -> None:
    ingest(db, make_bounce(["private.person@example.com"]))
    request_headers.update(REBOUND)
    at = run_page(page)
    assert [t.value for t in at.title] == ["Bounce Desk will not start like this"]
    assert [e.value for e in at.error] == [
        "Sign-in is off, and this page was not opened from this machine."
    ]
    (problem,) = [t.value for t in at.text]
    assert problem.startswith("This page was opened as http://evil.example:8501.")
    assert shows_no_data(at)
    assert [t.value for t in run_dashboard().title] == ["Bounce Desk will not start like this"]


def test_local_mode_answers_a_page_opened_as_localhost(
    db: Engine, request_headers: dict[str, str]
) -> None:
    request_headers.update(LOOPBACK)
    at = run_dashboard()
    assert_clean(at)
    assert at.title[0].value == "Overview"


def test_signed_in_mode_answers_any_host_name(
    roles: Engine, request_headers: dict[str, str]
) -> None:
    request_headers.update(REBOUND)
    at = run_page("overview", user=BOB)
    assert_clean(at)
    assert at.title[0].value == "Overview"


def test_local_mode_on_a_changed_port_needs_local_mode_set_on_purpose(
    db: Engine, server_address: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    server_address["server.port"] = 8080
    at = run_dashboard()
    assert [t.value for t in at.title] == ["Bounce Desk will not start like this"]
    (problem,) = [t.value for t in at.text]
    assert "server.port=8080" in problem and "local_mode = true" in problem
    monkeypatch.setenv("BOUNCEDESK_LOCAL_MODE", "true")
    st.cache_resource.clear()  # settings are read once per server process
    at = run_dashboard()
    assert_clean(at)
    assert at.title[0].value == "Overview"


def test_local_mode_behind_a_proxy_needs_local_mode_set_on_purpose(
    db: Engine, request_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    request_headers.update({**LOOPBACK, "X-Forwarded-For": "203.0.113.7"})
    (problem,) = [t.value for t in run_page("overview").text]
    assert "came through a proxy (it carries x-forwarded-for)" in problem
    monkeypatch.setenv("BOUNCEDESK_LOCAL_MODE", "true")
    st.cache_resource.clear()  # settings are read once per server process
    assert_clean(run_page("overview"))


def test_local_mode_false_stops_a_deployment_whose_sign_in_went_missing(
    db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOUNCEDESK_LOCAL_MODE", "false")
    at = run_dashboard()
    assert [t.value for t in at.title] == ["Bounce Desk will not start like this"]
    assert "needs sign-in" in at.text[0].value


def test_the_server_log_says_once_that_sign_in_is_off_and_who_acts(
    db: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    from ui import identity

    identity._announce.cache_clear()
    logger = logging.getLogger("ui.identity")  # Streamlit's loggers do not propagate
    logger.addHandler(caplog.handler)
    try:
        run_dashboard()
        run_page("overview")
    finally:
        logger.removeHandler(caplog.handler)
        identity._announce.cache_clear()
    assert [r.getMessage() for r in caplog.records if r.name == "ui.identity"] == [
        f"Sign-in is off (local mode): everyone it answers acts as {ACTOR} with the operator "
        "role; served only to browsers on this machine (127.0.0.1, ::1, localhost)."
    ]
