"""The suppression-list mirror, what SES says about one address, and the console CSV, on
every database backend (removals are in test_removal.py).

SES is a real sesv2 client under botocore's Stubber (requests checked against the AWS
model).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import Stubber
from sqlalchemy import Engine, select

from core.errors import AwsCallFailed
from core.ses.gateway import SesGateway
from core.store.db import open_session
from core.store.models import Confirmation, SuppressionSync
from core.suppression import mirror as suppression
from emulator.launch import EmulatorHandle, running_emulator
from emulator.state import make_entry
from tests.factories import OPS
from tests.suppression_kit import (
    NO_WAIT,
    expect_page,
    full_sync,
    http_gateway,
    make_fact,
    mirror,
)


@pytest.fixture
def ses() -> Iterator[tuple[SesGateway, Stubber]]:
    client = boto3.client(
        "sesv2", region_name="eu-west-1", aws_access_key_id="k", aws_secret_access_key="s"
    )
    with Stubber(client) as stubber:
        yield SesGateway(client, request_rate=1000), stubber
        stubber.assert_no_pending_responses()


def test_a_full_sync_streams_every_page_into_the_mirror_and_records_the_counts(
    engine: Engine, ses: tuple[SesGateway, Stubber]
) -> None:
    gateway, stubber = ses
    pages = [[f"user{p}{i}@example.com" for i in range(3)] for p in range(4)]
    for number, page in enumerate(pages):
        expect_page(
            stubber,
            page,
            page_size=3,
            token=f"t{number}" if number else None,
            next_token=f"t{number + 1}" if number < 3 else None,
        )
    progress: list[tuple[int, int]] = []
    report = suppression.sync_suppression_list(
        engine,
        gateway,
        actor=OPS,
        page_size=3,
        progress=lambda p, s: progress.append((p, s)),
        **NO_WAIT,
    )
    assert (report.pages, report.seen, report.added, report.gone) == (4, 12, 12, 0)
    assert progress == [(1, 3), (2, 6), (3, 9), (4, 12)]
    assert len(mirror(engine)) == 12
    with open_session(engine) as session:
        sync = session.get(SuppressionSync, report.sync_id)
        assert sync is not None
        assert (sync.status, sync.pages, sync.seen, sync.added) == ("completed", 4, 12, 12)
        assert sync.finished_at is not None


def test_an_address_removed_outside_bounce_desk_is_kept_but_marked_no_longer_suppressed(
    engine: Engine, ses: tuple[SesGateway, Stubber]
) -> None:
    full_sync(engine, ses, ["a@example.com", "b@example.com", "c@example.com"])
    report = full_sync(engine, ses, ["a@example.com", "c@example.com"])
    assert (report.added, report.gone) == (0, 1)
    rows = mirror(engine)
    assert rows["b@example.com"].suppressed is False
    assert rows["b@example.com"].unsuppressed_at is not None
    assert rows["b@example.com"].removed_by_us is False
    assert rows["a@example.com"].suppressed is True


def test_an_address_listed_again_after_it_was_gone_counts_as_added(
    engine: Engine, ses: tuple[SesGateway, Stubber]
) -> None:
    full_sync(engine, ses, ["a@example.com", "b@example.com"])
    full_sync(engine, ses, ["a@example.com"])
    report = full_sync(engine, ses, ["a@example.com", "b@example.com"])
    assert report.added == 1
    assert mirror(engine)["b@example.com"].suppressed is True
    assert mirror(engine)["b@example.com"].unsuppressed_at is None


def test_an_incremental_sync_reads_changes_since_last_sync_minus_a_margin_and_marks_none_gone(
    engine: Engine, ses: tuple[SesGateway, Stubber]
) -> None:
    first = full_sync(engine, ses, ["a@example.com", "b@example.com"])
    with open_session(engine) as session:
        started = session.get(SuppressionSync, first.sync_id).started_at  # type: ignore[union-attr]
    gateway, stubber = ses
    since = started - suppression.INCREMENTAL_MARGIN
    expect_page(stubber, ["new@example.com"], since=since)
    report = suppression.sync_suppression_list(
        engine, gateway, actor=OPS, incremental=True, **NO_WAIT
    )
    assert report.incremental and report.since == since
    assert (report.added, report.gone) == (1, 0)
    assert report.detects_removals is False
    assert any("cannot see addresses removed" in note for note in report.notes)
    assert all(row.suppressed for row in mirror(engine).values())


def test_an_incremental_sync_without_a_previous_sync_reads_the_whole_list(
    engine: Engine, ses: tuple[SesGateway, Stubber]
) -> None:
    gateway, stubber = ses
    expect_page(stubber, ["a@example.com"])
    report = suppression.sync_suppression_list(
        engine, gateway, actor=OPS, incremental=True, **NO_WAIT
    )
    assert report.incremental is False and report.detects_removals is True
    assert report.notes


def test_the_mirror_matches_on_a_lowercased_domain_but_keeps_the_spelling_ses_lists(
    engine: Engine, ses: tuple[SesGateway, Stubber]
) -> None:
    full_sync(engine, ses, ["  Jane.Doe@Example.COM"])
    row = mirror(engine)["Jane.Doe@example.com"]
    assert row.email_address == "  Jane.Doe@Example.COM"


def test_a_sync_that_fails_half_way_is_recorded_as_failed_and_marks_nothing_gone(
    engine: Engine, ses: tuple[SesGateway, Stubber]
) -> None:
    full_sync(engine, ses, ["old@example.com"])
    gateway, stubber = ses
    expect_page(stubber, ["a@example.com"], next_token="t1")
    stubber.add_client_error(
        "list_suppressed_destinations", "InvalidNextTokenException", "token expired", 400
    )
    with pytest.raises(AwsCallFailed, match="token expired"):
        suppression.sync_suppression_list(engine, gateway, actor=OPS, **NO_WAIT)
    rows = mirror(engine)
    assert rows["old@example.com"].suppressed is True
    assert rows["a@example.com"].suppressed is True
    with open_session(engine) as session:
        failed = session.scalars(
            select(SuppressionSync).order_by(SuppressionSync.id.desc())
        ).first()
        assert failed is not None and failed.status == "failed"
        assert "token expired" in (failed.error or "")


def test_detail_joins_what_ses_says_to_our_stored_bounce_and_caches_the_ids(
    engine: Engine, ses: tuple[SesGateway, Stubber]
) -> None:
    full_sync(engine, ses, ["Jane@Example.com"])
    occurred = datetime(2024, 2, 29, 23, 0)
    with open_session(engine) as session:
        session.add(make_fact("Jane@example.com", feedback_id="fb-9", occurred_at=occurred))
        session.commit()
    gateway, stubber = ses
    stubber.add_response(
        "get_suppressed_destination",
        {
            "SuppressedDestination": {
                "EmailAddress": "Jane@Example.com",
                "Reason": "BOUNCE",
                "LastUpdateTime": datetime(2024, 3, 1, tzinfo=UTC),
                "Attributes": {"MessageId": "msg-9", "FeedbackId": "fb-9"},
            }
        },
        {"EmailAddress": "Jane@Example.com"},
    )
    detail = suppression.suppression_detail(engine, gateway, "Jane@EXAMPLE.com")
    assert detail.on_list and detail.feedback is not None
    assert (detail.feedback.bounce_type, detail.feedback.occurred_at) == ("Permanent", occurred)
    assert mirror(engine)["Jane@example.com"].ses_feedback_id == "fb-9"


def test_detail_of_an_address_not_on_the_list_says_so(
    engine: Engine, ses: tuple[SesGateway, Stubber]
) -> None:
    gateway, stubber = ses
    stubber.add_client_error("get_suppressed_destination", "NotFoundException", "nope", 404)
    detail = suppression.suppression_detail(engine, gateway, "x@example.com")
    assert detail.on_list is False and detail.feedback is None


def test_the_console_csv_has_one_address_per_line_and_no_header() -> None:
    body = suppression.console_bulk_delete_csv(
        [" a@example.com", "Ünïcode@example.jp", "a@example.com", ""]
    )
    assert body == "a@example.com\nÜnïcode@example.jp\n".encode()


def test_console_csv_candidates_are_confirmed_valid_and_still_suppressed(
    engine: Engine, ses: tuple[SesGateway, Stubber]
) -> None:
    full_sync(engine, ses, ["Ok@Example.com", "revoked@example.com", "plain@example.com"])
    now = datetime(2024, 3, 2)
    with open_session(engine) as session:
        session.add_all(
            [
                Confirmation(address="Ok@example.com", confirmed_at=now, actor="s", note="n"),
                Confirmation(
                    address="revoked@example.com", confirmed_at=now, actor="s", note="n",
                    revoked_at=now + timedelta(hours=1), revoked_by="s",
                ),
            ]
        )  # fmt: skip
        session.commit()
    assert suppression.console_csv_candidates(engine) == ["Ok@Example.com"]
    assert len(suppression.console_csv_candidates(engine, confirmed_only=False)) == 3


@pytest.fixture
def emulator() -> Iterator[EmulatorHandle]:
    """One per test: moto's backends are process-global and other tests use mock_aws."""
    with running_emulator() as handle:
        yield handle


def test_over_http_sync_pages_through_the_list_and_sees_an_outside_removal_only_in_full(
    engine: Engine, emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway = http_gateway(emulator, monkeypatch)
    emulator.state.put_many_suppressed(make_entry(f"u{i:04d}@Example.com") for i in range(2500))
    first = suppression.sync_suppression_list(engine, gateway, actor=OPS, **NO_WAIT)
    assert (first.pages, first.seen, first.added) == (3, 2500, 2500)
    emulator.state.delete_suppressed("u0007@Example.com")  # someone used the console
    emulator.state.put_suppressed("late@example.com")
    incremental = suppression.sync_suppression_list(
        engine, gateway, actor=OPS, incremental=True, **NO_WAIT
    )
    assert (incremental.added, incremental.gone) == (1, 0)
    assert mirror(engine)["u0007@example.com"].suppressed is True  # cannot know yet
    full = suppression.sync_suppression_list(engine, gateway, actor=OPS, **NO_WAIT)
    assert (full.seen, full.added, full.gone) == (2500, 0, 1)
    gone = mirror(engine)["u0007@example.com"]
    assert (gone.suppressed, gone.removed_by_us) == (False, False)
