"""Small builders for SES notifications, shaped like the AWS documentation examples.

Every builder returns the SES JSON as a dict with sensible defaults and unique ids, so a
test names only what it is about: ``make_bounce(["a@example.com"], bounce_type="Transient")``.
`ingest` stores payloads through the real ingestion path (`core.ingest.pipeline.Ingester`).
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from core.access import Actor, Role
from core.ingest.pipeline import Ingester, IngestSummary, Item

DEFAULT_AT = datetime(2026, 10, 1, 9, 30)


def person(name: str = "ops", role: Role = Role.OPERATOR) -> Actor:
    """Someone acting through core; the audit log records `name`."""
    return Actor(name, role, contact="ses-admins@qube.example")


OPS = person("ops")
ADMIN = person("admin", Role.ADMIN)
VIEWER = person("support", Role.VIEWER)
SENDER = "no-reply@qube.example"
_counter = itertools.count(1)
DIAGNOSTICS = {
    "Permanent": "smtp; 550 5.1.1 user unknown",
    "Transient": "smtp; 452 4.2.2 mailbox full",
}


def _iso(at: datetime | None) -> str:
    """SES writes UTC with milliseconds and a Z; naive datetimes here mean UTC."""
    at = at or DEFAULT_AT
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def _mail(recipients: Sequence[str], at: datetime | None, message_id: str | None) -> dict:
    return {
        "timestamp": _iso(at),
        "source": SENDER,
        "sourceArn": "arn:aws:ses:ap-northeast-1:123456789012:identity/qube.example",
        "sendingAccountId": "123456789012",
        "messageId": message_id or f"0000-{uuid.uuid4()}-000000",
        "destination": list(recipients),
        "headersTruncated": False,
        "commonHeaders": {"from": [SENDER], "to": list(recipients), "subject": "Qube news"},
    }


def _family(payload_type: str, event: bool) -> dict[str, str]:
    return {"eventType": payload_type} if event else {"notificationType": payload_type}


def make_bounce(
    recipients: Sequence[str] = ("user@example.com",),
    *,
    bounce_type: str = "Permanent",
    subtype: str = "General",
    at: datetime | None = None,
    diagnostic: str | None = "",
    message_id: str | None = None,
    event: bool = False,
) -> dict[str, Any]:
    """A Bounce notification (feedback family; `event=True` for event publishing).
    `diagnostic=None` leaves out the DSN fields, as SES does when no DSN was attached."""
    status = "5.1.1" if bounce_type == "Permanent" else "4.2.2"
    if diagnostic == "":
        diagnostic = DIAGNOSTICS.get(bounce_type, "smtp; 554 5.0.0 undetermined")
    bounced = []
    for address in recipients:
        item: dict[str, Any] = {"emailAddress": address}
        if diagnostic is not None:
            item.update(action="failed", status=status, diagnosticCode=diagnostic)
        bounced.append(item)
    return {
        **_family("Bounce", event),
        "bounce": {
            "bounceType": bounce_type,
            "bounceSubType": subtype,
            "bouncedRecipients": bounced,
            "timestamp": _iso(at),
            "feedbackId": f"fb-bounce-{next(_counter)}-{uuid.uuid4()}",
            "reportingMTA": "dns; mx.example.com",
        },
        "mail": _mail(recipients, at, message_id),
    }


def make_complaint(
    recipients: Sequence[str] = ("user@example.com",),
    *,
    at: datetime | None = None,
    feedback_type: str | None = "abuse",
    subtype: str | None = None,
    event: bool = False,
) -> dict[str, Any]:
    """A Complaint notification; `subtype="OnAccountSuppressionList"` for a suppressed one."""
    complaint: dict[str, Any] = {
        "complainedRecipients": [{"emailAddress": a} for a in recipients],
        "timestamp": _iso(at),
        "feedbackId": f"fb-complaint-{next(_counter)}-{uuid.uuid4()}",
        "complaintSubType": subtype,
    }
    if feedback_type is not None:
        complaint["complaintFeedbackType"] = feedback_type
    return {
        **_family("Complaint", event),
        "complaint": complaint,
        "mail": _mail(recipients, at, None),
    }


def make_delivery(
    recipients: Sequence[str] = ("user@example.com",),
    *,
    at: datetime | None = None,
    event: bool = False,
) -> dict[str, Any]:
    """A Delivery notification for every recipient."""
    return {
        **_family("Delivery", event),
        "delivery": {
            "timestamp": _iso(at),
            "recipients": list(recipients),
            "processingTimeMillis": 512,
            "smtpResponse": "250 ok",
            "reportingMTA": "a8-70.smtp-out.amazonses.com",
        },
        "mail": _mail(recipients, at, None),
    }


def make_send(
    recipients: Sequence[str] = ("user@example.com",), *, at: datetime | None = None
) -> dict[str, Any]:
    """A Send event (event publishing only): one per message, one fact per recipient."""
    return {"eventType": "Send", "mail": _mail(recipients, at, None), "send": {}}


def sns_envelope(payload: dict[str, Any], *, message_id: str | None = None) -> dict[str, Any]:
    """The SNS HTTP/SQS envelope around an SES payload (unsigned)."""
    return {
        "Type": "Notification",
        "MessageId": message_id or str(uuid.uuid4()),
        "TopicArn": "arn:aws:sns:ap-northeast-1:123456789012:ses-bounces",
        "Message": json.dumps(payload),
        "Timestamp": _iso(datetime.now(UTC)),
        "SignatureVersion": "1",
        "Signature": "EXAMPLE",
        "SigningCertURL": "https://sns.ap-northeast-1.amazonaws.com/cert.pem",
        "UnsubscribeURL": "https://sns.ap-northeast-1.amazonaws.com/?Action=Unsubscribe",
    }


def ingest(engine: Engine, *payloads: dict[str, Any]) -> IngestSummary:
    """Store payloads through the real ingestion path, as the file entry point would."""
    items = [
        Item(json.dumps(p, ensure_ascii=False).encode(), f"test#{i}")
        for i, p in enumerate(payloads)
    ]
    summary = Ingester(engine, entry_point="file").ingest(items, source="tests")
    assert summary.dead_lettered == 0, "a factory payload was dead-lettered"
    return summary
