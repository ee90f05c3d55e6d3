"""core.ingest.dead_letters: what could not be used is listed, kept byte for byte, and retried."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert

from core.ingest.dead_letters import (
    count_dead_letters,
    dead_letter_raw,
    list_dead_letters,
    retry_dead_letters,
)
from core.ingest.pipeline import Ingester, Item
from core.settings import Settings, load_settings
from core.store.models import DeadLetter
from tests.conftest import FIXTURES, fixture_bytes, load_fixture
from tests.factories import OPS
from tests.ingest_factories import count, make_bounce, rows, sns_envelope

SIGNED = "sns_real_signed_ses_feedback_bounce_permanent_general_simulator_sigv1_2022_djangoses"
SIGNED_TOPIC = "arn:aws:sns:us-east-1:364852123998:test-email"


def strict_ingester(engine: Engine) -> Ingester:
    """Signatures required, with a verifier that trusts no certificate."""

    def refuse(_: object) -> None:
        raise ValueError("no certificate can be fetched here")

    return Ingester(engine, entry_point="file", verify_mode="required", verifier=refuse)


def lenient_ingester(engine: Engine) -> Ingester:
    return Ingester(engine, entry_point="retry", verify_mode="off")


@pytest.fixture(scope="module")
def cert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample PEMs under the file names their SigningCertURLs end with."""
    directory = tmp_path_factory.mktemp("certs")
    for pem in FIXTURES.glob("sns_signing_cert_*.pem"):
        shutil.copy(pem, directory / f"SimpleNotificationService-{pem.name.split('_')[3]}.pem")
    return directory


def trust_settings(cert_dir: Path, **modes: str) -> Settings:
    return load_settings(sns_cert_dir=cert_dir, sns_topic_arns=[SIGNED_TOPIC], **modes)


def retry_ingester(engine: Engine, cert_dir: Path) -> Ingester:
    return Ingester.from_settings(trust_settings(cert_dir), engine, entry_point="retry")


def forged(forgery: str) -> bytes:
    """The genuine signed envelope carrying someone else's bounce: it names the victim."""
    envelope = load_fixture(f"{SIGNED}.json")
    envelope["Message"] = json.dumps(make_bounce(["victim@example.com"]))
    if forgery == "no signature":
        for key in ("Signature", "SignatureVersion", "SigningCertURL"):
            del envelope[key]
    return json.dumps(envelope).encode()


def add_dead_letter(
    engine: Engine,
    raw: bytes,
    reason_code: str = "unsupported_type",
    *,
    entry_point: str | None = None,
    floor: str | None = None,
) -> int:
    """A dead letter as an older release could have left it."""
    row = {
        "received_at": datetime(2024, 1, 1),
        "source": "sqs:legacy",
        "reason_code": reason_code,
        "reason": "unknown SES notification type 'Subscription'",
        "raw": raw,
        "entry_point": entry_point,
        "verify_mode": floor,
        "status": "open",
        "attempts": 0,
    }
    with engine.begin() as connection:
        return int(connection.execute(insert(DeadLetter.__table__), [row]).inserted_primary_key[0])


def test_dead_letters_are_listed_newest_first_with_reason_and_size(engine: Engine) -> None:
    raws = [b"first, not json", json.dumps({"notificationType": "Bounce"}).encode()]
    Ingester(engine, entry_point="file").ingest(
        [Item(raw, f"file:x#{n}") for n, raw in enumerate(raws)], "x"
    )
    listed = list_dead_letters(engine)
    assert [(v.source, v.reason_code, v.size, v.status) for v in listed] == [
        ("file:x#1", "missing_field", len(raws[1]), "open"),
        ("file:x#0", "not_json", len(raws[0]), "open"),
    ]
    assert "'mail'" in listed[0].reason
    assert count_dead_letters(engine) == 2
    assert dead_letter_raw(engine, listed[1].id) == raws[0]


