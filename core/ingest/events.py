"""SES notification JSON -> typed facts, one per recipient. Pure functions, no I/O.

Both families are understood: feedback notifications (``notificationType``) and
event-publishing records (``eventType``). Unknown fields are ignored; a missing or
mistyped required field raises ``NotificationError`` with a reason an operator can act on.
A recipient that is not one email address is refused alone, with its reason: the
notification's other recipients are still facts.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, TypeGuard

import orjson

from core.addresses import MAX_ADDRESS_LENGTH, bare_address, domain_of, normalise_address
from core.clock import utcnow
from core.errors import InvalidAddress
from core.policy import classify_bounce, counts_toward_bounce_rate

MAX_ADDRESS = MAX_ADDRESS_LENGTH
# Timestamps outside this window are refused: SES started in 2011, and a time in the future
# (beyond clock skew) would sort first forever, e.g. a bounce dated 9999 would outrank every
# later confirmation of its address.
EARLIEST = datetime(2010, 1, 1)
FUTURE_SKEW = timedelta(days=1)
# Free text (diagnostic codes, subjects) is clipped to what a MySQL TEXT column holds in any
# encoding; real values are a few hundred characters.
MAX_TEXT = 16_000
# PostgreSQL refuses NUL in text and no database stores a lone surrogate (JSON can encode
# both as \u escapes); each becomes U+FFFD so the notification is still stored.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

# SES name -> (our kind, name of the object that carries the details)
KINDS: dict[str, tuple[str, str]] = {
    "Bounce": ("bounce", "bounce"),
    "Complaint": ("complaint", "complaint"),
    "Delivery": ("delivery", "delivery"),
    "Send": ("send", "send"),
    "Reject": ("reject", "reject"),
    "DeliveryDelay": ("delivery_delay", "deliveryDelay"),
    "Open": ("open", "open"),
    "Click": ("click", "click"),
    "Rendering Failure": ("rendering_failure", "failure"),
    "Subscription": ("subscription", "subscription"),
}
# Kinds that can happen several times for one message and recipient (each open is an open).
REPEATABLE = frozenset({"open", "click", "delivery_delay", "subscription"})
# Sent by SES once when a topic is attached to an identity; nothing to record per recipient.
NOTICES = frozenset({"AmazonSnsSubscriptionSucceeded"})


class NotificationError(ValueError):
    """An SES notification that cannot be used; `reason` is a stable code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class IgnoredNotification(Exception):
    """A genuine SES message that carries no recipient facts (e.g. a subscription notice)."""


class ParsedFact(NamedTuple):
    """One recipient of one notification, with every field the dashboard shows.

    A named tuple rather than a frozen dataclass: as immutable, three times cheaper to make
    (one per recipient of every notification), and already the row that stores it."""

    dedup_key: bytes
    event_key: str
    family: str
    kind: str
    recipient: str
    address: str
    domain: str
    occurred_at: datetime
    mail_sent_at: datetime | None
    ses_message_id: str
    feedback_id: str | None = None
    bounce_type: str | None = None
    bounce_subtype: str | None = None
    classification: str | None = None
    counts_toward_bounce_rate: bool = False
    complaint_subtype: str | None = None
    complaint_feedback_type: str | None = None
    diagnostic_code: str | None = None
    status: str | None = None
    action: str | None = None
    reporting_mta: str | None = None
    remote_mta_ip: str | None = None
    sender: str | None = None
    subject: str | None = None
    configuration_set: str | None = None
    tags: str | None = None
    detail: str | None = None
    sns_message_id: str | None = None


class Refusal(NamedTuple):
    """A recipient of a notification that could not be stored, and why."""

    reason_code: str
    reason: str


class ParsedNotification(NamedTuple):
    """What one notification holds: a fact per usable recipient, a refusal per other one."""

    facts: list[ParsedFact]
    refused: list[Refusal]


