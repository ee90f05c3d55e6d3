"""The HTTP API through FastAPI's TestClient: every endpoint, scope and error, against a
real database (the `engine` tests on every backend)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select

from api.app import create_app
from core.audit import AUDIT
from core.recipients.confirmations import confirmation_history
from core.recipients.mailing import mailing_status
from core.settings import Settings
from core.store.db import open_session
from core.store.models import SuppressedDestination
from core.tokens import Scope, create_token, revoke_token
from tests.factories import ADMIN, ingest, make_bounce, make_complaint

SETTINGS = Settings(actor="tester")
HARD = "hard@example.com"
CLEAN = "clean@example.com"


def client_for(engine: Engine, settings: Settings = SETTINGS, **kwargs: Any) -> TestClient:
    return TestClient(create_app(settings, engine=engine, **kwargs))


def token(engine: Engine, name: str = "crm", scope: Scope = Scope.READ) -> dict[str, str]:
    made = create_token(engine, name, scope, actor=ADMIN)
    return {"Authorization": f"Bearer {made.token}"}


def audit_rows(engine: Engine, action: str) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(select(AUDIT).where(AUDIT.c.action == action)))


def list_as_suppressed(engine: Engine, address: str, reason: str = "BOUNCE") -> None:
    from datetime import datetime

    now = datetime(2026, 10, 2)
    with open_session(engine) as session:
        session.add(
            SuppressedDestination(
                address=address,
                email_address=address,
                reason=reason,
                last_update_time=now,
                first_seen_at=now,
                last_seen_at=now,
                suppressed=True,
            )
        )
        session.commit()


@pytest.fixture
def client(sqlite_engine: Engine) -> Iterator[TestClient]:
    with client_for(sqlite_engine) as client:
        yield client


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()["error"]
    assert body["code"] == code
    assert body["message"]
    return body


# --- Access --------------------------------------------------------------------------------


def test_health_answers_without_a_token(client: TestClient) -> None:
    response = client.get("/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_a_request_without_a_token_is_401_with_a_bearer_challenge(client: TestClient) -> None:
    response = client.get(f"/v1/addresses/{HARD}")
    body = assert_error(response, 401, "unauthorized")
    assert "Authorization: Bearer" in body["message"]
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "presented",
    ["nonsense", "bd_0123456789abcdef_" + "x" * 43, "Basic dXNlcjpwYXNz"],
)
def test_an_unknown_or_malformed_token_is_401(
    client: TestClient, sqlite_engine: Engine, presented: str
) -> None:
    real = token(sqlite_engine)
    forged = real["Authorization"][:-4] + "AAAA"
    for value in (forged, f"Bearer {presented}"):
        response = client.get(f"/v1/addresses/{HARD}", headers={"Authorization": value})
        assert_error(response, 401, "unauthorized")


def test_a_revoked_token_is_refused_from_the_next_request_on(
    client: TestClient, sqlite_engine: Engine
) -> None:
    headers = token(sqlite_engine)
    assert client.get(f"/v1/addresses/{HARD}", headers=headers).status_code == 200
    revoke_token(sqlite_engine, "crm", actor=ADMIN)
    body = assert_error(client.get(f"/v1/addresses/{HARD}", headers=headers), 401, "unauthorized")
    assert "revoked" in body["message"]


def test_a_read_token_may_not_record_a_verification(
    client: TestClient, sqlite_engine: Engine
) -> None:
    response = client.post(
        f"/v1/addresses/{HARD}/verified",
        json={"method": "email_link"},
        headers=token(sqlite_engine, scope=Scope.READ),
    )
    body = assert_error(response, 403, "forbidden")
    assert "verify scope" in body["message"]
    assert confirmation_history(sqlite_engine, HARD) == []


def test_a_verify_token_may_also_read(client: TestClient, sqlite_engine: Engine) -> None:
    headers = token(sqlite_engine, scope=Scope.VERIFY)
    assert client.get(f"/v1/addresses/{CLEAN}", headers=headers).status_code == 200


def test_a_token_over_its_rate_limit_gets_429_with_retry_after(sqlite_engine: Engine) -> None:
    settings = Settings(actor="tester", api_rate_limit=2, api_rate_window_seconds=60)
    headers = token(sqlite_engine)
    other = token(sqlite_engine, "other")
    with client_for(sqlite_engine, settings) as client:
        for _ in range(2):
            assert client.get(f"/v1/addresses/{CLEAN}", headers=headers).status_code == 200
        response = client.get(f"/v1/addresses/{CLEAN}", headers=headers)
        assert_error(response, 429, "rate_limited")
        assert 1 <= int(response.headers["retry-after"]) <= 60
        # the limit is per token
        assert client.get(f"/v1/addresses/{CLEAN}", headers=other).status_code == 200


def test_an_unknown_path_is_a_json_404(client: TestClient) -> None:
    assert_error(client.get("/v1/nothing-here"), 404, "not_found")


def test_the_openapi_schema_and_its_pages_are_served(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert set(schema["paths"]) == {
        "/v1/health",
        "/v1/addresses/{email}",
        "/v1/addresses/{email}/verified",
        "/v1/recipients/check",
        "/v1/exclusions",
    }
    assert "bearer" in json.dumps(schema["components"]["securitySchemes"]).lower()
    assert "swagger" in client.get("/docs").text.lower()


# --- One address ---------------------------------------------------------------------------


def test_an_address_that_hard_bounced_is_not_mailable_and_the_user_is_asked(
    engine: Engine,
) -> None:
    ingest(engine, make_bounce([HARD], diagnostic="smtp; 550 5.1.1 user unknown"))
    with client_for(engine) as client:
        response = client.get(f"/v1/addresses/{HARD}", headers=token(engine))
    assert response.status_code == 200
    body = response.json()
    assert body["mailable"] is False
    assert body["reasons"] == mailing_status(engine, HARD, SETTINGS).reasons
    assert "hard bounce" in body["reasons"][0]
    assert body["prompt_reverify"] is True
    assert body["last_bounce"]["type"] == "Permanent"
    assert body["last_bounce"]["subtype"] == "General"
    assert body["last_bounce"]["diagnostic"] == "smtp; 550 5.1.1 user unknown"
    assert body["suppressed"] is None


def test_a_suppressed_address_says_since_when_and_why(
    client: TestClient, sqlite_engine: Engine
) -> None:
    list_as_suppressed(sqlite_engine, HARD, "COMPLAINT")
    body = client.get(f"/v1/addresses/{HARD}", headers=token(sqlite_engine)).json()
    assert body["suppressed"] == {"reason": "COMPLAINT", "since": "2026-10-02T00:00:00"}
    assert body["mailable"] is False
    assert body["prompt_reverify"] is True


def test_an_address_confirmed_after_its_bounce_is_mailable_and_not_asked_again(
    client: TestClient, sqlite_engine: Engine
) -> None:
    ingest(sqlite_engine, make_bounce([HARD]))
    verify = token(sqlite_engine, "login", Scope.VERIFY)
    client.post(f"/v1/addresses/{HARD}/verified", json={"method": "email_link"}, headers=verify)
    body = client.get(f"/v1/addresses/{HARD}", headers=verify).json()
    assert body["mailable"] is True
    assert body["prompt_reverify"] is False
    assert body["confirmed_valid_at"] is not None


def test_an_unknown_address_is_mailable(client: TestClient, sqlite_engine: Engine) -> None:
    body = client.get(f"/v1/addresses/{CLEAN}", headers=token(sqlite_engine)).json()
    assert (body["mailable"], body["prompt_reverify"], body["last_bounce"]) == (True, False, None)


def test_a_bad_address_is_422_without_echoing_it(client: TestClient, sqlite_engine: Engine) -> None:
    response = client.get("/v1/addresses/<script>alert(1)<script>", headers=token(sqlite_engine))
    body = assert_error(response, 422, "invalid")
    assert "<script>" not in response.text
    assert body["fields"] == ["path.email"]


# --- The bulk check ------------------------------------------------------------------------


def test_the_check_lists_what_a_mailing_must_skip_with_reasons(engine: Engine) -> None:
    ingest(engine, make_bounce([HARD]), make_complaint(["angry@example.com"]))
    addresses = [CLEAN, HARD, "not an address", "angry@EXAMPLE.com"]
    with client_for(engine) as client:
        response = client.post(
            "/v1/recipients/check", json={"addresses": addresses}, headers=token(engine)
        )
    assert response.status_code == 200
    body = response.json()
    assert (body["checked"], body["skip_count"]) == (4, 3)
    skip = {row["input"]: row for row in body["skip"]}
    assert set(skip) == {HARD, "not an address", "angry@EXAMPLE.com"}
    assert skip[HARD]["reasons"] == mailing_status(engine, HARD, SETTINGS).reasons
    assert skip["not an address"] == {
        "input": "not an address",
        "address": None,
        "reasons": ["not a valid email address"],
    }
    assert skip["angry@EXAMPLE.com"]["address"] == "angry@example.com"
    assert skip["angry@EXAMPLE.com"]["reasons"][0].startswith("complaint on")
    [entry] = audit_rows(engine, "export.recipients_check")
    assert entry.actor == "token:crm"
    assert entry.outcome == "3 of 4 to skip"


def test_the_check_is_one_query_per_chunk_not_one_per_address(sqlite_engine: Engine) -> None:
    addresses = [f"user{i}@example.com" for i in range(1200)]
    ingest(sqlite_engine, make_bounce(addresses[:50]))
    headers = token(sqlite_engine)
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    with client_for(sqlite_engine) as client:
        event.listen(sqlite_engine, "before_cursor_execute", count)
        try:
            response = client.post(
                "/v1/recipients/check", json={"addresses": addresses}, headers=headers
            )
        finally:
            event.remove(sqlite_engine, "before_cursor_execute", count)
    assert response.json()["skip_count"] == 50
    # three chunks of 500 plus the token lookup
    assert len(statements) <= 5, statements


def test_more_than_ten_thousand_addresses_are_refused(
    client: TestClient, sqlite_engine: Engine
) -> None:
    addresses = [f"u{i}@example.com" for i in range(10_001)]
    response = client.post(
        "/v1/recipients/check", json={"addresses": addresses}, headers=token(sqlite_engine)
    )
    body = assert_error(response, 422, "invalid")
    assert body["fields"] == ["body.addresses"]


@pytest.mark.parametrize(
    "payload", ['{"addresses": "a@example.com"}', "{not json", '{"emails": []}']
)
def test_a_bad_body_is_a_json_422(client: TestClient, sqlite_engine: Engine, payload: str) -> None:
    headers = {**token(sqlite_engine), "Content-Type": "application/json"}
    response = client.post("/v1/recipients/check", content=payload, headers=headers)
    assert_error(response, 422, "invalid")


# --- The user re-verified ------------------------------------------------------------------


def test_a_verification_is_a_confirmation_in_the_tokens_name(engine: Engine) -> None:
    ingest(engine, make_bounce([HARD]))
    with client_for(engine) as client:
        response = client.post(
            f"/v1/addresses/{HARD}/verified",
            json={"method": "email_link", "note": "clicked the link in the login mail"},
            headers=token(engine, "login", Scope.VERIFY),
        )
    assert response.status_code == 200
    body = response.json()
    assert body["confirmation"] == "confirmed"
    assert body["confirmed"] is True
    assert body["removal"] is None
    assert "auto_remove_on_reverify is off" in body["removal_detail"]
    [entry] = confirmation_history(engine, HARD)
    assert entry.actor == "token:login"
    assert entry.note == "re-verified by the user (email_link): clicked the link in the login mail"
    [audited] = audit_rows(engine, "confirmation.confirm")
    assert audited.actor == "token:login"


def test_a_second_verification_says_it_was_already_confirmed(
    client: TestClient, sqlite_engine: Engine
) -> None:
    headers = token(sqlite_engine, "login", Scope.VERIFY)
    for expected in ("confirmed", "already_confirmed"):
        response = client.post(
            f"/v1/addresses/{HARD}/verified", json={"method": "code"}, headers=headers
        )
        assert response.json()["confirmation"] == expected


@pytest.mark.parametrize("body", [{}, {"method": ""}, {"method": "x" * 65}, {"method": "  "}])
def test_a_verification_needs_a_method(
    client: TestClient, sqlite_engine: Engine, body: dict[str, str]
) -> None:
    response = client.post(
        f"/v1/addresses/{HARD}/verified",
        json=body,
        headers=token(sqlite_engine, "login", Scope.VERIFY),
    )
    assert_error(response, 422, "invalid")
    assert confirmation_history(sqlite_engine, HARD) == []


def test_auto_removal_is_not_tried_for_an_address_the_mirror_does_not_list(
    sqlite_engine: Engine,
) -> None:
    def no_ses() -> Any:
        raise AssertionError("SES must not be asked")

    settings = Settings(actor="tester", auto_remove_on_reverify=True)
    with client_for(sqlite_engine, settings, gateway_factory=no_ses) as client:
        response = client.post(
            f"/v1/addresses/{HARD}/verified",
            json={"method": "code"},
            headers=token(sqlite_engine, "login", Scope.VERIFY),
        )
    assert response.json()["removal"] is None
    assert "not on the SES suppression list" in response.json()["removal_detail"]


# --- The exclusion list --------------------------------------------------------------------


def test_the_exclusion_list_pages_with_a_cursor_and_is_audited(engine: Engine) -> None:
    excluded = ["a@example.com", "b@example.com", "c@example.com"]
    ingest(engine, make_bounce(excluded))
    headers = token(engine)
    with client_for(engine) as client:
        first = client.get("/v1/exclusions?limit=2", headers=headers)
        assert first.headers["content-type"] == "application/x-ndjson"
        rows = [json.loads(line) for line in first.text.splitlines()]
        assert [row["address"] for row in rows] == excluded[:2]
        assert "hard bounce" in rows[0]["reason"]
        cursor = first.headers["x-next-cursor"]
        second = client.get(f"/v1/exclusions?limit=2&cursor={cursor}", headers=headers)
    assert [json.loads(line)["address"] for line in second.text.splitlines()] == excluded[2:]
    assert "x-next-cursor" not in second.headers
    entries = audit_rows(engine, "export.exclusions")
    assert [(e.actor, e.outcome) for e in entries] == [
        ("token:crm", "2 rows"),
        ("token:crm", "1 rows"),
    ]


def test_the_exclusion_list_as_csv_is_formula_safe(
    client: TestClient, sqlite_engine: Engine
) -> None:
    ingest(sqlite_engine, make_bounce(["=cmd@example.com"]))
    response = client.get("/v1/exclusions?format=csv", headers=token(sqlite_engine))
    assert response.headers["content-type"].startswith("text/csv")
    lines = response.text.splitlines()
    assert lines[0] == "address,reason,since"
    assert lines[1].startswith("'=cmd@example.com")


@pytest.mark.parametrize("query", ["cursor=%%%", "limit=0", "limit=50001", "format=xml"])
def test_bad_exclusion_parameters_are_422(
    client: TestClient, sqlite_engine: Engine, query: str
) -> None:
    assert_error(
        client.get(f"/v1/exclusions?{query}", headers=token(sqlite_engine)), 422, "invalid"
    )


def test_a_body_that_is_not_utf8_is_a_json_422(client: TestClient, sqlite_engine: Engine) -> None:
    headers = {**token(sqlite_engine), "Content-Type": "application/json"}
    response = client.post("/v1/recipients/check", content=b"\xff\xfe\x00", headers=headers)
    assert assert_error(response, 422, "invalid")["fields"] == ["body"]