def test_a_signature_failure_is_resolved_on_retry_once_the_certificate_can_be_read(
    engine: Engine, cert_dir: Path
) -> None:
    raw = fixture_bytes(f"{SIGNED}.json")
    summary = strict_ingester(engine).ingest([Item(raw, "sqs:1")], "q")
    assert summary.dead_lettered == 1
    [letter] = list_dead_letters(engine)
    assert letter.reason_code == "bad_signature"

    [outcome] = retry_dead_letters(engine, retry_ingester(engine, cert_dir), OPS)
    assert (outcome.id, outcome.resolved, outcome.stored) == (letter.id, True, 1)
    assert rows(engine, "facts", "address") == [("bounce@simulator.amazonses.com",)]
    [(status, attempts, resolved_at)] = rows(
        engine, "dead_letters", "status", "attempts", "resolved_at"
    )
    assert (status, attempts) == ("resolved", 1)
    assert resolved_at is not None
    assert count_dead_letters(engine) == 0
    assert [v.status for v in list_dead_letters(engine, status=None)] == ["resolved"]
    # A resolved dead letter is never retried again, so nothing is stored twice.
    assert retry_dead_letters(engine, retry_ingester(engine, cert_dir), OPS) == []
    assert count(engine, "facts") == 1


@pytest.mark.parametrize("forgery", ["a broken signature", "no signature"])
@pytest.mark.parametrize("caller", [None, "off", "when_present"])
def test_a_forged_envelope_refused_by_poll_sqs_is_not_laundered_by_a_routine_retry(
    engine: Engine, cert_dir: Path, forgery: str, caller: str | None
) -> None:
    settings = trust_settings(cert_dir, verify_sns_sqs="required")
    poll = Ingester.from_settings(settings, engine, entry_point="sqs")
    poll.ingest([Item(forged(forgery), "sqs:m-1")], "queue")
    [letter] = list_dead_letters(engine)
    assert letter.reason_code == "bad_signature"

    # "Retry all open" on the Ingestion page, or `dead-letters retry [--verify MODE]`.
    retry = Ingester.from_settings(settings, engine, entry_point="retry", verify_mode=caller)
    [outcome] = retry_dead_letters(engine, retry, OPS)
    assert not outcome.resolved
    assert count(engine, "facts") == 0
    [(status, code, floor)] = rows(engine, "dead_letters", "status", "reason_code", "verify_mode")
    assert (status, code, floor) == ("open", "bad_signature", "required")


def test_a_letter_refused_for_its_signature_stays_refused_after_the_setting_is_lowered(
    engine: Engine, cert_dir: Path
) -> None:
    strict = trust_settings(cert_dir, verify_sns_sqs="required")
    Ingester.from_settings(strict, engine, entry_point="sqs").ingest(
        [Item(forged("no signature"), "sqs:m-1")], "queue"
    )
    lowered = trust_settings(cert_dir, verify_sns_sqs="off")
    retry = Ingester.from_settings(lowered, engine, entry_point="retry", verify_mode="off")
    [outcome] = retry_dead_letters(engine, retry, OPS)
    assert not outcome.resolved and count(engine, "facts") == 0


@pytest.mark.parametrize(
    ("sqs_mode", "caller", "resolved"),
    [
        ("off", "off", True),
        ("required", "off", False),  # the entry point's mode wins over the caller's
        ("off", "required", False),  # and the caller's over the entry point's
    ],
)
def test_a_retry_verifies_at_the_stricter_of_its_entry_point_and_the_caller(
    engine: Engine, cert_dir: Path, sqs_mode: str, caller: str, resolved: bool
) -> None:
    # Refused by an older parser (not for its signature), under a mode that checked nothing.
    letter_id = add_dead_letter(engine, forged("no signature"), entry_point="sqs", floor="off")
    settings = trust_settings(cert_dir, verify_sns_sqs=sqs_mode)
    retry = Ingester.from_settings(settings, engine, entry_point="retry", verify_mode=caller)
    [outcome] = retry_dead_letters(engine, retry, OPS, [letter_id])
    assert outcome.resolved is resolved
    assert count(engine, "facts") == (1 if resolved else 0)