def parse_notification(
    payload: Any, sns_message_id: str | None = None, sns_timestamp: Any = None
) -> ParsedNotification:
    """The recipient facts of one SES notification (already decoded from JSON), and the
    recipients refused. `sns_timestamp` is the SNS envelope's `Timestamp`, used when the SES
    JSON itself carries no time."""
    if not _is_object(payload):
        raise NotificationError("not_ses", f"expected a JSON object, got {_type(payload)}")
    family, name = _family_and_name(payload)
    kind, object_name = KINDS[name]
    mail = _mapping(payload, "mail")
    detail_object = _object(payload, object_name, kind)
    common = _common_fields(mail, detail_object, family, kind, sns_timestamp)
    common["sns_message_id"] = _clip(sns_message_id, 128)
    per_recipient = _RECIPIENTS[kind](detail_object, mail)
    if not per_recipient:
        raise NotificationError("missing_field", f"{name} notification names no recipients")
    facts, refused = [], []
    for number, (recipient, extra) in enumerate(per_recipient, 1):
        try:
            facts.append(_fact(common, recipient, extra))
        except NotificationError as exc:
            where = f"recipient {number} of {len(per_recipient)}"
            refused.append(Refusal(exc.reason, f"{where}: {exc}"))
    if not facts:  # nothing to store: the notification is refused as a whole, once
        reasons = "; ".join(refusal.reason for refusal in refused[:3])
        more = f" (and {len(refused) - 3} more)" if len(refused) > 3 else ""
        raise NotificationError(refused[0].reason_code, reasons + more)
    return ParsedNotification(facts, refused)


def _family_and_name(payload: Mapping[str, Any]) -> tuple[str, str]:
    if "eventType" in payload:
        family, name = "event", payload["eventType"]
    elif "notificationType" in payload:
        family, name = "feedback", payload["notificationType"]
    else:
        raise NotificationError(
            "not_ses", "not an SES notification: no notificationType or eventType"
        )
    if isinstance(name, str) and name in NOTICES:
        raise IgnoredNotification(name)
    if not isinstance(name, str) or name not in KINDS:
        raise NotificationError("unsupported_type", f"unknown SES notification type {name!r}")
    return family, name


def _object(payload: Mapping[str, Any], name: str, kind: str) -> Mapping[str, Any]:
    # Send events carry an empty object; treat a missing one the same way.
    if kind == "send" and payload.get(name) is None:
        return {}
    return _mapping(payload, name)


def _common_fields(
    mail: Mapping[str, Any],
    detail: Mapping[str, Any],
    family: str,
    kind: str,
    sns_timestamp: Any,
) -> dict[str, Any]:
    message_id = _text(mail, "messageId", required=True)
    latest = utcnow() + FUTURE_SKEW
    mail_sent_at = _timestamp(mail, "timestamp", latest)
    occurred_at = _timestamp(detail, "timestamp", latest) or mail_sent_at
    if occurred_at is None:
        occurred_at = _timestamp({"Timestamp": sns_timestamp}, "Timestamp", latest)
    if occurred_at is None:
        raise NotificationError("missing_field", f"{kind} has no timestamp")
    feedback_id = _text(detail, "feedbackId")
    if feedback_id:
        event_key = f"fb:{feedback_id}"
    elif kind in REPEATABLE:
        event_key = f"{kind}:{message_id}:{occurred_at.isoformat()}"
    else:
        event_key = f"{kind}:{message_id}"
    tags = mail.get("tags")
    if not _is_object(tags):
        tags = None
    return {
        "event_key": event_key[:300],
        "family": family,
        "kind": kind,
        "occurred_at": occurred_at,
        "mail_sent_at": mail_sent_at,
        "ses_message_id": message_id[:128],
        "feedback_id": _clip(feedback_id, 128),
        "sender": _clip(_text(mail, "source"), MAX_ADDRESS),
        "subject": _subject(mail),
        "configuration_set": _clip(_first_tag(tags, "ses:configuration-set"), 128),
        "tags": _json(tags) if tags else None,
    }


def _fact(common: dict[str, Any], raw: Any, extra: dict[str, Any]) -> ParsedFact:
    """The fact of one recipient; NotificationError if `raw` is not one email address."""
    bare = _recipient(raw)
    address = storable_text(normalise_address(bare))
    # `recipient` is the text as received, unless a display name had to be taken off it.
    recipient = storable_text(raw) if raw.strip() == bare else bare
    digest = hashlib.sha256(f"{common['event_key']}\n{address}".encode()).digest()
    return ParsedFact(
        dedup_key=digest,
        recipient=recipient,
        address=address,
        domain=domain_of(address)[:255],
        **common,
        **extra,
    )


