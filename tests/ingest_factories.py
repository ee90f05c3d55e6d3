"""Small factories for SES notifications and their envelopes, with realistic defaults.

Shapes follow the AWS docs payloads in ../shared/samples; only what a test names changes.
"""

from __future__ import annotations

import itertools
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

DEFAULT_AT = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:ses-bounces"
_serial = itertools.count(1)


def iso(at: datetime) -> str:
    """SES's own timestamp form: milliseconds and a Z."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def new_message_id() -> str:
    return f"0100018f{next(_serial):08x}-{uuid.uuid4()}-000000"


def make_mail(
    destination: list[str],
    *,
    message_id: str | None = None,
    at: datetime = DEFAULT_AT,
    source: str = "Qube <noreply@qube.example>",
    subject: str = "Your weekly report",
    configuration_set: str | None = None,
) -> dict[str, Any]:
    mail: dict[str, Any] = {
        "timestamp": iso(at - timedelta(seconds=2)),
        "source": source,
        "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/qube.example",
        "sendingAccountId": "123456789012",
        "messageId": message_id or new_message_id(),
        "destination": list(destination),
        "headersTruncated": False,
        "commonHeaders": {"from": [source], "to": list(destination), "subject": subject},
    }
    if configuration_set:
        mail["tags"] = {"ses:configuration-set": [configuration_set]}
    return mail


def _top(family: str, name: str) -> dict[str, Any]:
    return {"eventType": name} if family == "event" else {"notificationType": name}


def make_bounce(
    recipients: list[str] | None = None,
    *,
    bounce_type: str = "Permanent",
    subtype: str = "General",
    at: datetime = DEFAULT_AT,
    feedback_id: str | None = None,
    message_id: str | None = None,
    family: str = "feedback",
    diagnostic_code: str | None = "smtp; 550 5.1.1 user unknown",
) -> dict[str, Any]:
    recipients = recipients or ["jane@example.com"]
    bounced = []
    for address in recipients:
        item: dict[str, Any] = {"emailAddress": address}
        if diagnostic_code is not None:
            item.update(action="failed", status="5.1.1", diagnosticCode=diagnostic_code)
        bounced.append(item)
    return {
        **_top(family, "Bounce"),
        "bounce": {
            "bounceType": bounce_type,
            "bounceSubType": subtype,
            "bouncedRecipients": bounced,
            "timestamp": iso(at),
            "feedbackId": feedback_id or f"fb-{new_message_id()}",
            "reportingMTA": "dsn; a8-70.smtp-out.amazonses.com",
        },
        "mail": make_mail(recipients, message_id=message_id, at=at),
    }


def make_complaint(
    recipients: list[str] | None = None,
    *,
    at: datetime = DEFAULT_AT,
    feedback_id: str | None = None,
    message_id: str | None = None,
    subtype: str | None = None,
    feedback_type: str | None = "abuse",
    family: str = "feedback",
) -> dict[str, Any]:
    recipients = recipients or ["jane@example.com"]
    complaint: dict[str, Any] = {
        "complainedRecipients": [{"emailAddress": a} for a in recipients],
        "timestamp": iso(at),
        "feedbackId": feedback_id or f"fb-{new_message_id()}",
        "complaintSubType": subtype,
    }
    if feedback_type:
        complaint["complaintFeedbackType"] = feedback_type
    return {
        **_top(family, "Complaint"),
        "complaint": complaint,
        "mail": make_mail(recipients, message_id=message_id, at=at),
    }


def make_delivery(
    recipients: list[str] | None = None,
    *,
    at: datetime = DEFAULT_AT,
    message_id: str | None = None,
    family: str = "feedback",
) -> dict[str, Any]:
    recipients = recipients or ["jane@example.com"]
    return {
        **_top(family, "Delivery"),
        "mail": make_mail(recipients, message_id=message_id, at=at),
        "delivery": {
            "timestamp": iso(at),
            "processingTimeMillis": 546,
            "recipients": list(recipients),
            "smtpResponse": "250 ok:  Message 64111812 accepted",
            "reportingMTA": "a8-70.smtp-out.amazonses.com",
        },
    }


def make_send(
    recipients: list[str] | None = None,
    *,
    at: datetime = DEFAULT_AT,
    message_id: str | None = None,
) -> dict[str, Any]:
    recipients = recipients or ["jane@example.com"]
    return {
        "eventType": "Send",
        "mail": make_mail(recipients, message_id=message_id, at=at, configuration_set="qube"),
        "send": {},
    }


def sns_envelope(
    payload: Any,
    *,
    message_id: str | None = None,
    subject: str | None = None,
    at: datetime = DEFAULT_AT,
) -> dict[str, Any]:
    """An SNS HTTP/SQS-body envelope (unsigned unless a test signs it)."""
    envelope: dict[str, Any] = {
        "Type": "Notification",
        "MessageId": message_id or str(uuid.uuid4()),
        "TopicArn": TOPIC_ARN,
        "Message": payload if isinstance(payload, str) else json.dumps(payload),
        "Timestamp": iso(at),
    }
    if subject is not None:
        envelope["Subject"] = subject
    return envelope


def lambda_sns_record(payload: Any, *, message_id: str | None = None) -> dict[str, Any]:
    """One `Records[]` entry of an SNS-triggered Lambda event."""
    sns = sns_envelope(payload, message_id=message_id)
    sns.update(Subject=None, UnsubscribeUrl="https://sns.us-east-1.amazonaws.com/?Action=x")
    return {
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": f"{TOPIC_ARN}:0fe0bffc-6470-4502-9414-d5e3d9fdd71e",
        "Sns": sns,
    }


def lambda_sqs_record(body: str, *, message_id: str | None = None) -> dict[str, Any]:
    """One `Records[]` entry of an SQS-triggered Lambda event."""
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:ses-bounces",
        "awsRegion": "us-east-1",
    }


def ndjson(values: list[Any]) -> bytes:
    return "".join(json.dumps(v) + "\n" for v in values).encode("utf-8")


# --- reading back what ingestion stored --------------------------------------------------------


def rows(engine: Any, table: str, *columns: str) -> list[tuple[Any, ...]]:
    """All rows of `table` (only `columns`, default all), ordered for stable comparison."""
    from sqlalchemy import text

    selected = ", ".join(columns) if columns else "*"
    with engine.connect() as connection:
        result = connection.execute(text(f"SELECT {selected} FROM {table}"))
        return sorted((tuple(r) for r in result), key=repr)


def count(engine: Any, table: str) -> int:
    from sqlalchemy import text

    with engine.connect() as connection:
        return int(connection.scalar(text(f"SELECT COUNT(*) FROM {table}")))


# --- a realistic mix, and what the summaries should say about it ------------------------------

BOUNCE_KINDS = [
    ("Permanent", "General"),
    ("Permanent", "NoEmail"),
    ("Permanent", "Suppressed"),
    ("Permanent", "OnAccountSuppressionList"),
    ("Transient", "MailboxFull"),
    ("Transient", "General"),
    ("Undetermined", "Undetermined"),
]


def mixed_notifications(count: int, *, seed: int = 1, addresses: int = 12) -> list[dict[str, Any]]:
    """Bounces (a third naming several recipients), complaints, deliveries, sends and opens
    over a small pool of addresses, some written in several ways, each at its own second."""
    import random

    rng = random.Random(seed)
    pool = [f"user{n}@example.com" for n in range(addresses)]
    pool += ["Mixed.Case@EXAMPLE.com", "Mixed.Case@example.com", " Mixed.Case@example.COM"]
    start = datetime(2024, 5, 1, 22, 0, tzinfo=UTC)
    made: list[dict[str, Any]] = []
    for n in range(count):
        at = start + timedelta(minutes=7 * n, milliseconds=rng.randint(0, 999))
        family = rng.choice(["feedback", "event"])
        roll = rng.random()
        if roll < 0.4:
            recipients = rng.sample(pool, rng.randint(2, 4) if rng.random() < 1 / 3 else 1)
            bounce_type, subtype = rng.choice(BOUNCE_KINDS)
            made.append(
                make_bounce(
                    recipients, bounce_type=bounce_type, subtype=subtype, at=at, family=family
                )
            )
        elif roll < 0.5:
            made.append(make_complaint([rng.choice(pool)], at=at, family=family))
        elif roll < 0.75:
            made.append(make_delivery([rng.choice(pool)], at=at, family=family))
        elif roll < 0.9:
            made.append(make_send(rng.sample(pool, 2), at=at))
        else:
            opened = make_send([rng.choice(pool)], at=at)
            opened.update(eventType="Open", open={"timestamp": iso(at), "ipAddress": "192.0.2.1"})
            del opened["send"]
            made.append(opened)
    return made


def _day(engine: Any) -> str:
    return {"sqlite": "date(occurred_at)", "postgresql": "CAST(occurred_at AS DATE)"}.get(
        engine.dialect.name, "DATE(occurred_at)"
    )


EXPECTED_SUMMARIES = """
SELECT address,
  SUM(CASE WHEN kind = 'bounce' AND classification = 'hard' THEN 1 ELSE 0 END),
  SUM(CASE WHEN kind = 'bounce' AND classification = 'soft' THEN 1 ELSE 0 END),
  SUM(CASE WHEN kind = 'bounce' AND classification = 'undetermined' THEN 1 ELSE 0 END),
  SUM(CASE WHEN kind = 'complaint' THEN 1 ELSE 0 END),
  SUM(CASE WHEN kind = 'delivery' THEN 1 ELSE 0 END),
  MIN(CASE WHEN kind = 'bounce' THEN occurred_at END),
  MAX(CASE WHEN kind = 'bounce' THEN occurred_at END),
  MAX(CASE WHEN kind = 'bounce' AND classification = 'hard' THEN occurred_at END),
  MAX(CASE WHEN kind = 'bounce' AND classification = 'soft' THEN occurred_at END),
  MAX(CASE WHEN kind = 'complaint' THEN occurred_at END),
  MAX(CASE WHEN kind = 'delivery' THEN occurred_at END)
