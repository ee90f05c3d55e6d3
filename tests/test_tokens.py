"""API tokens (core/tokens.py): shown once, stored as a hash, admin-only, revocable, and
their CLI commands."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from core.audit import AUDIT
from core.cli.main import main
from core.errors import InvalidInput, PermissionDenied
from core.store.tables import API_TOKENS
from core.tokens import Scope, authenticate, create_token, list_tokens, revoke_token
from tests.factories import ADMIN, OPS, VIEWER


def test_a_token_is_stored_only_as_its_hash_and_authenticates(engine: Engine) -> None:
    made = create_token(engine, "crm-login", Scope.VERIFY, actor=ADMIN)
    assert made.token.startswith("bd_")
    with engine.connect() as connection:
        row = connection.execute(select(API_TOKENS)).one()
    assert made.token not in [str(value) for value in row]
    assert made.token.split("_")[2] not in row.secret_hash
    found = authenticate(engine, made.token)
    assert found is not None and found.name == "crm-login" and found.scope is Scope.VERIFY
    assert found.actor("x").name == "token:crm-login"
    assert authenticate(engine, made.token[:-1] + ("A" if made.token[-1] != "A" else "B")) is None


def test_only_an_admin_creates_or_revokes_tokens(sqlite_engine: Engine) -> None:
    for actor in (OPS, VIEWER):
        with pytest.raises(PermissionDenied, match="admin role"):
            create_token(sqlite_engine, "crm", Scope.READ, actor=actor)
    create_token(sqlite_engine, "crm", Scope.READ, actor=ADMIN)
    with pytest.raises(PermissionDenied):
        revoke_token(sqlite_engine, "crm", actor=OPS)
    assert list_tokens(sqlite_engine)[0].active


def test_a_name_is_never_reused_and_bad_names_are_refused(sqlite_engine: Engine) -> None:
    create_token(sqlite_engine, "crm", Scope.READ, actor=ADMIN)
    revoke_token(sqlite_engine, "crm", actor=ADMIN)
    with pytest.raises(InvalidInput, match="exists already"):
        create_token(sqlite_engine, "crm", Scope.READ, actor=ADMIN)
    for name in ("", "Upper", "has space", "\x1b[2J", "x" * 65):
        with pytest.raises(InvalidInput, match="not allowed"):
            create_token(sqlite_engine, name, Scope.READ, actor=ADMIN)


def test_creating_and_revoking_are_audited_without_the_secret(sqlite_engine: Engine) -> None:
    made = create_token(sqlite_engine, "crm", Scope.READ, actor=ADMIN)
    revoked = revoke_token(sqlite_engine, "crm", actor=ADMIN)
    revoke_token(sqlite_engine, "crm", actor=ADMIN)  # again: nothing changes
    assert revoked.revoked_by == "admin"
    assert authenticate(sqlite_engine, made.token) is None
    with sqlite_engine.connect() as connection:
        rows = connection.execute(select(AUDIT).order_by(AUDIT.c.id)).all()
    assert [(r.actor, r.action) for r in rows] == [
        ("admin", "tokens.create"),
        ("admin", "tokens.revoke"),
    ]
    assert all(made.token not in (r.parameters or "") for r in rows)


def test_the_cli_creates_lists_and_revokes_tokens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    assert main(["tokens", "create", "crm", "--scope", "read", "--database-url", url]) == 1
    assert "admin role" in capsys.readouterr().err
    monkeypatch.setenv("BOUNCEDESK_CLI_ROLE", "admin")
    assert main(["tokens", "create", "crm", "--scope", "read", "--database-url", url]) == 0
    token = capsys.readouterr().out.splitlines()[-1]
    assert token.startswith("bd_")
    assert main(["tokens", "list", "--database-url", url]) == 0
    listing = capsys.readouterr().out
    assert "crm\tread\tactive" in listing and token not in listing
    assert main(["tokens", "revoke", "crm", "--database-url", url]) == 0
    assert main(["tokens", "list", "--database-url", url]) == 0
    assert "crm\tread\trevoked" in capsys.readouterr().out
    assert main(["tokens", "revoke", "nobody", "--database-url", url]) == 1
    assert "no token is named 'nobody'" in capsys.readouterr().err
