"""The suppression-list operations, through real HTTP and boto3's sesv2 client."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from emulator.launch import EmulatorHandle
from emulator.state import make_entry


def list_all(sesv2: Any, **filters: Any) -> list[str]:
    addresses: list[str] = []
    token = None
    while True:
        page = sesv2.list_suppressed_destinations(
            **filters, **({"NextToken": token} if token else {})
        )
        addresses += [s["EmailAddress"] for s in page["SuppressedDestinationSummaries"]]
        token = page.get("NextToken")
        if not token:
            return addresses


def test_a_put_address_can_be_read_back_with_its_reason_and_time(sesv2: Any) -> None:
    before = time.time()
    sesv2.put_suppressed_destination(EmailAddress="taro@sakura.example", Reason="COMPLAINT")
    found = sesv2.get_suppressed_destination(EmailAddress="taro@sakura.example")
    entry = found["SuppressedDestination"]
    assert entry["EmailAddress"] == "taro@sakura.example"
    assert entry["Reason"] == "COMPLAINT"
    assert entry["LastUpdateTime"].timestamp() >= before - 1
    assert entry["Attributes"] == {}


def test_get_reports_the_feedback_that_suppressed_the_address(
    clean: EmulatorHandle, sesv2: Any
) -> None:
    clean.state.put_suppressed("hana@aoba.example", "BOUNCE", 1_700_000_000, "msg-1", "fb-1")
    entry = sesv2.get_suppressed_destination(EmailAddress="hana@aoba.example")[
        "SuppressedDestination"
    ]
    assert entry["Attributes"] == {"MessageId": "msg-1", "FeedbackId": "fb-1"}
    assert entry["LastUpdateTime"] == datetime.fromtimestamp(1_700_000_000, UTC)


def test_get_and_delete_of_an_unlisted_address_raise_not_found(sesv2: Any) -> None:
    with pytest.raises(sesv2.exceptions.NotFoundException):
        sesv2.get_suppressed_destination(EmailAddress="nobody@example.com")
    with pytest.raises(sesv2.exceptions.NotFoundException) as raised:
        sesv2.delete_suppressed_destination(EmailAddress="nobody@example.com")
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_delete_removes_the_address_matching_it_case_insensitively(sesv2: Any) -> None:
    sesv2.put_suppressed_destination(EmailAddress="Ken.Sato@Example.com", Reason="BOUNCE")
    sesv2.delete_suppressed_destination(EmailAddress="ken.sato@example.COM")
    with pytest.raises(sesv2.exceptions.NotFoundException):
        sesv2.get_suppressed_destination(EmailAddress="Ken.Sato@Example.com")


def test_addresses_with_slash_and_plus_survive_the_url_path(sesv2: Any) -> None:
    address = "a+b/c@example.com"
    sesv2.put_suppressed_destination(EmailAddress=address, Reason="BOUNCE")
    assert (
        sesv2.get_suppressed_destination(EmailAddress=address)["SuppressedDestination"][
            "EmailAddress"
        ]
        == address
    )
    sesv2.delete_suppressed_destination(EmailAddress=address)
    assert list_all(sesv2) == []


def test_put_rejects_a_malformed_address_and_an_unknown_reason(sesv2: Any) -> None:
    with pytest.raises(sesv2.exceptions.BadRequestException):
        sesv2.put_suppressed_destination(EmailAddress="not-an-address", Reason="BOUNCE")
    with pytest.raises(sesv2.exceptions.BadRequestException):
        sesv2.put_suppressed_destination(EmailAddress="x@example.com", Reason="SPAM")


def test_put_needs_production_access_like_ses(clean: EmulatorHandle, sesv2: Any) -> None:
    clean.state.set_account(production_access_enabled=False)
    with pytest.raises(sesv2.exceptions.BadRequestException):
        sesv2.put_suppressed_destination(EmailAddress="x@example.com", Reason="BOUNCE")


def test_pagination_over_many_pages_returns_every_address_exactly_once(
    clean: EmulatorHandle, sesv2: Any
) -> None:
    addresses = [f"user{i:05d}@example.com" for i in range(2500)]
    clean.state.put_many_suppressed(make_entry(a) for a in reversed(addresses))
    listed = list_all(sesv2, PageSize=100)
    assert listed == sorted(addresses)


def test_pagination_stays_complete_when_entries_change_between_pages(
    clean: EmulatorHandle, sesv2: Any
) -> None:
    original = [f"user{i:04d}@example.com" for i in range(1000)]
    clean.state.put_many_suppressed(make_entry(a) for a in original)
    seen: list[str] = []
    page = sesv2.list_suppressed_destinations(PageSize=100)
    deleted: set[str] = set()
    while True:
        seen += [s["EmailAddress"] for s in page["SuppressedDestinationSummaries"]]
        if "NextToken" not in page:
            break
        # Between pages: an address already returned goes, one not yet returned goes, and
        # new ones arrive on both sides of the cursor.
        clean.state.delete_suppressed(seen[0])
        upcoming = original[len(seen) + 10] if len(seen) + 10 < len(original) else None
        if upcoming:
            clean.state.delete_suppressed(upcoming)
            deleted.add(upcoming)
        clean.state.put_suppressed(f"aaa{len(seen)}@example.com")
        page = sesv2.list_suppressed_destinations(PageSize=100, NextToken=page["NextToken"])
    assert len(seen) == len(set(seen))
    assert set(original) - deleted <= set(seen)
    assert not deleted & set(seen)


def test_reason_filter_returns_only_the_reasons_asked_for(
    clean: EmulatorHandle, sesv2: Any
) -> None:
    for i in range(30):
        clean.state.put_suppressed(f"u{i}@example.com", "COMPLAINT" if i % 3 == 0 else "BOUNCE")
    complaints = list_all(sesv2, Reasons=["COMPLAINT"], PageSize=4)
    both = list_all(sesv2, Reasons=["BOUNCE", "COMPLAINT"])
    assert sorted(complaints) == sorted(f"u{i}@example.com" for i in range(0, 30, 3))
    assert len(both) == 30


def test_date_filters_select_on_last_update_time_inclusively(
    clean: EmulatorHandle, sesv2: Any
) -> None:
    day = datetime(2026, 3, 1, tzinfo=UTC)
    for offset in range(10):
        clean.state.put_suppressed(f"d{offset}@example.com", "BOUNCE", day + timedelta(days=offset))
    found = list_all(sesv2, StartDate=day + timedelta(days=2), EndDate=day + timedelta(days=4))
    assert found == ["d2@example.com", "d3@example.com", "d4@example.com"]
    assert len(list_all(sesv2, StartDate=day + timedelta(days=8))) == 2
    assert len(list_all(sesv2, EndDate=day)) == 1


def test_an_invalid_next_token_is_a_400_invalid_next_token_error(sesv2: Any) -> None:
    with pytest.raises(sesv2.exceptions.InvalidNextTokenException) as raised:
        sesv2.list_suppressed_destinations(NextToken="not-a-token")
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_page_size_above_1000_is_a_bad_request(sesv2: Any) -> None:
    with pytest.raises(sesv2.exceptions.BadRequestException):
        sesv2.list_suppressed_destinations(PageSize=1001)


def test_one_hundred_thousand_entries_seed_in_seconds_and_list_in_full(
    clean: EmulatorHandle, sesv2: Any
) -> None:
    started = time.monotonic()
    clean.state.put_many_suppressed(make_entry(f"bulk{i:06d}@example.com") for i in range(100_000))
    assert time.monotonic() - started < 5
    first = sesv2.list_suppressed_destinations()
    assert len(first["SuppressedDestinationSummaries"]) == 1000
    assert clean.admin.state()["suppressed"]["total"] == 100_000
