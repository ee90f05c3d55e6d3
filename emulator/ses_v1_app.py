"""SES v1 GetSendStatistics, GetSendQuota and the identity notification topics with the
emulator's data (query protocol, XML).

moto answers GetSendStatistics with one all-zero data point; the dashboard needs the real
shape: 15-minute buckets of the last two weeks. moto's GetIdentityNotificationAttributes never
returns the topics SetIdentityNotificationTopic set, so both are answered here (`bouncedesk
doctor` reads them). The XML follows what moto (and SES) send.
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

ACTIONS = (
    "GetSendStatistics",
    "GetSendQuota",
    "SetIdentityNotificationTopic",
    "GetIdentityNotificationAttributes",
)
NOTIFICATION_TYPES = ("Bounce", "Complaint", "Delivery")
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
        form = parse_qs(environ["wsgi.input"].read(length).decode("utf-8", errors="replace"))
        action = (form.get("Action") or ["GetSendQuota"])[0]
        result: str | None
        if action == "GetSendStatistics":
            result = self.send_statistics()
        elif action == "SetIdentityNotificationTopic":
            result = self.set_notification_topic(form)
        elif action == "GetIdentityNotificationAttributes":
            result = self.notification_attributes(form)
        else:
            result = self.send_quota()
        if result is None:
            return _invalid_parameter(action)(environ, start_response)
        return _xml_response(action, result)(environ, start_response)

    def set_notification_topic(self, form: dict[str, list[str]]) -> str | None:
        identity = (form.get("Identity") or [""])[0]
        kind = (form.get("NotificationType") or [""])[0]
        if not identity or kind not in NOTIFICATION_TYPES:
            return None
        topic = form.get("SnsTopic")
        self.state.set_notification_topic(identity, kind, topic[0] if topic else None)
        return ""

    def notification_attributes(self, form: dict[str, list[str]]) -> str:
        names = sorted(
            (key for key in form if key.startswith("Identities.member.")),
            key=lambda key: int(key.rsplit(".", 1)[1]),
        )
        entries = []
        for identity in (form[key][0] for key in names):
            topics = self.state.notification_topics(identity)
            values = "".join(
                f"<{kind}Topic>{escape(topics[kind])}</{kind}Topic>"
                for kind in NOTIFICATION_TYPES
                if kind in topics
            )
            entries.append(
                f"<entry><key>{escape(identity)}</key><value>{values}"
                "<ForwardingEnabled>true</ForwardingEnabled>"
                "<HeadersInBounceNotificationsEnabled>false</HeadersInBounceNotificationsEnabled>"
                "<HeadersInComplaintNotificationsEnabled>false"
                "</HeadersInComplaintNotificationsEnabled>"
                "<HeadersInDeliveryNotificationsEnabled>false"
                "</HeadersInDeliveryNotificationsEnabled>"
                "</value></entry>"
            )
        return f"<NotificationAttributes>{''.join(entries)}</NotificationAttributes>"

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


def _invalid_parameter(action: str) -> Response:
    request_id = new_request_id()
    body = (
        f'<ErrorResponse xmlns="{_NS}"><Error><Type>Sender</Type>'
        "<Code>InvalidParameterValue</Code>"
        f"<Message>{escape(action)}: Identity and NotificationType (Bounce, Complaint or "
        "Delivery) are required</Message></Error>"
        f"<RequestId>{escape(request_id)}</RequestId></ErrorResponse>"
    )
    return Response(body, status=400, content_type="text/xml")


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
