"""Every shape an SES notification arrives in, and SNS signatures on the way to the store."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from core.ingest.envelopes import SesMessage, SnsConfirmationMessage, Unusable, Unwrapper
from core.ingest.pipeline import Ingester, IngestSummary, Item
from core.ingest.signatures import CertificateSource, verify_sns_message
from tests.conftest import fixture_bytes, load_fixture, require_shared
from tests.ingest_factories import (
    count,
    lambda_sns_record,
    lambda_sqs_record,
    make_bounce,
    rows,
    sns_envelope,
)

SIGNED_SES = [
    "sns_real_signed_ses_event_complaint_simulator_sigv1_2022_djangoses",
    "sns_real_signed_ses_feedback_bounce_permanent_general_simulator_sigv1_2022_djangoses",
]
SIGNED_COMPLAINT = SIGNED_SES[0]


def unwrap(value: Any, verify_mode: Any = "off", verifier: Any = None) -> list[Any]:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return list(Unwrapper(verify_mode=verify_mode, verifier=verifier).unwrap_text(raw))


def sqs_message(body: str) -> dict[str, Any]:
    """A boto3 receive_message entry."""
    return {
        "MessageId": "5fea7756-0ea4-451a-a703-a558b933e274",
        "ReceiptHandle": "MbZj6wDWli+JvwwJaBV+3dcjk2YW2vA3+STFFljTM8tJJg6HRG6PYSasuWXPJB+Cw",
        "MD5OfBody": "fafb00f5732ab283681e124bf8747ed1",
        "Body": body,
    }


BOUNCE = make_bounce(["jane@example.com", "richard@example.com"], feedback_id="fb-shapes")
ENVELOPE = sns_envelope(BOUNCE, message_id="sns-shapes")
SHAPES: dict[str, Any] = {
    "bare SES JSON": BOUNCE,
    "SNS HTTP envelope": ENVELOPE,
    "SNS-triggered Lambda event": {"Records": [lambda_sns_record(BOUNCE, message_id="sns-1")]},
    "SQS body, raw delivery off": json.dumps(ENVELOPE),
    "SQS body, raw delivery on": json.dumps(BOUNCE),
    "SQS-triggered Lambda event": {"Records": [lambda_sqs_record(json.dumps(ENVELOPE))]},
    "boto3 receive_message": {"Messages": [sqs_message(json.dumps(ENVELOPE))]},
    "one SQS message": sqs_message(json.dumps(BOUNCE)),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_every_envelope_shape_unwraps_to_the_same_ses_notification(shape: str) -> None:
    value = SHAPES[shape]
    raw = value.encode() if isinstance(value, str) else json.dumps(value).encode()
    [unit] = unwrap(raw)
    assert isinstance(unit, SesMessage)
    assert unit.payload == BOUNCE


def test_the_sns_message_id_travels_with_the_notification() -> None:
    [unit] = unwrap(ENVELOPE)
    assert unit.sns_message_id == "sns-shapes"
    [bare] = unwrap(BOUNCE)
    assert bare.sns_message_id is None


def test_a_lambda_sns_event_with_several_records_yields_each() -> None:
    records = [lambda_sns_record(make_bounce([f"u{n}@example.com"])) for n in range(3)]
    units = unwrap({"Records": records})
    assert [u.payload["mail"]["destination"] for u in units] == [
        ["u0@example.com"],
        ["u1@example.com"],
        ["u2@example.com"],
    ]


def test_the_docs_sqs_body_with_raw_delivery_off_is_an_sns_envelope() -> None:
    # Its Message is "This is a test message.": unwrapped as SNS, then not SES JSON.
    [unit] = unwrap(fixture_bytes("sns_sqs_body_raw_delivery_disabled_docs.json"))
    assert isinstance(unit, Unusable)
    assert unit.reason_code == "not_json"
    assert "SNS Message is not JSON" in unit.reason


def test_the_docs_http_notification_is_unwrapped_and_its_text_message_refused() -> None:
    [unit] = unwrap(fixture_bytes("sns_http_notification_docs.json"))
    assert isinstance(unit, Unusable)
    assert unit.reason_code == "not_json"
    assert unit.raw == fixture_bytes("sns_http_notification_docs.json")


@pytest.mark.parametrize(
    "name", ["sns_http_subscription_confirmation_docs", "sns_http_unsubscribe_confirmation_docs"]
)
def test_confirmations_are_recognised_not_parsed_as_ses(name: str) -> None:
    [unit] = unwrap(fixture_bytes(f"{name}.json"))
    assert isinstance(unit, SnsConfirmationMessage)
    assert unit.envelope["Token"] == "2336412f37..."


def test_an_sns_message_over_256_kb_is_too_large() -> None:
    big = make_bounce()
    big["mail"]["padding"] = "x" * (256 * 1024)
    [unit] = unwrap(sns_envelope(big))
    assert isinstance(unit, Unusable)
    assert unit.reason_code == "too_large"
    [bare] = unwrap(big)
    assert bare.reason_code == "too_large"


def test_a_notification_just_under_256_kb_is_accepted() -> None:
    payload = make_bounce()
    payload["mail"]["padding"] = ""
    room = 256 * 1024 - len(json.dumps(payload).encode()) - 10
    payload["mail"]["padding"] = "x" * room
    [unit] = unwrap(sns_envelope(payload))
    assert isinstance(unit, SesMessage)


@pytest.mark.parametrize(
    ("value", "reason_code"),
    [
        (b"not json at all", "not_json"),
        (b'"a string"', "not_ses"),
        ({"Records": [{"foo": "bar"}]}, "not_ses"),
        ({"Messages": [{"MessageId": "1", "Body": 42}]}, "wrong_type"),
        ({**ENVELOPE, "Message": {"eventType": "Send"}}, "wrong_type"),
    ],
)
def test_shapes_that_cannot_hold_ses_json_are_unusable_with_a_reason(
    value: Any, reason_code: str
) -> None:
    [unit] = unwrap(value)
    assert isinstance(unit, Unusable)
    assert unit.reason_code == reason_code
    assert unit.reason


# --- through the ingester -------------------------------------------------------------------


def ingest(engine: Engine, *raws: bytes, **options: Any) -> IngestSummary:
    ingester = Ingester(engine, entry_point="file", **options)
    return ingester.ingest([Item(raw, f"test#{n}") for n, raw in enumerate(raws)], "test")


def test_the_same_notification_in_every_shape_is_stored_once(sqlite_engine: Engine) -> None:
    raws = [v.encode() if isinstance(v, str) else json.dumps(v).encode() for v in SHAPES.values()]
    summary = ingest(sqlite_engine, *raws)
    assert summary.received == len(SHAPES)
    assert (summary.stored, summary.duplicates) == (2, 2 * len(SHAPES) - 2)
    assert count(sqlite_engine, "facts") == 2
    assert count(sqlite_engine, "dead_letters") == 0


def test_subscription_and_unsubscribe_confirmations_are_recorded_not_dropped(
    sqlite_engine: Engine,
) -> None:
    subscribe = fixture_bytes("sns_http_subscription_confirmation_docs.json")
    unsubscribe = fixture_bytes("sns_http_unsubscribe_confirmation_docs.json")
    summary = ingest(sqlite_engine, subscribe, unsubscribe, subscribe)
    assert summary.confirmations == 3
    assert summary.dead_lettered == 0
    recorded = rows(sqlite_engine, "sns_confirmations", "type", "token", "subscribe_url")
    assert [r[0] for r in recorded] == ["SubscriptionConfirmation", "UnsubscribeConfirmation"]
    assert recorded[0][2].startswith("https://sns.us-west-2.amazonaws.com/?Action=Confirm")


def test_a_too_large_notification_is_dead_lettered_with_its_exact_bytes(
    sqlite_engine: Engine,
) -> None:
    big = make_bounce()
    big["mail"]["padding"] = "é" * (200 * 1024)
    raw = json.dumps(sns_envelope(big), ensure_ascii=False).encode()
    summary = ingest(sqlite_engine, raw, json.dumps(make_bounce()).encode())
    assert (summary.dead_lettered, summary.stored) == (1, 1)
    [(reason_code, stored_raw)] = rows(sqlite_engine, "dead_letters", "reason_code", "raw")
    assert reason_code == "too_large"
    assert bytes(stored_raw) == raw


# --- signatures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample PEMs under the file names their SigningCertURLs end with."""
    directory = tmp_path_factory.mktemp("certs")
    for pem in require_shared().glob("sns_signing_cert_*.pem"):
        shutil.copy(pem, directory / f"SimpleNotificationService-{pem.name.split('_')[3]}.pem")
    return directory


