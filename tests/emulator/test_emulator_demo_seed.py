"""The demo account, read back the way the dashboard reads it: boto3 against the emulator."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from emulator.launch import EmulatorHandle
from tests.emulator.demo_checks import (
    DAYS,
    assert_one_bounce_incident,
    assert_one_review_episode,
    assert_sixty_full_days_in_range,
    daily_sums,
    full_days,
    hourly_bounce_rates,
    midnight,
)


def drain(handle: EmulatorHandle) -> list[dict[str, Any]]:
    """Every SQS body (an SNS envelope), read and deleted."""
    sqs = handle.client("sqs")
    bodies: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=handle.queue_url, MaxNumberOfMessages=10).get(
            "Messages", []
        )
        if not messages:
            return bodies
        bodies += [json.loads(m["Body"]) for m in messages]
        entries = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
        ]
        sqs.delete_message_batch(QueueUrl=handle.queue_url, Entries=entries)


@pytest.fixture(scope="module")
def envelopes(demo: EmulatorHandle) -> list[dict[str, Any]]:
    return drain(demo)


@pytest.fixture(scope="module")
def notifications(envelopes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    unique = {e["MessageId"]: e for e in envelopes}
    return [json.loads(e["Message"]) for e in unique.values()]


def test_metrics_cover_sixty_full_days_and_today_so_far(
    demo: EmulatorHandle, demo_now: datetime
) -> None:
    sums = full_days(demo, demo_now, "Send", "Delivery", "Bounce", "Complaint")
    assert_sixty_full_days_in_range(sums)
    today = midnight(demo_now)
    so_far = daily_sums(demo, today, today + timedelta(days=1), "Send")["send"]
    assert len(so_far) <= 1 and sum(so_far) < 3000  # today is partial


def test_the_daily_bounce_rate_crosses_five_percent_exactly_once(
    demo: EmulatorHandle, demo_now: datetime
) -> None:
    sums = full_days(demo, demo_now, "Send", "Bounce")
    assert_one_bounce_incident(sums["send"], sums["bounce"])


def test_the_reputation_bounce_rate_has_one_review_episode(
    demo: EmulatorHandle, demo_now: datetime
) -> None:
    assert_one_review_episode(hourly_bounce_rates(demo, demo_now), demo_now)


def test_send_statistics_report_bounces_after_the_demo_seed(demo: EmulatorHandle) -> None:
    points = demo.client("ses").get_send_statistics()["SendDataPoints"]
    assert sum(p["Bounces"] for p in points) > 0
    assert sum(p["DeliveryAttempts"] for p in points) > 10_000
    oldest = min(p["Timestamp"] for p in points)
    assert oldest >= datetime.now(UTC) - timedelta(days=14, minutes=15)


def test_the_account_is_healthy_with_production_access(demo: EmulatorHandle) -> None:
    account = demo.client("sesv2").get_account()
    assert (account["EnforcementStatus"], account["SendingEnabled"]) == ("HEALTHY", True)
    assert account["ProductionAccessEnabled"] is True
    assert account["SendQuota"]["SentLast24Hours"] > 0


def test_the_backlog_is_about_three_thousand_messages_with_some_redelivered(
    envelopes: list[dict[str, Any]],
) -> None:
    assert 2500 <= len(envelopes) <= 3500
    copies = Counter(e["MessageId"] for e in envelopes)
    assert 1 <= sum(1 for n in copies.values() if n > 1) <= 12
    assert {e["Type"] for e in envelopes} == {"Notification"}


def test_the_backlog_mixes_both_json_families_and_all_bounce_kinds(
    notifications: list[dict[str, Any]],
) -> None:
    families = Counter(
        "eventType" if "eventType" in n else "notificationType" for n in notifications
    )
    assert families["eventType"] > 100 and families["notificationType"] > 100
    kinds = Counter(
        (n["bounce"]["bounceType"], n["bounce"]["bounceSubType"])
        for n in notifications
        if "bounce" in n
    )
    for expected in [
        ("Permanent", "General"),
        ("Permanent", "NoEmail"),
        ("Permanent", "Suppressed"),
        ("Permanent", "OnAccountSuppressionList"),
        ("Transient", "MailboxFull"),
        ("Transient", "General"),
        ("Undetermined", "Undetermined"),
    ]:
        assert kinds[expected] > 0, expected
    types = Counter(n.get("eventType") or n.get("notificationType") for n in notifications)
    assert types["Send"] > 0 and types["Delivery"] > 0 and types["Complaint"] > 0
    multi = [n for n in notifications if len(n.get("bounce", {}).get("bouncedRecipients", [])) > 1]
    assert multi


def test_timestamps_spread_over_the_sixty_days(
    notifications: list[dict[str, Any]], demo_now: datetime
) -> None:
    days = {n["mail"]["timestamp"][:10] for n in notifications}
    first = (midnight(demo_now) - timedelta(days=DAYS)).strftime("%Y-%m-%d")
    assert min(days) == first
    assert max(datetime.fromisoformat(n["mail"]["timestamp"]) for n in notifications) <= demo_now
    assert len(days) >= DAYS


def test_every_bounce_suppressed_address_had_an_earlier_permanent_bounce(
    demo: EmulatorHandle, notifications: list[dict[str, Any]]
) -> None:
    first_hard: dict[str, str] = {}
    for n in notifications:
        bounce = n.get("bounce")
        if not bounce or bounce["bounceType"] != "Permanent":
            continue
        if bounce["bounceSubType"] == "OnAccountSuppressionList":
            continue
        for recipient in bounce["bouncedRecipients"]:
            address = recipient["emailAddress"]
            first_hard[address] = min(first_hard.get(address, "9"), bounce["timestamp"])
    suppressed = [e for e in demo.state.all_suppressed() if e.reason == "BOUNCE"]
    assert 300 <= len(suppressed) <= 900
    for entry in suppressed:
        when = datetime.fromtimestamp(entry.last_update_time, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        assert entry.email_address in first_hard
        assert first_hard[entry.email_address][:19] <= when


def test_recipients_are_users_and_known_valid_addresses_are_suppressed(
    demo: EmulatorHandle, notifications: list[dict[str, Any]]
) -> None:
    assert demo.users_csv is not None and demo.known_valid_csv is not None
    with demo.users_csv.open(encoding="utf-8") as handle:
        users = list(csv.DictReader(handle))
    assert len(users) == 3000
    assert list(users[0]) == ["email", "user_id", "name", "company"]
    assert any("株式会社" in u["company"] for u in users)
    emails = {u["email"] for u in users}
    # The bulk newsletter went to an old list, not to the product's users (emulator.demo.bulk).
    newsletter = [n for n in notifications if n["mail"].get("tags", {}).get(
        "ses:configuration-set") == ["bulk"]]  # fmt: skip
    assert newsletter and all(
        a.endswith("@newsletter-list.example") for n in newsletter for a in n["mail"]["destination"]
    )
    recipients = {a for n in notifications if n not in newsletter for a in n["mail"]["destination"]}
    assert recipients <= emails
    with demo.known_valid_csv.open(encoding="utf-8") as handle:
        known_valid = [row["email"] for row in csv.DictReader(handle)]
    assert 20 <= len(known_valid) <= 60
    assert all(demo.state.get_suppressed(a) is not None for a in known_valid)


def test_every_address_uses_a_reserved_domain(demo: EmulatorHandle) -> None:
    assert demo.users_csv is not None
    with demo.users_csv.open(encoding="utf-8") as handle:
        domains = {row["email"].split("@")[1] for row in csv.DictReader(handle)}
    reserved = ("example.com", "example.net", "example.org")
    assert all(d in reserved or d.endswith((".example", ".invalid")) for d in domains)
