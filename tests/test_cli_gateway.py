"""The gateway CLI commands, end to end: argparse -> core -> the SES emulator over HTTP."""

from __future__ import annotations

import argparse
import io
import os
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core import cli, suppression
from core.cli_gateway import _confirmed, register
from core.db import make_engine, session_factory
from core.models import AuditEntry, Confirmation, RemovalRun, SuppressedDestination
from emulator.launch import EmulatorHandle, running_emulator


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorHandle]:
    with running_emulator() as handle:
        yield handle


@pytest.fixture
def aws(emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> EmulatorHandle:
    """The standard AWS variables point at the emulator; nothing else is configured."""
    emulator.state.reset()
    for name in list(os.environ):
        if name.startswith(("AWS_", "BOUNCEDESK_")):
            monkeypatch.delenv(name)
    for name, value in emulator.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("BOUNCEDESK_AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("BOUNCEDESK_SES_REQUEST_RATE", "100")
    monkeypatch.setenv("BOUNCEDESK_ACTOR", "ops@qube.example")
    return emulator


def run(*argv: str) -> int:
    """Build a parser the way core.cli does and call the handler with parsed args only."""
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.handler(args))


def mirror_count(url: str, suppressed: bool = True) -> int:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            query = select(func.count()).where(SuppressedDestination.suppressed.is_(suppressed))
            return int(session.scalar(query) or 0)
    finally:
        engine.dispose()


def test_sync_prints_a_summary_and_fills_the_mirror(
    aws: EmulatorHandle, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for address in ("a@example.com", "b@example.com", "c@example.com"):
        aws.state.put_suppressed(address)
    assert run("suppression", "sync", "--database-url", database_url) == 0
    assert "full sync" in capsys.readouterr().out
    assert mirror_count(database_url) == 3


def test_the_database_url_before_the_command_reaches_the_gateway_commands(
    aws: EmulatorHandle, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.state.put_suppressed("a@example.com")
    assert cli.main(["--database-url", database_url, "suppression", "sync"]) == 0
    assert "1 listed" in capsys.readouterr().out
    assert mirror_count(database_url) == 1


def test_remove_refuses_to_act_unconfirmed_when_nobody_can_answer(
    aws: EmulatorHandle,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    aws.state.put_suppressed("a@example.com")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert run("suppression", "remove", "a@example.com", "--database-url", database_url) == 1
    assert "--yes" in capsys.readouterr().err
    assert aws.state.get_suppressed("a@example.com") is not None


def test_remove_asks_and_proceeds_only_on_yes() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    args = argparse.Namespace(yes=False)
    assert _confirmed(args, "Remove?", Terminal("y\n")) is True
    assert _confirmed(args, "Remove?", Terminal("\n")) is False


def test_remove_from_file_prints_each_result_and_exits_non_zero_when_one_fails(
    aws: EmulatorHandle, database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for address in ("a@example.com", "b@example.com"):
        aws.state.put_suppressed(address)
    aws.admin.add_fault("DeleteSuppressedDestination", 400, email_address="b@example.com")
    listing = tmp_path / "remove.txt"
    listing.write_text("a@example.com\nb@example.com\nnot-an-address\n", encoding="utf-8")
    code = run(
        "suppression", "remove", "--from-file", str(listing), "--reason", "confirmed valid",
        "--yes", "--database-url", database_url,
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 1
    assert "rejected line 3: 'not-an-address': not a valid email address" in out
    assert "removed a@example.com" in out and "failed b@example.com" in out
    assert "retry-failed" in out
    assert aws.state.get_suppressed("a@example.com") is None


def test_resume_finishes_a_run_that_was_recorded_but_never_sent(
    aws: EmulatorHandle, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.state.put_suppressed("a@example.com")
    engine = make_engine(database_url)
    run_id = suppression.create_removal_run(
        session_factory(engine), ["a@example.com"], "ops", "r", "api"
    )
    engine.dispose()
    assert run("suppression", "resume", str(run_id), "--database-url", database_url) == 0
    assert f"removal run {run_id} (api): completed; 1 removed" in capsys.readouterr().out


def test_a_run_that_does_not_exist_is_a_one_line_error(
    aws: EmulatorHandle, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("suppression", "resume", "999", "--database-url", database_url) == 1
    assert capsys.readouterr().err.strip() == "error: there is no removal run 999"


def test_an_import_job_is_started_and_polled_to_completion(
    aws: EmulatorHandle,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    aws.client("s3").create_bucket(Bucket="imports")
    monkeypatch.setenv("BOUNCEDESK_SUPPRESSION_IMPORT_BUCKET", "imports")
    aws.state.put_suppressed("a@example.com")
    listing = tmp_path / "bulk.txt"
    listing.write_text("a@example.com\n", encoding="utf-8")
    common = ("--database-url", database_url)
    assert run("suppression", "import-job", "--from-file", str(listing), "--yes", *common) == 0
    assert "1 submitted" in capsys.readouterr().out
    for _ in range(100):
        if aws.state.list_jobs()[0].status == "COMPLETED":
            break
        time.sleep(0.05)
    assert run("suppression", "poll-jobs", *common) == 0
    assert "COMPLETED, 1 records, 1 processed" in capsys.readouterr().out
    engine = make_engine(database_url)
    with session_factory(engine)() as session:
        assert session.scalar(select(RemovalRun.status)) == "completed"
    engine.dispose()


def test_export_writes_the_console_csv_of_confirmed_addresses(
    aws: EmulatorHandle, database_url: str, tmp_path: Path
) -> None:
    for address in ("Ok@Example.com", "other@example.com"):
        aws.state.put_suppressed(address)
    assert run("suppression", "sync", "--database-url", database_url) == 0
    engine = make_engine(database_url)
    with session_factory(engine)() as session:
        session.add(
            Confirmation(address="Ok@example.com", confirmed_at=datetime.now(), actor="s", note="n")
        )
        session.commit()
    engine.dispose()
    out = tmp_path / "console.csv"
    code = run(
        "suppression", "export", "--console-csv", "-o", str(out), "--database-url", database_url
    )
    assert code == 0
    assert out.read_bytes() == b"Ok@Example.com\n"
    engine = make_engine(database_url)
    with session_factory(engine)() as session:
        audited = session.scalars(
            select(AuditEntry.outcome).where(AuditEntry.action == "export.console_csv")
        )
        assert list(audited) == ["1 addresses"]
    engine.dispose()


def test_account_records_a_snapshot_and_exits_non_zero_when_ses_is_not_healthy(
    aws: EmulatorHandle, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.state.set_account(enforcement_status="PROBATION")
    assert run("account", "--database-url", database_url) == 1
    assert "enforcement status: PROBATION" in capsys.readouterr().out


def test_metrics_pull_reports_both_sources(
    aws: EmulatorHandle, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.state.record_sending(datetime.now(), delivery_attempts=10, bounces=1)
    assert run("metrics", "pull", "--days", "1", "--database-url", database_url) == 0
    out = capsys.readouterr().out
    assert "cloudwatch:" in out and "send_statistics: 4 points" in out


def test_missing_region_exits_2_with_instructions_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in list(os.environ):
        if name.startswith(("AWS_", "BOUNCEDESK_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "k")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s")
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    assert run("suppression", "sync", "--database-url", url) == 2
    err = capsys.readouterr().err
    assert err.startswith("configuration error: no AWS region") and "Traceback" not in err