@pytest.fixture
def verifier(cert_dir: Path) -> Any:
    certificates = CertificateSource(cert_dir=cert_dir)
    return lambda envelope: verify_sns_message(envelope, certificates)


def signed(name: str, **changes: Any) -> bytes:
    envelope = load_fixture(f"{name}.json")
    envelope.update(changes)
    return json.dumps(envelope).encode()


def dead_letter_reasons(engine: Engine) -> list[tuple[str, str]]:
    return [
        (code, reason) for code, reason in rows(engine, "dead_letters", "reason_code", "reason")
    ]


@pytest.mark.parametrize("mode", ["when_present", "required"])
def test_the_real_signed_ses_messages_are_verified_and_stored(
    sqlite_engine: Engine, verifier: Any, mode: str
) -> None:
    summary = ingest(
        sqlite_engine, *(signed(n) for n in SIGNED_SES), verify_mode=mode, verifier=verifier
    )
    assert (summary.stored, summary.dead_lettered) == (2, 0)
    assert rows(sqlite_engine, "facts", "kind", "address") == [
        ("bounce", "bounce@simulator.amazonses.com"),
        ("complaint", "complaint@simulator.amazonses.com"),
    ]


def test_a_signed_lambda_record_with_a_null_subject_verifies(
    sqlite_engine: Engine, verifier: Any
) -> None:
    # Its Message is "Hello world", so it is dead-lettered, but for that, not its signature.
    record = {
        "Records": [
            {"Sns": load_fixture("sns_real_signed_lambda_style_sigv2_subject_null_2022.json")}
        ]
    }
    ingest(sqlite_engine, json.dumps(record).encode(), verify_mode="required", verifier=verifier)
    assert [code for code, _ in dead_letter_reasons(sqlite_engine)] == ["not_json"]