FROM facts WHERE kind IN ('bounce', 'complaint', 'delivery')
GROUP BY address
"""
STORED_SUMMARIES = """
SELECT address, hard_count, soft_count, undetermined_count, complaint_count, delivery_count,
  first_bounce_at, last_bounce_at, last_hard_bounce_at, last_soft_bounce_at,
  last_complaint_at, last_delivery_at
FROM address_summaries
"""
EXPECTED_LATEST_BOUNCE = """
SELECT f.address, f.bounce_type, f.bounce_subtype, f.classification, f.diagnostic_code
FROM facts f JOIN (
  SELECT address, MAX(occurred_at) AS latest FROM facts WHERE kind = 'bounce' GROUP BY address
) l ON f.address = l.address AND f.occurred_at = l.latest
WHERE f.kind = 'bounce'
"""
STORED_LATEST_BOUNCE = """
SELECT address, last_bounce_type, last_bounce_subtype, last_classification, last_diagnostic_code
FROM address_summaries WHERE last_bounce_at IS NOT NULL
"""


def query(engine: Any, sql: str) -> list[tuple[Any, ...]]:
    from sqlalchemy import text

    with engine.connect() as connection:
        return sorted((tuple(r) for r in connection.execute(text(sql))), key=repr)


def summaries_from_facts(engine: Any) -> tuple[list[Any], list[Any]]:
    """(expected, stored) per-address summaries, computed from the facts with GROUP BY."""
    expected = query(engine, EXPECTED_SUMMARIES) + query(engine, EXPECTED_LATEST_BOUNCE)
    stored = query(engine, STORED_SUMMARIES) + query(engine, STORED_LATEST_BOUNCE)
    return expected, stored


def daily_counts_from_facts(engine: Any) -> tuple[list[Any], list[Any]]:
    """(expected, stored) daily counts, computed from the facts with GROUP BY."""
    expected = query(
        engine,
        f"""SELECT {_day(engine)}, kind, COALESCE(classification, ''),
        COALESCE(bounce_subtype, complaint_subtype, ''), counts_toward_bounce_rate, COUNT(*)
        FROM facts GROUP BY {_day(engine)}, kind, COALESCE(classification, ''),
        COALESCE(bounce_subtype, complaint_subtype, ''), counts_toward_bounce_rate""",
    )
    stored = query(
        engine,
        "SELECT day, kind, classification, subtype, counts_toward_rate, count FROM daily_counts",
    )
    return expected, stored


def domain_counts_from_facts(engine: Any) -> tuple[list[Any], list[Any]]:
    """(expected, stored) bounces and complaints per day and domain, from the facts."""
    day = _day(engine)
    expected = query(
        engine,
        f"""SELECT {day}, domain, kind, COALESCE(classification, ''), COUNT(*)
        FROM facts WHERE kind IN ('bounce', 'complaint')
        GROUP BY {day}, domain, kind, COALESCE(classification, '')""",
    )
    stored = query(
        engine, "SELECT day, domain, kind, classification, count FROM daily_domain_counts"
    )
    return expected, stored
