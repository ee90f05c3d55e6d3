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

from core.access import Role
from core.cli import main as cli
from core.cli.suppression import _confirmed
from core.errors import SesUnreachable
from core.recipients.confirmations import confirm_valid
from core.ses.gateway import SesGateway
from core.settings import load_settings
from core.store.db import make_engine, session_factory
from core.store.models import AuditEntry, Confirmation, RemovalRun, SuppressedDestination
from core.suppression import removal
from emulator.launch import EmulatorHandle, running_emulator
from tests.factories import person


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
    """The command line as an operator types it: parser, settings, handler, exit code."""
    return cli.main(list(argv))


def confirm(url: str, *addresses: str) -> None:
    """Staff confirmed these addresses valid (so an operator may remove them)."""
    engine = make_engine(url)
    try:
        confirm_valid(engine, addresses, actor=person("ops@qube.example"), note="phoned them")
    finally:
        engine.dispose()


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
    confirm(database_url, "a@example.com")
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
    confirm(database_url, "a@example.com", "b@example.com")
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


class Unreachable(SesGateway):
    """The connection drops before the first removal reaches SES."""

    def delete_suppressed_destination(self, email_address: str) -> None:
        raise SesUnreachable("cannot reach AWS (connection reset)")


def test_resume_finishes_a_run_that_was_recorded_but_never_sent_if_the_role_still_may(
    aws: EmulatorHandle,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    aws.state.put_suppressed("a@example.com")
    engine = make_engine(database_url)
    admin = person("ops@qube.example", Role.ADMIN)
    with pytest.raises(SesUnreachable):
        removal.Remover(
            engine, Unreachable.from_settings(load_settings()), max_per_click=10
        ).remove(
            ["a@example.com"],
            actor=admin,
            reason="the user's IT confirmed the mailbox",
            override=True,
        )
    with session_factory(engine)() as session:
        run_id = str(session.scalar(select(RemovalRun.id)))
    engine.dispose()
    # The address is not confirmed valid: an admin included it, an operator may not resume.
    assert run("suppression", "resume", run_id, "--database-url", database_url) == 1
    assert "needs the admin role (yours: operator)" in capsys.readouterr().err
    monkeypatch.setenv("BOUNCEDESK_CLI_ROLE", "admin")
    assert run("suppression", "resume", run_id, "--database-url", database_url) == 0
    assert f"removal run {run_id} (api): completed; 1 removed" in capsys.readouterr().out
    assert aws.state.get_suppressed("a@example.com") is None


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
    confirm(database_url, "a@example.com")
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


# --- Guardrails on the command line ------------------------------------------------------


def test_a_dry_run_prints_the_plan_for_the_cli_role_and_changes_nothing(
    aws: EmulatorHandle, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for address in ("ok@example.com", "new@example.com"):
        aws.state.put_suppressed(address)
    assert run("suppression", "sync", "--database-url", database_url) == 0
    confirm(database_url, "ok@example.com")
    capsys.readouterr()
    code = run(
        "suppression", "remove", "ok@example.com", "new@example.com", "--dry-run",
        "--database-url", database_url,
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 1, "something in the plan is not allowed"
    assert "  allowed     ok@example.com: confirmed valid since its last bounce" in out
    assert "  needs_admin new@example.com: not confirmed valid since its last bounce." in out
    assert "plan for ops@qube.example (operator): 1 allowed, 1 needs admin, 0 blocked" in out
    assert aws.state.get_suppressed("ok@example.com") is not None
    assert mirror_count(database_url) == 2


def test_an_operator_removes_the_confirmed_ones_and_leaves_out_the_rest(
    aws: EmulatorHandle, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for address in ("ok@example.com", "new@example.com"):
        aws.state.put_suppressed(address)
    confirm(database_url, "ok@example.com")
    code = run(
        "suppression", "remove", "ok@example.com", "new@example.com", "--admin-override",
        "--reason", "trust me", "--yes", "--database-url", database_url,
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 1
    assert "needs_admin new@example.com" in out and "removed ok@example.com" in out
    assert aws.state.get_suppressed("ok@example.com") is None
    assert aws.state.get_suppressed("new@example.com") is not None


def test_an_admin_removes_an_unconfirmed_address_only_with_the_override_and_a_reason(
    aws: EmulatorHandle,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    aws.state.put_suppressed("new@example.com")
    monkeypatch.setenv("BOUNCEDESK_CLI_ROLE", "admin")
    common = ("new@example.com", "--yes", "--database-url", database_url)
    assert run("suppression", "remove", *common) == 1
    assert run("suppression", "remove", "--admin-override", *common) == 1
    assert "A written reason is required" in capsys.readouterr().out
    assert aws.state.get_suppressed("new@example.com") is not None
    reason = ("--reason", "mailbox recreated, ticket 91")
    assert run("suppression", "remove", "--admin-override", *reason, *common) == 0
    assert aws.state.get_suppressed("new@example.com") is None


def test_an_import_job_above_the_per_click_limit_needs_the_exact_count(
    aws: EmulatorHandle,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    aws.client("s3").create_bucket(Bucket="imports")
    monkeypatch.setenv("BOUNCEDESK_SUPPRESSION_IMPORT_BUCKET", "imports")
    monkeypatch.setenv("BOUNCEDESK_MAX_REMOVALS_PER_CLICK", "1")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    addresses = ["a@example.com", "b@example.com"]
    for address in addresses:
        aws.state.put_suppressed(address)
    confirm(database_url, *addresses)
    listing = tmp_path / "bulk.txt"
    listing.write_text("\n".join(addresses), encoding="utf-8")
    common = ("suppression", "import-job", "--from-file", str(listing), "--yes")
    db = ("--database-url", database_url)
    assert run(*common, *db) == 1
    assert "pass --confirm-count 2" in capsys.readouterr().err
    assert run(*common, "--confirm-count", "3", *db) == 1
    assert aws.state.list_jobs() == []
    assert run(*common, "--confirm-count", "2", *db) == 0
    assert "2 submitted" in capsys.readouterr().out
    assert run("suppression", "remove", *addresses, "--yes", *db) == 1
    assert "more than 1 at once" in capsys.readouterr().err


def test_the_console_export_names_the_addresses_it_leaves_out(
    aws: EmulatorHandle, database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for address in ("ok@example.com", "-dash@example.com"):
        aws.state.put_suppressed(address)
    assert run("suppression", "sync", "--database-url", database_url) == 0
    confirm(database_url, "ok@example.com", "-dash@example.com")
    out = tmp_path / "console.csv"
    assert run("suppression", "export", "--console-csv", "-o", str(out), "--database-url",
               database_url) == 0  # fmt: skip
    assert out.read_bytes() == b"ok@example.com\n"
    assert "left out '-dash@example.com'" in capsys.readouterr().err


def test_a_viewer_cli_role_may_export_but_not_sync(
    aws: EmulatorHandle,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("BOUNCEDESK_CLI_ROLE", "viewer")
    monkeypatch.setenv("BOUNCEDESK_ACCESS_CONTACT", "#ses-ops")
    aws.state.put_suppressed("a@example.com")
    assert run("suppression", "sync", "--database-url", database_url) == 1
    assert capsys.readouterr().err.strip() == (
        "error: Syncing the suppression list or checking import jobs needs the operator role "
        "(yours: viewer); ask #ses-ops."
    )
    assert mirror_count(database_url) == 0
    assert run("suppression", "export", "--console-csv", "--database-url", database_url) == 0
