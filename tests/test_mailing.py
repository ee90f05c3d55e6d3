"""The mailing exclusion rules, one by one, and the exclusion list as CSV and CLI."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert

from core.cli.main import main
from core.clock import utcnow
from core.recipients.confirmations import confirm_valid
from core.recipients.mailing import excluded_addresses, export_exclusions_csv, mailing_status
from core.settings import Settings
from core.store.models import SuppressedDestination
from tests.factories import OPS, ingest, make_bounce, make_complaint, make_delivery

NOW = datetime(2026, 10, 31, 12)
SETTINGS = Settings(soft_bounce_exclusion_count=2, soft_bounce_window_days=30)


def days_ago(n: int) -> datetime:
    return NOW - timedelta(days=n)


def soft(address: str, when: datetime) -> dict:
    return make_bounce([address], bounce_type="Transient", subtype="MailboxFull", at=when)


def suppress(engine: Engine, address: str) -> None:
    row = {
        "address": address,
        "email_address": address,
        "reason": "BOUNCE",
        "last_update_time": days_ago(3),
        "first_seen_at": days_ago(3),
        "last_seen_at": days_ago(1),
        "suppressed": True,
        "removed_by_us": False,
        "sync_generation": 1,
    }
    with engine.begin() as connection:
        connection.execute(insert(SuppressedDestination.__table__), [row])


def status(engine: Engine, address: str, settings: Settings = SETTINGS):  # noqa: ANN201
    return mailing_status(engine, address, settings, now=NOW)


def test_an_address_with_nothing_against_it_is_mailable(engine: Engine) -> None:
    ingest(engine, make_delivery(["fine@example.com"], at=days_ago(1)))
    result = status(engine, "fine@example.com")
    assert result.mailable and result.reasons and result.confirmed_valid_at is None


def test_a_hard_bounce_excludes_and_the_reason_quotes_it(engine: Engine) -> None:
    ingest(engine, make_bounce(["gone@example.com"], at=datetime(2026, 10, 1, 9)))
    result = status(engine, "gone@example.com")
    assert not result.mailable
    assert result.reasons == [
        "hard bounce on 2026-10-01 (Permanent/General): smtp; 550 5.1.1 user unknown"
    ]


def test_soft_bounces_exclude_only_from_the_configured_count_within_the_window(
    engine: Engine,
) -> None:
    ingest(
        engine,
        soft("once@example.com", days_ago(2)),
        soft("twice@example.com", days_ago(2)),
        soft("twice@example.com", days_ago(20)),
        soft("spread@example.com", days_ago(2)),
        soft("spread@example.com", days_ago(40)),
    )
    assert status(engine, "once@example.com").mailable
    assert status(engine, "spread@example.com").mailable  # one of the two is too old
    twice = status(engine, "twice@example.com")
    assert not twice.mailable
    assert twice.reasons[0].startswith("2 soft bounces in 30 days, last on 2026-10-29")
    strict = Settings(soft_bounce_exclusion_count=1, soft_bounce_window_days=30)
    assert not status(engine, "once@example.com", strict).mailable


def test_a_complaint_excludes_even_after_a_confirmation(engine: Engine) -> None:
    ingest(engine, make_complaint(["angry@example.com"], at=days_ago(5)))
    confirm_valid(engine, ["angry@example.com"], actor=OPS, note="mailbox exists")
    result = status(engine, "angry@example.com")
    assert not result.mailable
    assert result.reasons == ["complaint on 2026-10-26 (abuse)"]


def test_a_confirmation_newer_than_the_last_bounce_makes_it_mailable_again(
    engine: Engine,
) -> None:
    ingest(engine, make_bounce(["back@example.com"], at=days_ago(5)))
    ingest(engine, soft("back@example.com", days_ago(4)), soft("back@example.com", days_ago(3)))
    confirm_valid(engine, ["back@example.com"], actor=OPS, note="user fixed the mailbox")
    result = status(engine, "back@example.com")
    assert result.mailable and result.confirmed_valid_at is not None
    assert result.reasons[0].startswith("confirmed valid on ")


def test_a_bounce_after_the_confirmation_excludes_again(engine: Engine) -> None:
    ingest(engine, make_bounce(["again@example.com"], at=days_ago(5)))
    confirm_valid(engine, ["again@example.com"], actor=OPS, note="checked")
    ingest(engine, make_bounce(["again@example.com"], at=utcnow() + timedelta(hours=12)))
    assert not status(engine, "again@example.com").mailable


def test_an_address_on_the_suppression_list_is_excluded_even_when_confirmed(
    engine: Engine,
) -> None:
    suppress(engine, "listed@example.com")
    confirm_valid(engine, ["listed@example.com"], actor=OPS, note="valid, awaiting removal")
    result = status(engine, "listed@example.com")
    assert not result.mailable
    assert result.reasons == ["on the SES account suppression list (BOUNCE) since 2026-10-28"]


def test_undetermined_bounces_alone_do_not_exclude(engine: Engine) -> None:
    ingest(engine, make_bounce(["maybe@example.com"], bounce_type="Undetermined", at=days_ago(1)))
    assert status(engine, "maybe@example.com").mailable


def seed_mixture(engine: Engine) -> None:
    ingest(
        engine,
        make_bounce(["hard@example.com"], at=days_ago(10)),
        soft("soft@example.com", days_ago(2)),
        soft("soft@example.com", days_ago(3)),
        soft("onesoft@example.com", days_ago(3)),
        make_complaint(["angry@example.com"], at=days_ago(1)),
        make_bounce(["=cmd@example.com"], at=days_ago(1)),
        make_bounce(["fixed@example.com"], at=days_ago(9)),
        make_delivery(["fine@example.com"], at=days_ago(1)),
    )
    suppress(engine, "listed-only@example.com")
    confirm_valid(engine, ["fixed@example.com"], actor=OPS, note="checked")


def test_the_exclusion_list_agrees_with_the_status_of_every_address(engine: Engine) -> None:
    seed_mixture(engine)
    excluded = {row.address: row for row in excluded_addresses(engine, SETTINGS, now=NOW)}
    assert set(excluded) == {
        "=cmd@example.com",
        "angry@example.com",
        "hard@example.com",
        "listed-only@example.com",
        "soft@example.com",
    }
    for address in [*excluded, "onesoft@example.com", "fixed@example.com", "fine@example.com"]:
        assert status(engine, address).mailable is (address not in excluded)
    assert excluded["hard@example.com"].since == days_ago(10)
    assert excluded["hard@example.com"].reason.startswith("hard bounce on 2026-10-21")


def test_the_exclusion_csv_has_every_row_a_bom_and_no_live_formulas(engine: Engine) -> None:
    seed_mixture(engine)
    out = io.BytesIO()
    written = export_exclusions_csv(engine, OPS, SETTINGS, out, bom=True, now=NOW)
    text = out.getvalue().decode("utf-8")
    assert text.startswith("\ufeffaddress,reason,since\r\n")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))[1:]
    assert written == len(rows) == 5
    assert rows[0][0] == "'=cmd@example.com"


def test_the_status_command_exits_0_when_mailable_and_3_when_excluded(
    engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    ingest(engine, make_bounce(["gone@example.com"], at=days_ago(1)))
    url = engine.url.render_as_string(hide_password=False)
    assert main(["--database-url", url, "status", "gone@example.com"]) == 3
    assert "mailable no" in capsys.readouterr().out
    assert main(["status", "fine@example.com", "--database-url", url]) == 0
    assert "mailable yes" in capsys.readouterr().out


def test_the_exclusions_export_command_writes_the_csv(engine: Engine, tmp_path: Path) -> None:
    ingest(engine, make_bounce(["gone@example.com"], at=days_ago(1)))
    url = engine.url.render_as_string(hide_password=False)
    target = tmp_path / "exclusions.csv"
    assert main(["exclusions", "export", "-o", str(target), "--bom", "--database-url", url]) == 0
    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfaddress,reason,since\r\ngone@example.com,hard bounce")


def test_each_reason_is_also_a_finding_the_dashboard_can_word_in_its_language(
    engine: Engine,
) -> None:
    ingest(engine, make_bounce(["gone@example.com"], at=datetime(2026, 10, 1, 9)))
    ingest(engine, make_complaint(["gone@example.com"], at=datetime(2026, 10, 2, 9)))
    suppress(engine, "gone@example.com")
    result = status(engine, "gone@example.com")
    assert [f.code for f in result.findings] == ["hard", "complaint", "suppressed"]
    hard = result.findings[0]
    assert (hard.at, hard.kind) == (datetime(2026, 10, 1, 9), "Permanent/General")
    assert result.findings[2].kind == "BOUNCE"
    assert len(result.reasons) == len(result.findings)