def test_a_real_signed_subscription_confirmation_is_verified_and_recorded(
    sqlite_engine: Engine, verifier: Any
) -> None:
    raw = signed("sns_real_signed_subscription_confirmation_sigv1_2026_javasdk")
    summary = ingest(sqlite_engine, raw, verify_mode="required", verifier=verifier)
    assert (summary.confirmations, summary.dead_lettered) == (1, 0)
    assert count(sqlite_engine, "sns_confirmations") == 1


def _tampered_message() -> str:
    message = load_fixture(f"{SIGNED_COMPLAINT}.json")["Message"]
    return message.replace("complaint@simulator", "complaimt@simulator")


FORGERIES = {
    "signature_mismatch": {"Message": _tampered_message()},
    "cert_host_untrusted": {
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com.attacker.example/"
        "SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfda.pem"
    },
    "cert_url_not_https": {
        "SigningCertURL": "http://sns.us-east-1.amazonaws.com/"
        "SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfda.pem"
    },
    "unsupported_signature_version": {"SignatureVersion": "3"},
}


@pytest.mark.parametrize("mode", ["when_present", "required"])
def test_forged_messages_are_dead_lettered_each_with_its_own_reason(
    sqlite_engine: Engine, verifier: Any, mode: str
) -> None:
    raws = [signed(SIGNED_COMPLAINT, **changes) for changes in FORGERIES.values()]
    summary = ingest(sqlite_engine, *raws, verify_mode=mode, verifier=verifier)
    assert (summary.stored, summary.dead_lettered) == (0, len(FORGERIES))
    assert count(sqlite_engine, "facts") == 0
    stored = rows(sqlite_engine, "dead_letters", "reason_code", "reason", "raw")
    assert {code for code, _, _ in stored} == {"bad_signature"}
    assert sorted(reason.split(":")[0] for _, reason, _ in stored) == sorted(FORGERIES)
    assert sorted(bytes(raw) for _, _, raw in stored) == sorted(raws)


