"""Every payload in ../shared/peer-samples/cases, through the CLI and the Lambda handler.

Per case: stored facts carry bare addresses (no display name, quotes or spaces), one fact per
recipient, and whatever is refused is a dead letter with a specific reason. SOURCES.md there
says what each case is; EXPECTED below pins the cases whose outcome is the point. The CLI
reads files without signature checks (its default); the Lambda handler checks any signature
present (its default), against the certificates the samples ship.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import Engine

from core.cli.main import main
from core.ingest import lambda_handler
from core.store.db import make_engine, upgrade
from tests.conftest import FIXTURES, PEER_SAMPLES
from tests.ingest_factories import rows

CASES = PEER_SAMPLES / "cases"
CASE_NAMES = sorted(p.name for p in CASES.iterdir()) if CASES.is_dir() else []
SNS_TYPES = {"Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"}
CONTEXT = SimpleNamespace(aws_request_id="peer-samples")

# case -> (facts stored, confirmations recorded, dead-letter reason codes), from SOURCES.md.
EXPECTED: dict[str, tuple[int, int, list[str]]] = {
    "hostile_send_destination_display_names.json": (2, 0, []),
    "teknasyon_event_subscription_display_name_destination.json": (1, 0, []),
    "hostile_number_email_address.json": (0, 0, ["wrong_type"]),
    "hostile_non_address_text.json": (0, 0, ["invalid_address"]),
    "hostile_lone_surrogate_address.json": (0, 0, ["invalid_address"]),
    "hostile_fifty_recipients.json": (50, 0, []),
    "anymail_multiple_bounce_no_timestamps.json": (2, 0, []),
    "anymail_complaint_no_timestamps.json": (1, 0, []),
    "anymail_rendering_failure_no_timestamps.json": (1, 0, []),
    "anymail_ses_topic_validated_notice_sns.json": (0, 1, []),
    "anymail_ses_topic_validated_notice_sqs_raw.json": (0, 1, []),
    "hostile_deep_nesting.json": (0, 0, ["too_deep"]),
    "hostile_sns_deep_nesting.json": (0, 0, ["too_deep"]),
}
# Set for one case only, as SOURCES.md says.
SETTINGS = {"eff_complaint_too_old.json": {"BOUNCEDESK_SNS_MAX_MESSAGE_AGE_SECONDS": "3600"}}


@pytest.fixture
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No stray settings; the signing certificates (real and peer) pinned from disk."""
    if not CASES.is_dir():
        pytest.skip(f"../shared/peer-samples is absent (expected at {PEER_SAMPLES})")
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("BOUNCEDESK_"):
            monkeypatch.delenv(name)
    certs = tmp_path / "certs"
    certs.mkdir()
    for pem in FIXTURES.glob("sns_signing_cert_*.pem"):
        digest = pem.name.split("_")[3]
        (certs / f"SimpleNotificationService-{digest}.pem").write_bytes(pem.read_bytes())
    for name, pem in json.loads((PEER_SAMPLES / "certs.json").read_text()).items():
        (certs / name).write_text(pem)
    monkeypatch.setenv("BOUNCEDESK_SNS_CERT_DIR", str(certs))
    return tmp_path


def _text(name: str) -> str:
    data = (CASES / name).read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data.decode("utf-8-sig", "surrogateescape")


def lambda_event(name: str) -> dict[str, Any]:
    """The case as Lambda would deliver it: as is if it is a Lambda event, an SNS envelope
    in an SNS-triggered event, anything else as SQS bodies (raw delivery)."""
    text = _text(name)
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # NDJSON, not JSON, too deep: an SQS body a line
        return {"Records": [_sqs(line) for line in text.splitlines() if line.strip()]}
    if isinstance(value, dict) and isinstance(value.get("Records"), list):
        return value
    if isinstance(value, dict) and value.get("Type") in SNS_TYPES:
        return {"Records": [{"EventSource": "aws:sns", "Sns": value}]}
    if isinstance(value, dict) and isinstance(value.get("Messages"), list):
        return {"Records": [_sqs(m["Body"]) for m in value["Messages"]]}
    if isinstance(value, dict) and "Body" in value and "MessageId" in value:
        return {"Records": [_sqs(value["Body"])]}
    return {"Records": [_sqs(text)]}


def _sqs(body: str) -> dict[str, Any]:
    return {
        "messageId": "peer",
        "body": body,
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:peer",
    }


def check_outcome(engine: Engine, name: str, *, signatures_checked: bool = False) -> None:
    facts = rows(engine, "facts", "event_key", "address", "domain")
    for _, address, domain in facts:
        assert not set('<>" ') & set(address + domain), address
        assert address.count("@") == 1 and address.endswith("@" + domain)
    keys = [(event_key, address) for event_key, address, _ in facts]
    assert len(keys) == len(set(keys)), "one fact per recipient"
    letters = rows(engine, "dead_letters", "reason_code", "reason")
    for code, reason in letters:
        assert code and code != "internal_error" and reason.strip(), (code, reason)
    if signatures_checked and any(code == "bad_signature" for code, _ in letters):
        return  # EXPECTED is the parser's view; this case's signature did not verify
    if name in EXPECTED:
        stored, confirmations, codes = EXPECTED[name]
        assert len(facts) == stored
        assert len(rows(engine, "sns_confirmations", "id")) == confirmations
        assert sorted(code for code, _ in letters) == codes


@pytest.mark.parametrize("name", CASE_NAMES or ["(none)"])
def test_each_peer_case_through_the_cli(
    name: str, environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for setting, value in SETTINGS.get(name, {}).items():
        monkeypatch.setenv(setting, value)
    url = f"sqlite:///{environment / 'cli.db'}"
    assert main(["--database-url", url, "ingest", str(CASES / name)]) == 0
    engine = make_engine(url)
    try:
        check_outcome(engine, name)
    finally:
        engine.dispose()


@pytest.fixture
def lambda_engine(environment: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The handler's own ingester (built from settings) on a migrated database."""
    url = f"sqlite:///{environment / 'lambda.db'}"
    engine = make_engine(url)
    upgrade(engine)
    monkeypatch.setenv("BOUNCEDESK_DATABASE_URL", url)
    lambda_handler._ingester.cache_clear()
    yield engine
    lambda_handler._ingester.cache_clear()
    engine.dispose()


@pytest.mark.parametrize("name", CASE_NAMES or ["(none)"])
def test_each_peer_case_through_the_lambda_handler(
    name: str, lambda_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    for setting, value in SETTINGS.get(name, {}).items():
        monkeypatch.setenv(setting, value)
    result = lambda_handler.handler(lambda_event(name), CONTEXT)
    assert result.get("batchItemFailures", []) == []
    check_outcome(lambda_engine, name, signatures_checked=True)
