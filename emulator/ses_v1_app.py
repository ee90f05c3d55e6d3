"""SES v1 GetSendStatistics and GetSendQuota with the emulator's numbers (query protocol, XML).

moto answers GetSendStatistics with one all-zero data point; the dashboard needs the real
shape: 15-minute buckets of the last two weeks. The XML follows what moto (and SES) send.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from werkzeug.wrappers import Response

from emulator.errors import new_request_id
from emulator.state import EmulatorState

ACTIONS = ("GetSendStatistics", "GetSendQuota")
_NS = "http://ses.amazonaws.com/doc/2010-12-01/"


def form_action(body: bytes) -> str | None:
    """The ``Action`` of a query-protocol form body, if any."""
    values = parse_qs(body.decode("utf-8", errors="replace")).get("Action")
    return values[0] if values else None


class SesV1App:
    """A WSGI app for the two SES v1 actions; the dispatcher sends only those here."""

    def __init__(self, state: EmulatorState, clock: Callable[[], float] = time.time) -> None:
        self.state = state
        self.clock = clock

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        action = form_action(environ["wsgi.input"].read(length))
        result = self.send_statistics() if action == "GetSendStatistics" else self.send_quota()
        return _xml_response(action or "GetSendQuota", result)(environ, start_response)

    def send_statistics(self) -> str:
        with self.state.locked() as state:
            buckets = state.statistics.window(self.clock())
        members = "".join(
            "<member>"
            f"<Timestamp>{_iso(start)}</Timestamp>"
            f"<DeliveryAttempts>{b.delivery_attempts}</DeliveryAttempts>"
            f"<Bounces>{b.bounces}</Bounces>"
            f"<Complaints>{b.complaints}</Complaints>"
            f"<Rejects>{b.rejects}</Rejects>"
            "</member>"
            for start, b in buckets
        )
        return f"<SendDataPoints>{members}</SendDataPoints>"

    def send_quota(self) -> str:
        with self.state.locked() as state:
            account = state.account
            sent = state.statistics.sent_since(self.clock() - 24 * 3600)
        return (
            f"<Max24HourSend>{account.max_24_hour_send}</Max24HourSend>"
            f"<MaxSendRate>{account.max_send_rate}</MaxSendRate>"
            f"<SentLast24Hours>{float(sent)}</SentLast24Hours>"
        )


def _xml_response(action: str, result: str) -> Response:
    request_id = new_request_id()
    body = (
        f'<{action}Response xmlns="{_NS}"><{action}Result>{result}</{action}Result>'
        f"<ResponseMetadata><RequestId>{escape(request_id)}</RequestId></ResponseMetadata>"
        f"</{action}Response>"
    )
    return Response(body, content_type="text/xml", headers={"x-amzn-RequestId": request_id})


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
