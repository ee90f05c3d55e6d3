"""The API as it runs: a real `bouncedesk api` process on 127.0.0.1, and the Lambda
handler (Mangum) with a function-URL event."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from api import lambda_handler
from core.store.db import make_engine
from core.tokens import Scope, create_token
from tests.factories import ADMIN, ingest, make_bounce
from tests.processes import in_fresh_thread

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'api.db'}"
    engine = make_engine(url)
    ingest(engine, make_bounce(["hard@example.com"]))
    engine.dispose()
    return url


@pytest.fixture
def server(database: str, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "BOUNCEDESK_DATABASE_URL": database}
    log = (tmp_path / "api.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "core", "api", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{base}/v1/health", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError((tmp_path / "api.log").read_text())
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def test_a_real_api_process_answers_on_loopback(server: str, database: str) -> None:
    engine = make_engine(database)
    made = create_token(engine, "crm", Scope.READ, actor=ADMIN)
    engine.dispose()
    headers = {"Authorization": f"Bearer {made.token}"}
    response = requests.get(f"{server}/v1/addresses/hard@example.com", headers=headers, timeout=5)
    assert response.status_code == 200
    assert response.json()["mailable"] is False
    check = requests.post(
        f"{server}/v1/recipients/check",
        json={"addresses": ["hard@example.com", "fine@example.com"]},
        headers=headers,
        timeout=5,
    )
    assert [row["input"] for row in check.json()["skip"]] == ["hard@example.com"]
    assert requests.get(f"{server}/v1/addresses/hard@example.com", timeout=5).status_code == 401
    assert requests.get(f"{server}/openapi.json", timeout=5).json()["info"]["title"]


def test_the_lambda_handler_answers_a_function_url_event(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOUNCEDESK_DATABASE_URL", database)
    lambda_handler._adapter.cache_clear()
    engine = make_engine(database)
    made = create_token(engine, "lambda", Scope.READ, actor=ADMIN)
    engine.dispose()
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/v1/addresses/hard@example.com",
        "rawQueryString": "",
        "headers": {"authorization": f"Bearer {made.token}", "host": "x.lambda-url.aws"},
        "requestContext": {
            "http": {
                "method": "GET",
                "path": "/v1/addresses/hard@example.com",
                "sourceIp": "203.0.113.9",
                "protocol": "HTTP/1.1",
            },
            "stage": "$default",
        },
        "isBase64Encoded": False,
    }
    try:
        response = in_fresh_thread(lambda: lambda_handler.handler(event, None))
    finally:
        lambda_handler._adapter.cache_clear()
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["mailable"] is False