def test_required_dead_letters_an_unsigned_bare_payload_and_an_unsigned_envelope(
    sqlite_engine: Engine, verifier: Any
) -> None:
    bare = json.dumps(make_bounce()).encode()
    envelope = json.dumps(sns_envelope(make_bounce())).encode()
    summary = ingest(sqlite_engine, bare, envelope, verify_mode="required", verifier=verifier)
    assert (summary.stored, summary.dead_lettered) == (0, 2)
    reasons = [reason for _, reason in dead_letter_reasons(sqlite_engine)]
    assert any("unsigned" in reason for reason in reasons)
    assert any(reason.startswith("missing_field") for reason in reasons)


def test_when_present_stores_unsigned_input_but_checks_any_signature(
    sqlite_engine: Engine, verifier: Any
) -> None:
    unsigned = json.dumps(sns_envelope(make_bounce())).encode()
    forged = signed(SIGNED_COMPLAINT, Message=_tampered_message())
    summary = ingest(sqlite_engine, unsigned, forged, verify_mode="when_present", verifier=verifier)
    assert (summary.stored, summary.dead_lettered) == (1, 1)


def test_off_stores_anything_well_formed_even_a_forgery(sqlite_engine: Engine) -> None:
    raws = [signed(SIGNED_COMPLAINT, **changes) for changes in FORGERIES.values()]
    summary = ingest(sqlite_engine, *raws, verify_mode="off")
    assert summary.dead_lettered == 0
    # The forgeries carry one notification (the tampered one names another address).
    assert summary.stored == 2


# --- the topic allowlist (sns_topic_arns) ------------------------------------------------------

OUR_TOPIC = "arn:aws:sns:us-east-1:364852123998:test-email"  # the signed SES samples' topic
THEIR_TOPIC = "arn:aws:sns:us-east-2:295079676684:publish-and-verify-892f85fe"


def test_a_genuine_signature_from_a_topic_off_the_allowlist_is_dead_lettered(
    sqlite_engine: Engine, verifier: Any
) -> None:
    # Anyone can create a topic and have SNS sign arbitrary "SES" JSON for it.
    raws = [signed(name) for name in SIGNED_SES]
    options = {"verify_mode": "required", "verifier": verifier}
    summary = ingest(sqlite_engine, *raws, topic_arns=[THEIR_TOPIC], **options)
    assert (summary.stored, summary.dead_lettered) == (0, 2)
    codes = {code for code, _ in dead_letter_reasons(sqlite_engine)}
    assert codes == {"untrusted_topic"}
    assert ingest(sqlite_engine, *raws, topic_arns=[OUR_TOPIC, THEIR_TOPIC], **options).stored == 2