def _recipient(raw: Any) -> str:
    """The bare address of one recipient, as SES spelled it (see core.addresses)."""
    if raw is None:
        raise NotificationError("missing_field", "required field 'emailAddress' is missing")
    if not isinstance(raw, str):
        raise NotificationError(
            "wrong_type", f"field 'emailAddress' should be text, not {_type(raw)}"
        )
    if not raw.strip():
        raise NotificationError("missing_field", "required field 'emailAddress' is empty")
    if len(raw) > MAX_ADDRESS:
        raise NotificationError("wrong_type", f"recipient longer than {MAX_ADDRESS} characters")
    try:
        return bare_address(raw)
    except InvalidAddress as exc:
        raise NotificationError("invalid_address", str(exc)) from None


# --- per-kind recipients and fields --------------------------------------------------------

Recipients = list[tuple[Any, dict[str, Any]]]  # the recipient as SES sent it; checked later


def _bounce(bounce: Mapping[str, Any], _mail: Mapping[str, Any]) -> Recipients:
    bounce_type = _text(bounce, "bounceType", required=True)
    subtype = _text(bounce, "bounceSubType")
    shared = {
        "bounce_type": _clip(bounce_type, 64),
        "bounce_subtype": _clip(subtype, 64),
        "classification": classify_bounce(bounce_type).value,
        "counts_toward_bounce_rate": counts_toward_bounce_rate(bounce_type, subtype),
        "reporting_mta": _clip(_text(bounce, "reportingMTA"), 255),
        "remote_mta_ip": _clip(_text(bounce, "remoteMtaIp"), 64),
    }
    result = []
    for item in _objects(bounce, "bouncedRecipients"):
        result.append(
            (
                item.get("emailAddress"),
                {
                    **shared,
                    "diagnostic_code": _clip(_text(item, "diagnosticCode"), MAX_TEXT),
                    "status": _clip(_text(item, "status"), 32),
                    "action": _clip(_text(item, "action"), 32),
                },
            )
        )
    return result


def _complaint(complaint: Mapping[str, Any], _mail: Mapping[str, Any]) -> Recipients:
    shared = {
        "complaint_subtype": _clip(_text(complaint, "complaintSubType"), 64),
        "complaint_feedback_type": _clip(_text(complaint, "complaintFeedbackType"), 64),
        "detail": _detail(complaint, "userAgent", "arrivalDate"),
    }
    return [
        (item.get("emailAddress"), shared) for item in _objects(complaint, "complainedRecipients")
    ]


def _delivery(delivery: Mapping[str, Any], _mail: Mapping[str, Any]) -> Recipients:
    shared = {
        "diagnostic_code": _clip(_text(delivery, "smtpResponse"), MAX_TEXT),
        "reporting_mta": _clip(_text(delivery, "reportingMTA"), 255),
        "remote_mta_ip": _clip(_text(delivery, "remoteMtaIp"), 64),
        "detail": _detail(delivery, "processingTimeMillis"),
    }
    return [(address, shared) for address in _list(delivery, "recipients")]


def _delivery_delay(delay: Mapping[str, Any], _mail: Mapping[str, Any]) -> Recipients:
    shared = {
        "reporting_mta": _clip(_text(delay, "reportingMTA"), 255),
        "detail": _detail(delay, "delayType", "expirationTime"),
    }
    result = []
    for item in _objects(delay, "delayedRecipients"):
        result.append(
            (
                item.get("emailAddress"),
                {
                    **shared,
                    "diagnostic_code": _clip(_text(item, "diagnosticCode"), MAX_TEXT),
                    "status": _clip(_text(item, "status"), 32),
                },
            )
        )
    return result


def _to_destination(*detail_keys: str) -> Any:
    def recipients(detail: Mapping[str, Any], mail: Mapping[str, Any]) -> Recipients:
        extra = {"detail": _detail(detail, *detail_keys)} if detail_keys else {}
        return [(address, extra) for address in _list(mail, "destination")]

    return recipients


