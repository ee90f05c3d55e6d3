"""Re-verification through the API with ``auto_remove_on_reverify`` on, against the local
SES emulator over HTTP: confirmation, removal and their audit entries in the token's name,
and the guardrails that keep a complaint or a re-bounce for an admin."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from api.app import create_app
from core.audit import AUDIT
from core.clock import utcnow
from core.settings import Settings
from core.suppression.mirror import sync_suppression_list
from core.tokens import Scope, create_token
from emulator.launch import EmulatorHandle, running_emulator
from tests.factories import ADMIN, OPS, ingest, make_bounce
from tests.suppression_kit import http_gateway

SETTINGS = Settings(actor="tester", auto_remove_on_reverify=True)


@pytest.fixture
def emulator() -> Iterator[EmulatorHandle]:
    with running_emulator() as handle:
        yield handle


@pytest.fixture
def api(
    sqlite_engine: Engine, emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, dict[str, str]]]:
    gateway = http_gateway(emulator, monkeypatch)
    app = create_app(SETTINGS, engine=sqlite_engine, gateway_factory=lambda: gateway)
    made = create_token(sqlite_engine, "login", Scope.VERIFY, actor=ADMIN)
    with TestClient(app) as client:
        yield client, {"Authorization": f"Bearer {made.token}"}


def listed_in_ses(engine: Engine, emulator: EmulatorHandle, monkeypatch: Any, *entries: Any):
    for address, reason in entries:
        emulator.state.put_suppressed(address, reason)
    sync_suppression_list(
        engine, http_gateway(emulator, monkeypatch), actor=OPS, rate=1000, sleep=lambda _: None
    )


def audit(engine: Engine, address: str) -> list[tuple[str, str, str | None]]:
    query = select(AUDIT.c.actor, AUDIT.c.action, AUDIT.c.outcome).where(AUDIT.c.address == address)
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(query.order_by(AUDIT.c.id))]


def verify(api: tuple[TestClient, dict[str, str]], address: str) -> dict[str, Any]:
    client, headers = api
    response = client.post(
        f"/v1/addresses/{address}/verified", json={"method": "email_link"}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_reverified_suppressed_address_is_confirmed_and_removed_audited(
    sqlite_engine: Engine, emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch, api: Any
) -> None:
    address = "back@example.com"
    ingest(sqlite_engine, make_bounce([address], at=utcnow() - timedelta(days=3)))
    listed_in_ses(sqlite_engine, emulator, monkeypatch, (address, "BOUNCE"))
    body = verify(api, address)
    assert (body["confirmation"], body["removal"]) == ("confirmed", "removed")
    assert body["removal_run_id"] is not None
    assert emulator.state.get_suppressed(address) is None
    assert audit(sqlite_engine, address) == [
        ("token:login", "confirmation.confirm", "confirmed"),
        ("token:login", "suppression.remove_attempt", "sent"),
        ("token:login", "suppression.remove", "removed"),
    ]
    with sqlite_engine.connect() as connection:
        requested = connection.execute(
            select(AUDIT.c.actor, AUDIT.c.parameters).where(
                AUDIT.c.action == "suppression.removal_requested"
            )
        ).one()
    assert requested.actor == "token:login"
    assert "re-verified the address (email_link)" in requested.parameters
    client, headers = api
    after = client.get(f"/v1/addresses/{address}", headers=headers).json()
    assert (after["mailable"], after["suppressed"]) == (True, None)


def test_a_complaint_address_is_not_removed_without_an_admin(
    sqlite_engine: Engine, emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch, api: Any
) -> None:
    address = "angry@example.com"
    listed_in_ses(sqlite_engine, emulator, monkeypatch, (address, "COMPLAINT"))
    body = verify(api, address)
    assert (body["confirmation"], body["removal"]) == ("confirmed", "needs_admin")
    assert "complaint" in body["removal_detail"]
    assert emulator.state.get_suppressed(address) is not None
    actions = [action for _, action, _ in audit(sqlite_engine, address)]
    assert actions == ["confirmation.confirm"]


def test_an_address_that_rebounced_after_an_earlier_removal_needs_an_admin(
    sqlite_engine: Engine, emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch, api: Any
) -> None:
    address = "again@example.com"
    ingest(sqlite_engine, make_bounce([address], at=utcnow() - timedelta(days=9)))
    listed_in_ses(sqlite_engine, emulator, monkeypatch, (address, "BOUNCE"))
    assert verify(api, address)["removal"] == "removed"
    # it hard-bounced again after the removal, and SES listed it again
    ingest(sqlite_engine, make_bounce([address], at=utcnow() + timedelta(seconds=1)))
    listed_in_ses(sqlite_engine, emulator, monkeypatch, (address, "BOUNCE"))
    body = verify(api, address)
    assert body["removal"] == "needs_admin"
    assert "hard-bounced again" in body["removal_detail"]
    assert emulator.state.get_suppressed(address) is not None


def test_a_removal_ses_cannot_answer_is_reported_failed_and_the_confirmation_kept(
    sqlite_engine: Engine, emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch, api: Any
) -> None:
    address = "later@example.com"
    listed_in_ses(sqlite_engine, emulator, monkeypatch, (address, "BOUNCE"))
    emulator.admin.add_fault("DeleteSuppressedDestination", 500, count=10, email_address=address)
    body = verify(api, address)
    assert (body["confirmation"], body["removal"]) == ("confirmed", "failed")
    assert emulator.state.get_suppressed(address) is not None
    assert ("token:login", "suppression.remove", "failed") in audit(sqlite_engine, address)
