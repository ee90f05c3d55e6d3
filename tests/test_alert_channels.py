"""Alert deliveries through apprise: a real JSON receiver on 127.0.0.1, an SNS topic in moto,
receivers that fail or hang, re-notification, and what is recorded on the alert."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import boto3
import pytest
from moto import mock_aws
from pydantic import SecretStr
from sqlalchemy import Engine

from core.alerts.channels import Notifier
from core.alerts.lifecycle import AlertFilter, acknowledge, alert_events, list_alerts, snooze
from core.errors import SettingsError
from core.store.db import make_engine
from tests.alerts_kit import NOON, checker, receiving, send
from tests.factories import OPS


@pytest.fixture
def db(tmp_path) -> Engine:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'alerts.db'}")
    yield engine
    engine.dispose()


def _notifier(*urls: str, attempts: int = 1, timeout: float = 2.0) -> Notifier:
    return Notifier([SecretStr(u) for u in urls], attempts=attempts, timeout=timeout,
                    sleep=lambda _: None)  # fmt: skip


def test_an_alert_reaches_a_json_receiver_with_the_numbers_and_the_link(db: Engine) -> None:
    send(db, 100, 3, stream="bulk")
    with receiving() as receiver:
        check = checker(db, _notifier(receiver.url), alert_dashboard_url="https://desk.example/")
        summary = check.check(NOON)
    assert summary.failed_deliveries == 0
    bodies = {b["title"]: b for b in receiver.bodies}
    [bulk] = [b for t, b in bodies.items() if "configuration set bulk" in t]
    assert bulk["title"] == (
        "Warning: Bounce rate 3.00% reached the warning level (2.00%) for configuration set bulk"
    )
    assert bulk["type"] == "warning"
    assert "3 counting bounces out of 100 sends" in bulk["message"]
    assert "Top bouncing domains (7 days): example.com (3 hard, 0 soft)" in bulk["message"]
    assert (
        "Bounce rate, rolling 7 days (configuration set bulk): – → – → – → – → – → – → 3.00%"
        in (bulk["message"])
    )
    [account] = [b for t, b in bodies.items() if "for the account" in t]
    assert "Bounce rate, rolling 7 days (account):" in account["message"]
    assert "https://desk.example/alerts" in bulk["message"]


def test_one_notification_per_alert_not_one_per_run_then_again_after_the_interval(
    db: Engine,
) -> None:
    send(db, 100, 3)
    with receiving() as receiver:
        check = checker(db, _notifier(receiver.url), alert_renotify_hours=4)
        check.check(NOON)
        check.check(NOON + timedelta(hours=1))
        check.check(NOON + timedelta(hours=2))
        assert len(receiver.bodies) == 1
        summary = check.check(NOON + timedelta(hours=4))
        assert len(summary.renotified) == 1
        assert len(receiver.bodies) == 2
        assert receiver.bodies[1]["title"].startswith("Still open: ")
    [alert] = list_alerts(db, AlertFilter())
    assert alert.notifications == 2


def test_acknowledged_or_snoozed_alerts_are_not_sent_again(db: Engine) -> None:
    send(db, 100, 3, stream="bulk")
    with receiving() as receiver:
        check = checker(db, _notifier(receiver.url), alert_renotify_hours=1)
        check.check(NOON)
        account, bulk = sorted(list_alerts(db, AlertFilter()), key=lambda a: a.scope)
        acknowledge(db, OPS, account.id)
        snooze(db, OPS, bulk.id, timedelta(days=30))
        before = len(receiver.bodies)
        check.check(NOON + timedelta(hours=3))
        assert len(receiver.bodies) == before == 2


def test_the_resolution_is_sent_too(db: Engine) -> None:
    send(db, 100, 3)
    with receiving() as receiver:
        check = checker(db, _notifier(receiver.url))
        check.check(NOON)
        send(db, 1000, 0, start=5000)
        check.check(NOON + timedelta(hours=1))
    assert receiver.bodies[-1]["title"].startswith("Resolved: ")
    assert receiver.bodies[-1]["type"] == "success"


def test_a_failing_receiver_is_retried_recorded_and_does_not_stop_the_check(db: Engine) -> None:
    send(db, 100, 3)
    with receiving(status=500) as broken, receiving() as working:
        check = checker(db, _notifier(broken.url, working.url, attempts=3))
        summary = check.check(NOON)
    assert len(broken.bodies) == 3  # three attempts
    assert len(working.bodies) == 1  # the next channel still got it
    assert summary.opened and summary.failed_deliveries == 1
    [alert] = list_alerts(db, AlertFilter())
    events = alert_events(db, alert.id)
    failed = [e for e in events if e.kind == "delivery_failed"]
    assert len(failed) == 1 and failed[0].detail is not None
    assert failed[0].detail.startswith("channel 1 (json): ")
    assert "hook" not in failed[0].detail  # the URL is never recorded
    assert [e.kind for e in events].count("notified") == 1


def test_a_hanging_receiver_costs_at_most_its_deadline(db: Engine) -> None:
    send(db, 100, 3)
    with receiving(delay=30) as hanging, receiving() as working:
        check = checker(db, _notifier(hanging.url, working.url, attempts=1, timeout=1.0))
        started = time.monotonic()
        summary = check.check(NOON)
        elapsed = time.monotonic() - started
    assert elapsed < 15
    assert summary.failed_deliveries == 1 and len(working.bodies) == 1


def test_an_alert_reaches_an_sns_topic(db: Engine) -> None:
    send(db, 100, 3)
    with mock_aws():
        sns = boto3.client("sns", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        topic = sns.create_topic(Name="bouncedesk-alerts")["TopicArn"]
        queue = sqs.create_queue(QueueName="alerts-inbox")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        url = "sns://AKIAIOSFODNN7EXAMPLE/wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY12/us-east-1/#bouncedesk-alerts"
        summary = checker(db, _notifier(url, timeout=20)).check(NOON)
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert summary.failed_deliveries == 0
    [message] = [json.loads(m["Body"])["Message"] for m in messages]
    assert message.startswith("Bounce rate 3.00% reached the warning level (2.00%)")


def test_a_url_apprise_does_not_know_is_refused_at_start_without_showing_it() -> None:
    with pytest.raises(SettingsError) as refused:
        _notifier("nosuchscheme://token-abcdef/xyz")
    assert "channel 1 (nosuchscheme)" in str(refused.value)
    assert "token-abcdef" not in str(refused.value)