def test_a_letter_from_an_unknown_entry_point_is_retried_under_the_strictest_mode(
    engine: Engine, cert_dir: Path
) -> None:
    letter_id = add_dead_letter(engine, forged("no signature"))  # as an older release left it
    settings = trust_settings(cert_dir, verify_sns_lambda="required")
    retry = Ingester.from_settings(settings, engine, entry_point="retry")
    [outcome] = retry_dead_letters(engine, retry, OPS, [letter_id])
    assert not outcome.resolved
    assert rows(engine, "dead_letters", "reason_code", "verify_mode") == [
        ("bad_signature", "required")
    ]


def test_a_dead_letter_records_its_entry_point_and_the_least_check_its_retry_needs(
    engine: Engine, cert_dir: Path
) -> None:
    settings = trust_settings(cert_dir, verify_sns_sqs="when_present")
    Ingester.from_settings(settings, engine, entry_point="sqs").ingest(
        [Item(b"not json", "sqs:m-1"), Item(forged("a broken signature"), "sqs:m-2")], "queue"
    )
    assert sorted(rows(engine, "dead_letters", "entry_point", "reason_code", "verify_mode")) == [
        ("sqs", "bad_signature", "required"),
        ("sqs", "not_json", "when_present"),
    ]


def test_a_dead_letter_for_a_shape_now_supported_is_resolved_on_retry(engine: Engine) -> None:
    raw = fixture_bytes("ses_event_subscription_docs.json")
    letter_id = add_dead_letter(engine, raw)
    [outcome] = retry_dead_letters(engine, lenient_ingester(engine), OPS, [letter_id])
    assert outcome.resolved and outcome.stored == 1
    assert rows(engine, "facts", "kind") == [("subscription",)]


def test_one_that_still_fails_stays_open_with_the_new_reason_and_one_more_attempt(
    engine: Engine,
) -> None:
    letter_id = add_dead_letter(engine, b'{"eventType": "Bounce", "mail": {}}')
    for attempt in (1, 2):
        [outcome] = retry_dead_letters(engine, lenient_ingester(engine), OPS)
        assert not outcome.resolved
        assert outcome.reason is not None and "'bounce'" in outcome.reason
        [(status, attempts, code, last)] = rows(
            engine, "dead_letters", "status", "attempts", "reason_code", "last_attempt_at"
        )
        assert (status, attempts, code) == ("open", attempt, "missing_field")
        assert last is not None
    assert dead_letter_raw(engine, letter_id) == b'{"eventType": "Bounce", "mail": {}}'
    assert count(engine, "dead_letters") == 1


def test_retrying_only_some_ids_leaves_the_others_alone(engine: Engine) -> None:
    good = json.dumps(sns_envelope(make_bounce(["a@example.com"]))).encode()
    first = add_dead_letter(engine, good)
    second = add_dead_letter(engine, good.replace(b"a@example.com", b"b@example.com"))
    retry_dead_letters(engine, lenient_ingester(engine), OPS, [second])
    assert rows(engine, "facts", "address") == [("b@example.com",)]
    assert [(v.id, v.status) for v in list_dead_letters(engine, status=None)] == [
        (second, "resolved"),
        (first, "open"),
    ]


def test_a_retried_notification_already_stored_counts_as_duplicate(engine: Engine) -> None:
    raw = json.dumps(make_bounce(["a@example.com"])).encode()
    Ingester(engine, entry_point="file").ingest([Item(raw, "f")], "f")
    add_dead_letter(engine, raw)
    [outcome] = retry_dead_letters(engine, lenient_ingester(engine), OPS)
    assert (outcome.resolved, outcome.stored, outcome.duplicates) == (True, 0, 1)
    assert rows(engine, "address_summaries", "hard_count") == [(1,)]
