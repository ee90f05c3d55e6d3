"""SES notification JSON for a demo event, in the exact shapes of the AWS documentation.

Two families, as in the project's shared samples folder: event publishing (``eventType``, mail with
``tags``, serialized with a trailing newline like the real messages) and feedback
notifications (``notificationType``, mail with ``sourceIp``/``callerIdentity``). The SNS
Subject follows what SES sets: "Amazon SES Email Event Notification" for event publishing,
none for feedback notifications. IP addresses come from the documentation ranges.
"""

from __future__ import annotations

import base64
import json
import random
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

from emulator import ACCOUNT_ID, REGION
from emulator.demo.history import Event
from emulator.demo.people import User

EVENT_SUBJECT = "Amazon SES Email Event Notification"
JST = timezone(timedelta(hours=9))
SENDER = ("Qube", "no-reply@qube.example")
CAMPAIGN_SENDER = ("Qube ニュース", "news@qube.example")
SUBJECTS = [
    "【Qube】パスワード再設定のご案内",
    "【Qube】ログインのお知らせ",
    "【Qube】請求書発行のお知らせ",
    "【Qube】メンテナンスのお知らせ",
    "【Qube】月次ご利用レポート",
    "【Qube】新しいコメントが届いています",
]
CAMPAIGN_SUBJECT = "【Qube】お久しぶりです。新しくなったQubeのご案内"
SES_DIAGNOSTICS = {
    "Suppressed": (
        "Amazon SES has suppressed sending to this address because it has a recent history of "
        "bouncing as an invalid address. For more information about how to remove an address "
        "from the suppression list, see the Amazon SES Developer Guide: "
        "http://docs.aws.amazon.com/ses/latest/DeveloperGuide/remove-from-suppressionlist.html "
    ),
    "OnAccountSuppressionList": (
        "Amazon SES did not send the message to this address because it is on the suppression "
        "list for your account. For more information about removing addresses from the "
        "suppression list, see the Amazon SES Developer Guide at "
        "https://docs.aws.amazon.com/ses/latest/DeveloperGuide/sending-email-suppression-list.html"
    ),
}
REMOTE_DIAGNOSTICS = {
    ("Permanent", "General"): ("5.1.1", "smtp; 550 5.1.1 user unknown"),
    ("Permanent", "NoEmail"): ("5.1.2", "smtp; 550 5.1.2 Host or domain name not found"),
    ("Transient", "MailboxFull"): ("5.2.2", "smtp; 552 5.2.2 Mailbox full"),
    ("Transient", "General"): (
        "4.4.7",
        "smtp; 554 4.4.7 Message expired: unable to deliver in 840 minutes."
        "<421 4.4.0 Unable to lookup DNS for the recipient domain>",
    ),
    ("Transient", "MessageTooLarge"): ("5.3.4", "smtp; 552 5.3.4 Message size exceeds limit"),
    ("Transient", "ContentRejected"): ("5.7.1", "smtp; 554 5.7.1 Message rejected as spam"),
}
MISCONFIGURED_DIAGNOSTIC = (
    "smtp; 550 5.1.1 <{address}>: Recipient address rejected: User unknown in virtual mailbox table"
)


def notification(
    event: Event, users: dict[str, User], rng: random.Random
) -> tuple[str, str | None]:
    """(SNS Message, SNS Subject) for one event."""
    kind_key = "eventType" if event.shape == "event" else "notificationType"
    body: dict[str, Any] = {kind_key: event.kind}
    detail = _detail(event, rng)
    mail = _mail(event, users, rng)
    if event.kind in ("Bounce", "Complaint"):
        body[event.kind.lower()] = detail
        body["mail"] = mail
    else:
        body["mail"] = mail
        body[event.kind.lower()] = detail
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    if event.shape == "event":
        return text + "\n", EVENT_SUBJECT
    return text, None


def _detail(event: Event, rng: random.Random) -> dict[str, Any]:
    if event.kind == "Bounce":
        return _bounce(event, rng)
    if event.kind == "Complaint":
        return _complaint(event, rng)
    if event.kind == "Delivery":
        return _delivery(event, rng)
    return {}


def _bounce(event: Event, rng: random.Random) -> dict[str, Any]:
    by_ses = event.bounce_subtype in ("Suppressed", "OnAccountSuppressionList", "NoEmail")
    with_dsn = event.bounce_type != "Undetermined" and (by_ses or rng.random() < 0.85)
    bounce: dict[str, Any] = {
        "bounceType": event.bounce_type,
        "bounceSubType": event.bounce_subtype,
        "bouncedRecipients": [_bounced_recipient(event, a, with_dsn) for a in event.recipients],
        "timestamp": _iso(event.timestamp),
        "feedbackId": event.feedback_id,
    }
    if with_dsn:
        bounce["reportingMTA"] = "dns; amazonses.com" if by_ses else _ses_mta(rng)
    if event.shape == "feedback" and not by_ses and event.bounce_type != "Undetermined":
        bounce["remoteMtaIp"] = f"203.0.113.{rng.randint(2, 250)}"
    return bounce


