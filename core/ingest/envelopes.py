"""Unwrap every shape an SES notification arrives in, down to the SES JSON itself.

Shapes: bare SES JSON; an SNS HTTP envelope; an SNS-triggered Lambda event
(``Records[].Sns``); an SQS message (boto3 ``Messages[]`` or a single message) whose body is
an SNS envelope (raw delivery off) or the bare SES JSON (raw delivery on); an SQS-triggered
Lambda event (``Records[].body``). Pure functions: signature checks are delegated to a
callable so that this module does no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

MAX_SNS_BYTES = 256 * 1024
SNS_TYPES = frozenset({"Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"})

VerifyMode = Literal["off", "when_present", "required"]
# Raises core.ingest.signatures.SignatureError when an envelope is not genuine.
Verifier = Callable[[Mapping[str, Any]], None]


@dataclass(frozen=True, slots=True)
class SesMessage:
    """The SES JSON of one notification, ready for core.ingest.events."""

    payload: Any
    raw: bytes
    sns_message_id: str | None = None


@dataclass(frozen=True, slots=True)
class SnsConfirmationMessage:
    """A subscription or unsubscribe confirmation: recorded, never dropped."""

    envelope: Mapping[str, Any]
    raw: bytes


@dataclass(frozen=True, slots=True)
class Unusable:
    """Input that cannot be used, with its bytes and why."""

    raw: bytes
    reason_code: str
    reason: str


Unwrapped = SesMessage | SnsConfirmationMessage | Unusable


@dataclass(frozen=True, slots=True)
class Unwrapper:
    """Turns one decoded JSON value into the messages it holds, per the entry point's rules."""

    verify_mode: VerifyMode = "off"
    verifier: Verifier | None = None
    # The SNS topics SES publishes to (setting sns_topic_arns): when set, an envelope from any
    # other topic is refused, signed or not. A valid signature only proves that *some* topic
    # sent the message, and anyone can create a topic. Raw-delivery bodies name no topic.
    topic_arns: frozenset[str] = frozenset()

    def unwrap(self, value: Any, raw: bytes) -> Iterator[Unwrapped]:
        if isinstance(value, list):
            for item in value:
                yield from self.unwrap(item, _encode(item))
            return
        if not isinstance(value, Mapping):
            yield Unusable(raw, "not_ses", f"expected a JSON object, got {type(value).__name__}")
            return
        records = value.get("Records")
        if isinstance(value.get("Sns"), Mapping):
            yield from self._record(value)
        elif isinstance(records, list):
            for record in records:
                yield from self._record(record)
        elif isinstance(value.get("Messages"), list):
            for message in value["Messages"]:
                yield from self._sqs_message(message)
        elif _is_sqs_message(value):
            yield from self._sqs_message(value)
        elif value.get("Type") in SNS_TYPES:
            yield from self._sns(value, raw)
        else:
            yield from self._bare(value, raw)

    def _record(self, record: Any) -> Iterator[Unwrapped]:
        raw = _encode(record)
        if isinstance(record, Mapping) and isinstance(record.get("Sns"), Mapping):
            yield from self._sns(record["Sns"], raw)
        elif _is_sqs_message(record):
            yield from self._sqs_message(record)
        else:
            yield Unusable(raw, "not_ses", "a Records[] entry that is neither SNS nor SQS")

    def _sqs_message(self, message: Any) -> Iterator[Unwrapped]:
        raw = _encode(message)
        body = message.get("Body", message.get("body")) if isinstance(message, Mapping) else None
        if not isinstance(body, str):
            yield Unusable(raw, "wrong_type", "SQS message has no text body")
            return
        yield from self.unwrap_text(body.encode("utf-8"))

    def unwrap_text(self, raw: bytes) -> Iterator[Unwrapped]:
        """Decode one JSON text (an SQS body, a file item) and unwrap what it holds."""
        if len(raw) > MAX_SNS_BYTES * 4:
            yield Unusable(raw, "too_large", f"{len(raw)} bytes is over the size limit")
            return
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            yield Unusable(raw, "not_json", f"not JSON: {exc}")
            return
        yield from self.unwrap(value, raw)

    def _sns(self, envelope: Mapping[str, Any], raw: bytes) -> Iterator[Unwrapped]:
        if envelope.get("Type") not in SNS_TYPES:
            yield Unusable(raw, "not_ses", f"unknown SNS message type {envelope.get('Type')!r}")
            return
        topic = envelope.get("TopicArn")
        if self.topic_arns and not (isinstance(topic, str) and topic in self.topic_arns):
            yield Unusable(raw, "untrusted_topic", f"TopicArn {topic!r} is not in sns_topic_arns")
            return
        problem = self._signature_problem(envelope)
        if problem:
            yield Unusable(raw, "bad_signature", problem)
            return
        if envelope["Type"] != "Notification":
            yield SnsConfirmationMessage(envelope, raw)
            return
        message = envelope.get("Message")
        if not isinstance(message, str):
            yield Unusable(raw, "wrong_type", "SNS Message should be text holding SES JSON")
            return
        encoded = message.encode("utf-8")
        if len(encoded) > MAX_SNS_BYTES:
            yield Unusable(raw, "too_large", f"SNS message of {len(encoded)} bytes is over 256 KB")
            return
        try:
            payload = json.loads(message)
        except (ValueError, RecursionError) as exc:
            yield Unusable(raw, "not_json", f"SNS Message is not JSON: {exc}")
            return
        sns_id = envelope.get("MessageId")
        yield SesMessage(payload, raw, sns_id if isinstance(sns_id, str) else None)

    def _bare(self, value: Mapping[str, Any], raw: bytes) -> Iterator[Unwrapped]:
        if self.verify_mode == "required":
            yield Unusable(raw, "bad_signature", "unsigned message, but signatures are required")
        elif len(raw) > MAX_SNS_BYTES:
            yield Unusable(raw, "too_large", f"message of {len(raw)} bytes is over 256 KB")
        else:
            yield SesMessage(value, raw)

    def _signature_problem(self, envelope: Mapping[str, Any]) -> str | None:
        if self.verify_mode == "off":
            return None
        if "Signature" not in envelope and self.verify_mode == "when_present":
            return None
        if self.verifier is None:
            return "signature verification is on but no verifier is configured"
        try:
            self.verifier(envelope)
        except Exception as exc:  # noqa: BLE001 - the verifier's one error type is reported
            reason = getattr(exc, "reason", type(exc).__name__)
            return f"{reason}: {exc}"
        return None


def _is_sqs_message(value: Any) -> bool:
    return isinstance(value, Mapping) and (
        ("Body" in value and ("MessageId" in value or "ReceiptHandle" in value))
        or ("body" in value and ("messageId" in value or value.get("eventSource") == "aws:sqs"))
    )


def _encode(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")
