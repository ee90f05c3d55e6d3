"""GetAccount (SESv2) and GetSendStatistics/GetSendQuota (SES v1) with the emulator's numbers."""

from __future__ import annotations

import time
from typing import Any

from emulator.launch import EmulatorHandle


def test_get_account_reports_a_healthy_production_account(sesv2: Any) -> None:
    account = sesv2.get_account()
    assert account["EnforcementStatus"] == "HEALTHY"
    assert account["SendingEnabled"] is True
    assert account["ProductionAccessEnabled"] is True
    assert set(account["SendQuota"]) == {"Max24HourSend", "MaxSendRate", "SentLast24Hours"}
    assert account["SuppressionAttributes"] == {"SuppressedReasons": ["BOUNCE", "COMPLAINT"]}


def test_sent_last_24_hours_counts_only_the_last_day(clean: EmulatorHandle, sesv2: Any) -> None:
    now = time.time()
    clean.state.record_sending(now - 600, delivery_attempts=40)
    clean.state.record_sending(now - 2 * 86400, delivery_attempts=1000)
    assert sesv2.get_account()["SendQuota"]["SentLast24Hours"] == 40.0
    quota = clean.client("ses").get_send_quota()
    assert quota["SentLast24Hours"] == 40.0


def test_put_account_suppression_attributes_changes_the_reasons(sesv2: Any) -> None:
    sesv2.put_account_suppression_attributes(SuppressedReasons=["BOUNCE"])
    assert sesv2.get_account()["SuppressionAttributes"]["SuppressedReasons"] == ["BOUNCE"]


def test_send_statistics_are_15_minute_buckets_of_the_last_two_weeks(clean: EmulatorHandle) -> None:
    now = time.time()
    clean.state.record_sending(now - 3600, delivery_attempts=100, bounces=7, complaints=1)
    clean.state.record_sending(now - 3600 + 60, delivery_attempts=50, bounces=3)
    clean.state.record_sending(now - 15 * 86400, delivery_attempts=999, bounces=99)
    points = clean.client("ses").get_send_statistics()["SendDataPoints"]
    assert sum(p["DeliveryAttempts"] for p in points) == 150
    assert sum(p["Bounces"] for p in points) == 10
    assert all(p["Timestamp"].timestamp() % 900 == 0 for p in points)


def test_other_ses_v1_actions_still_reach_moto(clean: EmulatorHandle) -> None:
    ses = clean.client("ses")
    ses.verify_email_identity(EmailAddress="sender@qube.example")
    assert "sender@qube.example" in ses.list_identities()["Identities"]


def test_other_sesv2_operations_still_reach_moto(clean: EmulatorHandle) -> None:
    sesv2 = clean.client("sesv2")
    sesv2.create_contact_list(ContactListName="newsletter")
    names = [c["ContactListName"] for c in sesv2.list_contact_lists()["ContactLists"]]
    assert "newsletter" in names
