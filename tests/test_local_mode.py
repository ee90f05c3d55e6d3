"""core.local_mode: whom the dashboard answers without sign-in (DNS rebinding, proxies)."""

from __future__ import annotations

import pytest

from core.access import Role
from core.local_mode import (
    DEFAULT_SERVER_OPTIONS,
    describe_local_mode,
    request_refusal,
    server_refusal,
)
from core.settings import Settings

# Every value these rules read, given (the environment must not decide a test).
LAPTOP = Settings(
    actor="ops", local_role=Role.OPERATOR, local_mode=None, allow_remote_local_mode=False
)
DECIDED = LAPTOP.model_copy(update={"local_mode": True})
FORCED = LAPTOP.model_copy(update={"allow_remote_local_mode": True})


def browser(host: str, origin: str | None = None) -> dict[str, str]:
    """The headers of a browser's websocket request (the ones that matter here)."""
    headers = {"Host": host, "User-Agent": "Mozilla/5.0", "Sec-WebSocket-Version": "13"}
    return headers if origin is None else {**headers, "Origin": origin}


@pytest.mark.parametrize(
    ("host", "origin"),
    [
        ("127.0.0.1:8501", "http://127.0.0.1:8501"),
        ("[::1]:8501", "http://[::1]:8501"),
        ("localhost:8501", "http://localhost:8501"),
        ("LocalHost:8501", "http://LOCALHOST:8501"),
        ("localhost", "http://localhost"),
        ("127.0.0.1:8501", None),  # not a browser (browsers always send Origin): no rebinding
    ],
)
def test_local_mode_answers_a_page_opened_as_this_machine(host: str, origin: str | None) -> None:
    assert request_refusal(browser(host, origin), LAPTOP) is None


@pytest.mark.parametrize(
    ("host", "origin"),
    [
        ("evil.example:8501", "http://evil.example:8501"),  # a name rebound to 127.0.0.1
        ("127.0.0.1:8501", "http://evil.example:8501"),  # a Host a proxy rewrote
        ("localhost.evil.example:8501", "http://localhost.evil.example:8501"),
        ("127.0.0.1.nip.io:8501", "http://127.0.0.1.nip.io:8501"),
        ("127.0.0.1:8501@evil.example", "http://127.0.0.1:8501"),
        ("127.0.0.1:8501", "null"),  # a sandboxed frame or a file: page
        ("", "http://127.0.0.1:8501"),
        ("[::1", "http://[::1"),
    ],
)
def test_local_mode_refuses_a_page_opened_under_any_other_name(host: str, origin: str) -> None:
    refusal = request_refusal(browser(host, origin), LAPTOP)
    assert refusal is not None and "Open it as http://127.0.0.1:PORT" in refusal
    assert request_refusal(browser(host, origin), DECIDED) is not None, "local_mode is no excuse"


def test_a_refusal_says_how_the_page_was_opened() -> None:
    refusal = request_refusal(browser("evil.example:8501", "http://evil.example:8501"), LAPTOP)
    assert refusal is not None
    assert refusal.startswith("This page was opened as http://evil.example:8501.")
    headers = {"host": "evil.example:8501", "accept": "*/*"}
    refusal = request_refusal(headers, LAPTOP)
    assert refusal is not None and "opened as host evil.example:8501" in refusal


def test_without_any_request_headers_there_is_no_browser_to_refuse() -> None:
    assert request_refusal({}, LAPTOP) is None


def test_allow_remote_local_mode_answers_any_name_someone_decided_to_serve() -> None:
    headers = browser("bounce-desk.corp.example", "https://bounce-desk.corp.example")
    assert request_refusal({**headers, "X-Forwarded-For": "10.1.2.3"}, FORCED) is None


@pytest.mark.parametrize(
    "header", ["X-Forwarded-For", "x-forwarded-host", "Forwarded", "X-Real-IP"]
)
def test_a_request_through_a_proxy_needs_local_mode_set_on_purpose(header: str) -> None:
    headers = {**browser("127.0.0.1:8501", "http://127.0.0.1:8501"), header: "203.0.113.7"}
    refusal = request_refusal(headers, LAPTOP)
    assert refusal is not None and header.lower() in refusal
    assert "anyone that proxy lets through would act as ops" in refusal
    assert "local_mode = true" in refusal
    assert request_refusal(headers, DECIDED) is None


def test_a_proxy_that_passes_the_public_origin_is_refused_even_with_local_mode_true() -> None:
    headers = {
        **browser("127.0.0.1:8501", "https://bounce-desk.corp.example"),
        "X-Forwarded-For": "203.0.113.7",
    }
    assert request_refusal(headers, DECIDED) is not None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("server.port", 8080),
        ("server.baseUrlPath", "desk"),
        ("server.enableCORS", False),
        ("server.enableXsrfProtection", False),
    ],
)
def test_a_server_not_set_up_as_on_a_laptop_needs_local_mode_set_on_purpose(
    name: str, value: object
) -> None:
    options = {**DEFAULT_SERVER_OPTIONS, name: value}
    refusal = server_refusal("127.0.0.1", options, LAPTOP)
    assert refusal is not None and f"{name}={value!r}" in refusal
    assert "would act as ops with the operator role" in refusal
    assert "local_mode = true (BOUNCEDESK_LOCAL_MODE)" in refusal
    assert server_refusal("127.0.0.1", options, DECIDED) is None


def test_a_laptop_set_up_runs_local_mode_without_any_setting() -> None:
    assert server_refusal("127.0.0.1", DEFAULT_SERVER_OPTIONS, LAPTOP) is None
    slash = {**DEFAULT_SERVER_OPTIONS, "server.baseUrlPath": "/"}
    assert server_refusal("localhost", slash, LAPTOP) is None


def test_local_mode_true_does_not_open_a_network_address() -> None:
    refusal = server_refusal("0.0.0.0", DEFAULT_SERVER_OPTIONS, DECIDED)
    assert refusal is not None and "allow_remote_local_mode" in refusal


def test_local_mode_false_needs_sign_in_even_where_local_mode_would_run() -> None:
    for settings in (LAPTOP, FORCED):
        settings = settings.model_copy(update={"local_mode": False})
        refusal = server_refusal("127.0.0.1", DEFAULT_SERVER_OPTIONS, settings)
        assert refusal is not None and "needs sign-in" in refusal


def test_the_start_up_line_says_who_acts_and_for_whom() -> None:
    assert describe_local_mode(DEFAULT_SERVER_OPTIONS, LAPTOP) == (
        "Sign-in is off (local mode): everyone it answers acts as ops with the operator role; "
        "served only to browsers on this machine (127.0.0.1, ::1, localhost)."
    )
    moved = {**DEFAULT_SERVER_OPTIONS, "server.port": 8080}
    assert "local_mode = true although server.port=8080" in describe_local_mode(moved, DECIDED)
    assert "on any address and host name" in describe_local_mode(DEFAULT_SERVER_OPTIONS, FORCED)
