"""Unwrap every shape an SES notification arrives in, down to the SES JSON itself.

Shapes: bare SES JSON; an SNS HTTP envelope; an SNS-triggered Lambda event
(``Records[].Sns``); an SQS message (boto3 ``Messages[]`` or a single message) whose body is
an SNS envelope (raw delivery off) or the bare SES JSON (raw delivery on); an SQS-triggered
Lambda event (``Records[].body``). Pure functions: signature checks are delegated to a
callable so that this module does no I/O.

Text is carried as UTF-8 with lone surrogates kept (``surrogatepass``): JSON's ``\\ud800``
escapes and CESU-8 bytes can put them in a value, and each field that holds one is then
refused or replaced on its own (core.ingest.events) instead of failing the whole input.
"""

from __future__ import annotations

import hashlib
import json
import reprlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import orjson

MAX_SNS_BYTES = 256 * 1024
SNS_TYPES = frozenset({"Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"})
# SES publishes this plain text (no JSON) once, when a topic becomes an event destination or
# a feedback topic; it is recorded like a subscription confirmation, under this type.
SES_SETUP_NOTICE = "SesSetupNotice"
_SETUP_TEXT = "Successfully validated SNS topic"

VerifyMode = Literal["off", "when_present", "required"]
# Raises core.ingest.signatures.SignatureError when an envelope is not genuine.
Verifier = Callable[[Mapping[str, Any]], None]


@dataclass(frozen=True, slots=True)
class SesMessage:
    """The SES JSON of one notification, ready for core.ingest.events."""

    payload: Any
    raw: bytes
    sns_message_id: str | None = None
    sns_timestamp: str | None = None  # the SNS envelope's, for SES JSON that has none


@dataclass(frozen=True, slots=True)
class SnsConfirmationMessage:
    """A subscription or unsubscribe confirmation, or SES's set-up notice: recorded, never
    dropped. `type` is the envelope's Type, or SES_SETUP_NOTICE."""

    envelope: Mapping[str, Any]
    raw: bytes
    type: str | None = None

    @property
    def message_id(self) -> str:
        """The SNS MessageId, or (when a sender left it out) one made from the content, so
        that the message is stored and a redelivery of it is not stored twice."""
        message_id = self.envelope.get("MessageId")
        if isinstance(message_id, str) and message_id:
            return message_id
        fields = ("Type", "TopicArn", "Timestamp", "Token", "Message")
        content = [self.type, *(self.envelope.get(name) for name in fields)]
        return "sha256:" + hashlib.sha256(encode_json(content)).hexdigest()


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
        """The messages in one decoded JSON value; never raises for what the value holds."""
        try:
            yield from self._unwrap(value, raw)
        except RecursionError:
            yield Unusable(raw, "too_deep", "nested too deeply to unwrap")

    def _unwrap(self, value: Any, raw: bytes) -> Iterator[Unwrapped]:
        if isinstance(value, list):
            for item in value:
                yield from self._unwrap(item, encode_json(item))
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
        raw = encode_json(record)
        if isinstance(record, Mapping) and isinstance(record.get("Sns"), Mapping):
            yield from self._sns(record["Sns"], raw)
        elif _is_sqs_message(record):
            yield from self._sqs_message(record)
        else:
            yield Unusable(raw, "not_ses", "a Records[] entry that is neither SNS nor SQS")

    def _sqs_message(self, message: Any) -> Iterator[Unwrapped]:
        raw = encode_json(message)
        body = message.get("Body", message.get("body")) if isinstance(message, Mapping) else None
        if not isinstance(body, str):
            yield Unusable(raw, "wrong_type", "SQS message has no text body")
            return
        yield from self.unwrap_text(encode_text(body))

    def unwrap_text(self, raw: bytes) -> Iterator[Unwrapped]:
        """Decode one JSON text (an SQS body, a file item) and unwrap what it holds."""
        if len(raw) > MAX_SNS_BYTES * 4:
            yield Unusable(raw, "too_large", f"{len(raw)} bytes is over the size limit")
            return
        try:
            value = decode_json(raw)
        except RecursionError:
            yield Unusable(raw, "too_deep", "JSON nested too deeply to read")
            return
        except ValueError as exc:
            if _is_setup_notice(raw):  # raw delivery of SES's set-up notice
                yield SnsConfirmationMessage(
                    {"Message": raw.decode("utf-8", "replace")}, raw, SES_SETUP_NOTICE
                )
            else:
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
        encoded = encode_text(message)
        if len(encoded) > MAX_SNS_BYTES:
            yield Unusable(raw, "too_large", f"SNS message of {len(encoded)} bytes is over 256 KB")
            return
        try:
            payload = decode_json(message)
        except RecursionError:
            yield Unusable(raw, "too_deep", "SNS Message is JSON nested too deeply to read")
            return
        except ValueError as exc:
            if _is_setup_notice(encoded):
                yield SnsConfirmationMessage(envelope, raw, SES_SETUP_NOTICE)
            else:
                yield Unusable(raw, "not_json", f"SNS Message is not JSON: {exc}")
            return
        yield SesMessage(
            payload, raw, _text_or_none(envelope, "MessageId"), _text_or_none(envelope, "Timestamp")
        )

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


def _is_setup_notice(text: bytes) -> bool:
    return text.lstrip().startswith(_SETUP_TEXT.encode())


def _text_or_none(envelope: Mapping[str, Any], key: str) -> str | None:
    value = envelope.get(key)
    return value if isinstance(value, str) else None


def decode_json(text: str | bytes) -> Any:
    """`text` parsed as JSON: by orjson, three times faster than the standard library, and
    by the standard library whenever orjson refuses it, so that what is accepted and the
    error raised (its message, RecursionError for deep nesting) stay the standard library's:
    it also reads NaN, integers past 64 bits and lone surrogates, which orjson does not."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def encode_text(text: str) -> bytes:
    """`text` as UTF-8, a lone surrogate kept as its bytes (json.loads reads them back)."""
    return text.encode("utf-8", "surrogatepass")


def encode_json(value: Any) -> bytes:
    """`value` as UTF-8 JSON; never raises. A value nested too deeply for the encoder is
    kept as a shortened repr: not JSON any more, but a dead letter still shows what it was."""
    try:
        return encode_text(json.dumps(value, ensure_ascii=False))
    except RecursionError:
        return encode_text(reprlib.repr(value))