def _bounced_recipient(event: Event, address: str, with_dsn: bool) -> dict[str, str]:
    if not with_dsn:
        return {"emailAddress": address}
    subtype = event.bounce_subtype or ""
    if subtype in SES_DIAGNOSTICS:
        status, code = "5.1.1", SES_DIAGNOSTICS[subtype]
    elif event.misconfigured:
        status, code = "5.1.1", MISCONFIGURED_DIAGNOSTIC.format(address=address)
    else:
        status, code = REMOTE_DIAGNOSTICS[(event.bounce_type or "", subtype)]
    action = "delayed" if status.startswith("4") else "failed"
    return {"emailAddress": address, "action": action, "status": status, "diagnosticCode": code}


def _complaint(event: Event, rng: random.Random) -> dict[str, Any]:
    recipients = [{"emailAddress": a} for a in event.recipients]
    stamp = _iso(event.timestamp)
    if event.shape == "event":
        return {
            "feedbackId": event.feedback_id,
            "complaintSubType": None,
            "complainedRecipients": recipients,
            "timestamp": stamp,
            "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36",
            "complaintFeedbackType": "abuse",
            "arrivalDate": stamp,
        }
    if rng.random() < 0.4:  # ISPs do not always attach a feedback report
        return {
            "complainedRecipients": recipients,
            "timestamp": stamp,
            "feedbackId": event.feedback_id,
        }
    return {
        "userAgent": "AnyCompany Feedback Loop (V0.01)",
        "complainedRecipients": recipients,
        "complaintFeedbackType": rng.choice(["abuse", "abuse", "other"]),
        "arrivalDate": stamp,
        "timestamp": stamp,
        "feedbackId": event.feedback_id,
    }


def _delivery(event: Event, rng: random.Random) -> dict[str, Any]:
    delivery: dict[str, Any] = {
        "timestamp": _iso(event.timestamp),
        "processingTimeMillis": rng.randint(400, 6000),
        "recipients": list(event.recipients),
        "smtpResponse": "250 2.0.0 OK",
        "reportingMTA": _ses_mta(rng).removeprefix("dsn; "),
    }
    if event.shape == "feedback":
        delivery["remoteMtaIp"] = f"203.0.113.{rng.randint(2, 250)}"
    return delivery


def _mail(event: Event, users: dict[str, User], rng: random.Random) -> dict[str, Any]:
    sent = event.timestamp - _delay(event, rng)
    name, address = CAMPAIGN_SENDER if event.campaign else SENDER
    subject = CAMPAIGN_SUBJECT if event.campaign else rng.choice(SUBJECTS)
    to = [_named(users.get(a), a) for a in event.destination]
    mail: dict[str, Any] = {
        "timestamp": _iso(sent),
        "source": f"{name} <{address}>",
        "sourceArn": f"arn:aws:ses:{REGION}:{ACCOUNT_ID}:identity/qube.example",
        "sendingAccountId": ACCOUNT_ID,
        "messageId": event.message_id,
        "destination": list(event.destination),
        "headersTruncated": False,
        "headers": _headers(name, address, to, subject, sent),
        "commonHeaders": {
            "from": [f"{name} <{address}>"],
            "date": format_datetime(sent.astimezone(JST)),
            "to": [", ".join(to)],
            "messageId": event.message_id,
            "subject": subject,
        },
    }
    if event.shape == "event":
        mail["tags"] = _tags(event)
    else:
        mail = {**mail, "sourceIp": "198.51.100.23", "callerIdentity": "qube-mailer"}
    return mail


def _headers(
    name: str, address: str, to: list[str], subject: str, sent: datetime
) -> list[dict[str, str]]:
    pairs = [
        ("From", f"{_encoded(name)} <{address}>"),
        ("To", ", ".join(_encoded_address(t) for t in to)),
        ("Subject", _encoded(subject)),
        ("Date", format_datetime(sent.astimezone(JST))),
        ("MIME-Version", "1.0"),
        ("Content-Type", 'text/plain; charset="UTF-8"'),
        ("Content-Transfer-Encoding", "base64"),
    ]
    return [{"name": key, "value": value} for key, value in pairs]


def _tags(event: Event) -> dict[str, list[str]]:
    tags = {
        "ses:operation": ["SendEmail"],
        "ses:configuration-set": ["qube-default"],
        "ses:source-ip": ["198.51.100.23"],
        "ses:from-domain": ["qube.example"],
        "ses:caller-identity": ["qube-mailer"],
        "mail-category": ["campaign" if event.campaign else "transactional"],
    }
    if event.kind == "Delivery":
        tags["ses:outgoing-ip"] = ["192.0.2.44"]
    return tags


def _delay(event: Event, rng: random.Random) -> timedelta:
    if event.kind == "Complaint":
        return timedelta(minutes=rng.randint(5, 600))
    if event.kind == "Send":
        return timedelta(0)
    return timedelta(milliseconds=rng.randint(300, 30000))


def _named(user: User | None, address: str) -> str:
    return f"{user.name} <{address}>" if user else address


def _encoded(text: str) -> str:
    """A MIME encoded-word for non-ASCII header text, as a mail client writes it."""
    if text.isascii():
        return text
    return f"=?UTF-8?B?{base64.b64encode(text.encode()).decode()}?="


def _encoded_address(named: str) -> str:
    if "<" not in named:
        return named
    name, address = named.rsplit(" <", 1)
    return f"{_encoded(name)} <{address}"


def _ses_mta(rng: random.Random) -> str:
    return f"dsn; a{rng.randint(8, 48)}-{rng.randint(1, 99)}.smtp-out.amazonses.com"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )
