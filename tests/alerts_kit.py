"""Builders for the alerts tests: streams of mail per configuration set, a checker with no
channels, and a real HTTP receiver on 127.0.0.1 that records what apprise posts."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy import Engine

from core.alerts.channels import Notifier
from core.alerts.checker import AlertChecker
from core.settings import load_settings
from tests.factories import ingest, make_bounce, make_complaint, make_send

TODAY = date(2026, 10, 20)
NOON = datetime(2026, 10, 20, 12, 0)


def tagged(payload: dict[str, Any], configuration_set: str | None) -> dict[str, Any]:
    """An event-publishing payload as SES sends it for a configuration set."""
    if configuration_set is not None:
        payload["mail"]["tags"] = {"ses:configuration-set": [configuration_set]}
    return payload


def send(
    engine: Engine, sends: int, bounces: int = 0, *, stream: str | None = None,
    day: date = TODAY, complaints: int = 0, domain: str = "example.com", start: int = 0,
) -> None:  # fmt: skip
    """`sends` Send events and `bounces` hard bounces (and complaints) on one day."""
    at = datetime.combine(day, datetime.min.time()) + timedelta(hours=9)
    names = [f"u{start + i}-{stream or 'none'}-{day:%m%d}@{domain}" for i in range(sends)]
    payloads = []
    if sends:
        payloads.append(tagged(make_send(names, at=at), stream))
    if bounces:
        payloads.append(tagged(make_bounce(names[:bounces], at=at, event=True), stream))
    if complaints:
        payloads.append(tagged(make_complaint(names[-complaints:], at=at, event=True), stream))
    ingest(engine, *payloads)


def checker(engine: Engine, notifier: Notifier | None = None, **settings: Any) -> AlertChecker:
    values = {"alert_silence_hours": 0, "alert_dead_letters": 0, **settings}
    loaded = load_settings(database_url="sqlite://", **values)
    return AlertChecker.from_settings(loaded, engine, None, notifier)


@dataclass
class Receiver:
    """A JSON webhook on 127.0.0.1: records each POST; `status` and `delay` shape its answer."""

    port: int = 0
    status: int = 200
    delay: float = 0.0
    bodies: list[dict[str, Any]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/hook"


@contextmanager
def receiving(status: int = 200, delay: float = 0.0) -> Iterator[Receiver]:
    receiver = Receiver(status=status, delay=delay)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server name
            length = int(self.headers.get("Content-Length", 0))
            receiver.bodies.append(json.loads(self.rfile.read(length) or b"{}"))
            if receiver.delay:
                time.sleep(receiver.delay)
            self.send_response(receiver.status)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