@pytest.mark.parametrize("mode", ["off", "when_present"])
def test_an_unsigned_envelope_from_another_topic_is_refused_whatever_the_mode(
    sqlite_engine: Engine, mode: str
) -> None:
    ours = sns_envelope(make_bounce(["a@example.com"])) | {"TopicArn": OUR_TOPIC}
    theirs = sns_envelope(make_bounce(["b@example.com"])) | {"TopicArn": THEIR_TOPIC}
    nameless = {key: value for key, value in theirs.items() if key != "TopicArn"}
    raws = [json.dumps(envelope).encode() for envelope in (ours, theirs, nameless)]
    summary = ingest(sqlite_engine, *raws, verify_mode=mode, topic_arns=[OUR_TOPIC])
    assert (summary.stored, summary.dead_lettered) == (1, 2)
    assert rows(sqlite_engine, "facts", "address") == [("a@example.com",)]


def test_a_confirmation_from_another_topic_is_not_recorded(sqlite_engine: Engine) -> None:
    subscribe = fixture_bytes("sns_http_subscription_confirmation_docs.json")
    summary = ingest(sqlite_engine, subscribe, topic_arns=[OUR_TOPIC])
    assert (summary.confirmations, summary.dead_lettered) == (0, 1)


def test_a_raw_delivery_sqs_body_names_no_topic_and_is_not_held_to_the_allowlist(
    sqlite_engine: Engine,
) -> None:
    # Raw delivery on: the body is the bare SES JSON, from the queue the deployment owns.
    raw = json.dumps(sqs_message(json.dumps(make_bounce(["a@example.com"])))).encode()
    summary = ingest(sqlite_engine, raw, topic_arns=[OUR_TOPIC])
    assert (summary.stored, summary.dead_lettered) == (1, 0)


@pytest.mark.parametrize(
    ("entry_point", "mode"),
    [("file", "off"), ("upload", "off"), ("retry", "off")]
    + [("sqs", "when_present"), ("lambda", "required")],
)
def test_an_ingester_from_settings_has_its_entry_points_mode_verifier_and_allowlist(
    sqlite_engine: Engine, cert_dir: Path, entry_point: str, mode: str
) -> None:
    from core.settings import load_settings

    settings = load_settings(
        sns_cert_dir=cert_dir, verify_sns_lambda="required", sns_topic_arns=[OUR_TOPIC]
    )
    ingester = Ingester.from_settings(settings, sqlite_engine, entry_point=entry_point)
    assert (ingester.entry_point, ingester.verify_mode) == (entry_point, mode)
    assert ingester.batch_size == settings.ingest_batch_size
    raws = [signed(name) for name in SIGNED_SES]
    raws.append(signed("sns_real_signed_notification_sigv1_subject_2022"))  # another topic
    summary = ingester.ingest([Item(raw, f"t#{n}") for n, raw in enumerate(raws)], "t")
    assert (summary.stored, summary.dead_lettered) == (2, 1)
    assert [code for code, _ in dead_letter_reasons(sqlite_engine)] == ["untrusted_topic"]


def test_the_sns_envelopes_timestamp_is_passed_down_with_the_ses_json() -> None:
    envelope = sns_envelope(make_bounce(), message_id="sns-1")
    [unit] = unwrap(envelope)
    assert isinstance(unit, SesMessage)
    assert (unit.sns_message_id, unit.sns_timestamp) == ("sns-1", envelope["Timestamp"])


SETUP_TEXT = "Successfully validated SNS topic for Amazon SES event publishing."


@pytest.mark.parametrize("shape", ["sns", "raw_sqs_body"])
def test_the_ses_set_up_notice_is_a_recorded_notice_not_a_dead_letter(shape: str) -> None:
    value = sns_envelope(SETUP_TEXT) if shape == "sns" else lambda_sqs_record(SETUP_TEXT)
    [unit] = unwrap(value)
    assert isinstance(unit, SnsConfirmationMessage)
    assert unit.type == "SesSetupNotice" and unit.message_id


def test_json_nested_too_deeply_is_unusable_with_its_reason() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    for value in (deep.encode(), sns_envelope(deep)):
        [unit] = unwrap(value)
        assert isinstance(unit, Unusable) and unit.reason_code == "too_deep"
