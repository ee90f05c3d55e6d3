"""API tokens page: an admin creates a token (shown once) and revokes it; others may not."""

from __future__ import annotations

import pytest
from pagekit import assert_clean, run_page, table_with
from sqlalchemy import Engine

from core.access import Actor, Role
from core.tokens import Scope, authenticate, create_token, list_tokens


@pytest.fixture
def as_admin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOUNCEDESK_LOCAL_ROLE", "admin")


def test_an_admin_creates_a_token_shown_once_that_the_api_accepts(
    db: Engine, as_admin: None
) -> None:
    at = run_page("api_tokens")
    at.text_input(key="at_name").input("crm-login")
    at.radio(key="at_scope").set_value("verify")
    at.button[0].click().run()
    assert_clean(at)
    [shown] = [code.value for code in at.code]
    found = authenticate(db, shown)
    assert found is not None and (found.name, found.scope) == ("crm-login", Scope.VERIFY)
    assert list(table_with(at, "scope")["name"]) == ["crm-login"]
    at.run()  # the next run no longer shows it
    assert [code.value for code in at.code] == []


def test_an_admin_revokes_a_token(db: Engine, as_admin: None) -> None:
    made = create_token(db, "old-crm", Scope.READ, actor=Actor("a", Role.ADMIN))
    at = run_page("api_tokens")
    at.selectbox(key="at_revoke_name").set_value("old-crm")
    at.button(key="at_revoke").click().run()
    assert_clean(at)
    assert authenticate(db, made.token) is None
    assert [w.value for w in at.success] == ["Token old-crm revoked."]
    assert list(table_with(at, "scope")["state"]) == ["revoked"]


def test_an_operator_sees_the_tokens_but_may_not_create_or_revoke(db: Engine) -> None:
    create_token(db, "crm", Scope.READ, actor=Actor("a", Role.ADMIN))
    at = run_page("api_tokens")
    assert_clean(at)
    assert at.button[0].disabled
    assert at.button(key="at_revoke").disabled
    assert "admin role" in (at.button(key="at_revoke").help or "")
    assert [t.name for t in list_tokens(db) if t.active] == ["crm"]


def test_a_bad_name_is_refused_with_a_message(db: Engine, as_admin: None) -> None:
    at = run_page("api_tokens")
    at.text_input(key="at_name").input("Not A Name")
    at.button[0].click().run()
    assert any("Could not create the token" in e.value for e in at.error)
    assert list_tokens(db) == []
