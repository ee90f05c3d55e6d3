"""`python -m core ingest` and `dead-letters`: thin commands over core.ingest, end to end."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from core.cli.main import main
from core.store.db import make_engine
from tests.conftest import fixture_bytes, load_fixture, require_shared
from tests.ingest_factories import (
    count,
    lambda_sns_record,
    lambda_sqs_record,
    make_bounce,
    make_delivery,
    make_send,
    ndjson,
    rows,
    sns_envelope,
)

ROOT = Path(__file__).resolve().parent.parent
SIGNED = "sns_real_signed_ses_event_complaint_simulator_sigv1_2022_djangoses"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty directory as cwd, so no stray bouncedesk.toml or data/ is used."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("BOUNCEDESK_"):
            monkeypatch.delenv(name)
    return tmp_path


@pytest.fixture
def url(workdir: Path) -> str:
    return f"sqlite:///{workdir / 'cli.db'}"


def run(*args: str, stdin: bytes | None = None, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOUNCEDESK_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "core", *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=60,
    )


def engine_for(url: str) -> Any:
    return make_engine(url)


def test_the_command_ingests_a_document_an_array_ndjson_and_gzip(workdir: Path, url: str) -> None:
    Path("doc.json").write_bytes(
        fixture_bytes("ses_feedback_bounce_permanent_general_no_dsn_docs.json")
    )
    Path("array.json").write_text(json.dumps([make_send(["s@example.com"]), make_delivery()]))
    Path("lines.ndjson").write_bytes(
        ndjson([sns_envelope(make_bounce([f"n{i}@x.jp"])) for i in range(3)])
    )
    Path("lines.ndjson.gz").write_bytes(gzip.compress(ndjson([make_bounce(["gz@example.com"])])))
    done = run(
        "ingest", "doc.json", "array.json", "lines.ndjson", "lines.ndjson.gz",
        "--database-url", url, cwd=workdir,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "received 7, stored 8, duplicates 0, dead_lettered 0, confirmations 0, ignored 0"
    )
    assert "doc.json: received 1, stored 2" in done.stderr
    assert "lines.ndjson.gz: received 1, stored 1" in done.stderr
    engine = engine_for(url)
    assert count(engine, "facts") == 8
    assert {source for (source,) in rows(engine, "ingestion_runs", "source")} == {
        "doc.json",
        "array.json",
        "lines.ndjson",
        "lines.ndjson.gz",
    }


def test_the_command_reads_standard_input(workdir: Path, url: str) -> None:
    data = ndjson([sns_envelope(make_bounce(["in@example.com"])), make_send()])
    done = run("--database-url", url, "ingest", "-", stdin=data, cwd=workdir)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("received 2, stored 2")
    assert "stdin: received 2" in done.stderr


def test_a_file_mixing_every_shape_is_stored(
    url: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bounce = make_bounce(["mixed@example.com"])
    lines = [
        make_send(["bare@example.com"]),
        sns_envelope(bounce),
        {"Records": [lambda_sns_record(make_delivery(["lambda@example.com"]))]},
        {"Records": [lambda_sqs_record(json.dumps(sns_envelope(bounce)))]},
        {"Messages": [{"MessageId": "m", "ReceiptHandle": "r", "Body": json.dumps(make_send())}]},
        load_fixture("sns_http_subscription_confirmation_docs.json"),
        {"notificationType": "AmazonSnsSubscriptionSucceeded", "message": "ok"},
    ]
    Path("mixed.ndjson").write_bytes(ndjson(lines))
    assert main(["--database-url", url, "ingest", "mixed.ndjson"]) == 0
    assert capsys.readouterr().out.strip() == (
        "received 7, stored 4, duplicates 1, dead_lettered 0, confirmations 1, ignored 1"
    )


def test_a_malformed_ndjson_line_is_dead_lettered_and_the_rest_stored(
    url: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = ndjson([make_bounce(["a@example.com"]), make_bounce(["b@example.com"])])
    first, second = good.splitlines(keepends=True)
    broken = b'{"notificationType": "Bounce", "bounce": {\n'
    Path("n.ndjson").write_bytes(first + broken + second)
    assert main(["--database-url", url, "ingest", "n.ndjson"]) == 0
    assert "stored 2, duplicates 0, dead_lettered 1" in capsys.readouterr().out
    [(raw, code, source)] = rows(engine_for(url), "dead_letters", "raw", "reason_code", "source")
    assert (bytes(raw), code, source) == (broken, "not_json", "file:n.ndjson#2")


def test_ingesting_the_same_file_twice_stores_nothing_new(
    url: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Path("n.ndjson").write_bytes(ndjson([make_bounce(["a@example.com", "b@example.com"])]))
    main(["--database-url", url, "ingest", "n.ndjson"])
    capsys.readouterr()
    main(["--database-url", url, "ingest", "n.ndjson"])
    assert "stored 0, duplicates 2" in capsys.readouterr().out


@pytest.fixture
def cert_dir(workdir: Path) -> Path:
    directory = workdir / "certs"
    directory.mkdir()
    for pem in require_shared().glob("sns_signing_cert_*.pem"):
        shutil.copy(pem, directory / f"SimpleNotificationService-{pem.name.split('_')[3]}.pem")
    return directory


def test_dead_letters_are_listed_and_a_forged_signature_stays_open_even_retried_without_checks(
    url: str,
    workdir: Path,
    cert_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BOUNCEDESK_SNS_CERT_DIR", str(cert_dir))
    genuine = load_fixture(f"{SIGNED}.json")
    forged = dict(genuine, Message=genuine["Message"].replace('"abuse"', '"not-spam"'))
    Path("signed.ndjson").write_bytes(ndjson([genuine, forged]))
    assert main(["--database-url", url, "ingest", "signed.ndjson", "--verify", "required"]) == 0
    assert "stored 1, duplicates 0, dead_lettered 1" in capsys.readouterr().out

    assert main(["--database-url", url, "dead-letters", "list"]) == 0
    listing = capsys.readouterr().out
    assert "bad_signature" in listing and "signature_mismatch" in listing
    assert "file:signed.ndjson#2" in listing

    retry = ["--database-url", url, "dead-letters", "retry"]
    assert main([*retry, "--verify", "required"]) == 1
    assert "0 resolved, 1 still open" in capsys.readouterr().out

    # A letter refused for its signature is never resolved by a weaker mode.
    assert main([*retry, "--verify", "off"]) == 1
    out = capsys.readouterr().out
    assert "signature_mismatch" in out and "0 resolved, 1 still open" in out
    assert count(engine_for(url), "facts") == 1

    assert main(["--database-url", url, "dead-letters", "list", "--all"]) == 0
    listing = capsys.readouterr().out
    assert "open     bad_signature" in listing and "resolved" not in listing


def test_a_dead_letter_for_a_shape_now_supported_is_resolved_by_retry(
    url: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import datetime

    from sqlalchemy import insert

    from core.store.models import DeadLetter

    engine = engine_for(url)
    with engine.begin() as connection:
        connection.execute(
            insert(DeadLetter.__table__),
            [
                {
                    "received_at": datetime(2024, 1, 1),
                    "source": "sqs:old-release",
                    "reason_code": "unsupported_type",
                    "reason": "unknown SES notification type 'DeliveryDelay'",
                    "raw": fixture_bytes("ses_event_delivery_delay_docs.json"),
                    "status": "open",
                    "attempts": 0,
                }
            ],
        )
    assert main(["--database-url", url, "dead-letters", "retry", "1"]) == 0
    assert "#1: resolved, 1 stored" in capsys.readouterr().out
    assert rows(engine, "facts", "kind") == [("delivery_delay",)]


def test_a_missing_file_is_reported_without_a_traceback_and_the_others_ingested(
    workdir: Path, url: str
) -> None:
    Path("n.ndjson").write_bytes(ndjson([make_send()]))
    done = run("--database-url", url, "ingest", "missing.ndjson", "n.ndjson", cwd=workdir)
    assert done.returncode == 1
    assert "error: cannot read missing.ndjson: No such file or directory" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout.startswith("received 1, stored 1")


def test_ingesting_by_hand_is_audited_and_needs_the_operator_role(
    workdir: Path, url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from core.audit import AuditFilter, list_audit, parameters_of

    (workdir / "n.ndjson").write_bytes(ndjson([make_bounce(["a@example.com"])]))
    monkeypatch.setenv("BOUNCEDESK_ACTOR", "ops@qube.example")
    assert main(["--database-url", url, "ingest", "n.ndjson"]) == 0
    entries = list_audit(make_engine(url), AuditFilter(action="ingest.files")).rows
    [entry] = [entry for entry in entries if entry.outcome != "started"]
    assert (entry.actor, entry.outcome) == ("ops@qube.example", "completed")
    assert parameters_of(entry)["stored"] == 1 and parameters_of(entry)["file"] == "n.ndjson"
    monkeypatch.setenv("BOUNCEDESK_CLI_ROLE", "viewer")
    capsys.readouterr()
    assert main(["--database-url", url, "ingest", "n.ndjson"]) == 1
    assert "needs the operator role (yours: viewer)" in capsys.readouterr().err
    assert list_audit(make_engine(url), AuditFilter(action="ingest.files")).total == 2


def test_dead_letters_list_shows_a_hostile_file_name_as_escapes_not_terminal_controls(
    url: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A file name can hold ESC (retitle the terminal, move the cursor) and bidi overrides.
    name = "evil\x1b]0;pwned\x07\u202eetats.ndjson"
    Path(name).write_bytes(b'{"notificationType": "Bounce", "bounce": {\n')
    assert main(["--database-url", url, "ingest", name]) == 0
    assert "\x1b" not in capsys.readouterr().err
    assert main(["--database-url", url, "dead-letters", "list"]) == 0
    listing = capsys.readouterr().out
    assert "\x1b" not in listing and "\x07" not in listing and "\u202e" not in listing
    assert "file:evil\\x1b]0;pwned\\x07\\u202eetats.ndjson#1" in listing