_RECIPIENTS = {
    "bounce": _bounce,
    "complaint": _complaint,
    "delivery": _delivery,
    "delivery_delay": _delivery_delay,
    "send": _to_destination(),
    "reject": _to_destination("reason"),
    "open": _to_destination("ipAddress", "userAgent"),
    "click": _to_destination("link", "ipAddress", "userAgent", "linkTags"),
    "rendering_failure": _to_destination("templateName", "errorMessage"),
    "subscription": _to_destination("contactList", "newTopicPreferences", "oldTopicPreferences"),
}


# --- field access with clear errors --------------------------------------------------------


def _mapping(obj: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = obj.get(key)
    if value is None:
        raise NotificationError("missing_field", f"required field {key!r} is missing")
    if not _is_object(value):
        raise NotificationError(
            "wrong_type", f"field {key!r} should be an object, not {_type(value)}"
        )
    return value


def _is_object(value: Any) -> TypeGuard[Mapping[str, Any]]:
    # JSON objects arrive as dicts: that check first, the ABC's (much slower) for the rest.
    return type(value) is dict or isinstance(value, Mapping)


def _text(obj: Mapping[str, Any], key: str, *, required: bool = False) -> Any:
    value = obj.get(key)
    if type(value) is str and value.isascii() and "\x00" not in value:
        text = value  # the common case, checked first: this runs for every field we read
    elif value is None:
        if required:
            raise NotificationError("missing_field", f"required field {key!r} is missing")
        return None
    elif isinstance(value, bool) or not isinstance(value, str | int | float):
        raise NotificationError("wrong_type", f"field {key!r} should be text, not {_type(value)}")
    else:
        text = storable_text(str(value))
    if required and not text.strip():
        raise NotificationError("missing_field", f"required field {key!r} is empty")
    return text


def _objects(obj: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    items = obj.get(key)
    if items is None:
        raise NotificationError("missing_field", f"required field {key!r} is missing")
    if not isinstance(items, list) or not all(_is_object(i) for i in items):
        raise NotificationError("wrong_type", f"field {key!r} should be a list of objects")
    return items


def _list(obj: Mapping[str, Any], key: str) -> list[Any]:
    """A list of recipients; each item is checked on its own (see _fact)."""
    items = obj.get(key)
    if items is None:
        raise NotificationError("missing_field", f"required field {key!r} is missing")
    if not isinstance(items, list):
        raise NotificationError("wrong_type", f"field {key!r} should be a list of addresses")
    return items


def _timestamp(obj: Mapping[str, Any], key: str, latest: datetime) -> datetime | None:
    """`obj[key]` as naive UTC, None if absent; NotificationError if it is not a time
    between EARLIEST and `latest`."""
    value = _text(obj, key)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):  # OverflowError: year 1 with a positive offset
        raise NotificationError(
            "wrong_type", f"field {key!r} is not a timestamp: {value!r}"
        ) from None
    if not EARLIEST <= parsed <= latest:
        raise NotificationError(
            "implausible_time",
            f"field {key!r} is {value!r}, outside {EARLIEST:%Y-%m-%d} .. one day from now",
        )
    return parsed


def _subject(mail: Mapping[str, Any]) -> str | None:
    headers = mail.get("commonHeaders")
    if _is_object(headers) and isinstance(headers.get("subject"), str):
        return storable_text(headers["subject"])[:MAX_TEXT]
    return None


def _first_tag(tags: Mapping[str, Any] | None, name: str) -> str | None:
    values = tags.get(name) if tags else None
    if isinstance(values, list) and values and isinstance(values[0], str):
        return storable_text(values[0])
    return None


def _detail(obj: Mapping[str, Any], *keys: str) -> str | None:
    picked = {key: obj[key] for key in keys if obj.get(key) is not None}
    return _json(picked) if picked else None


# One encoder for every call: json.dumps with options builds a new one each time. It
# writes what orjson refuses (integers past 64 bits, lone surrogates).
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True)


def _json(value: Any) -> str:
    try:
        encoded = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except orjson.JSONEncodeError:
        encoded = _ENCODER.encode(value)
    return storable_text(encoded)


def storable_text(text: str) -> str:
    """`text` as every backend can store it (see _UNSTORABLE)."""
    if text.isascii() and "\x00" not in text:
        return text
    return _UNSTORABLE.sub("\ufffd", text)


def _clip(value: str | None, length: int) -> str | None:
    return value[:length] if value is not None else None


def _type(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", type(None): "null"}.get(
        type(value), type(value).__name__
    )
