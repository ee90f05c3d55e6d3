"""The demo's bulk stream: a newsletter sent through its own configuration set, ``bulk``.

The account's everyday mail goes through ``qube-default``. For the last week a newsletter
went to an old, unverified list through ``bulk``: about 3 % of it hard-bounces, which
crosses the 2 % warning for that stream (not the 5 % review), while the account as a whole
stays healthy. So the demo shows what the alerts are for: a stream-level warning, early.
Event-publishing Send and Bounce events, one newsletter batch (10 recipients) a message.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from typing import Any

from emulator import ACCOUNT_ID, REGION

BULK_SET = "bulk"
DEFAULT_SET = "qube-default"
CONFIGURATION_SETS = (DEFAULT_SET, BULK_SET)
BULK_DAYS = 7
BATCHES_PER_DAY, BATCH = 12, 10  # 120 newsletter recipients a day
BULK_HARD_RATE = 0.03
LIST_DOMAIN = "newsletter-list.example"
SENDER = "Qube Newsletter <news@qube.example>"
SUBJECT = "Qube monthly: what is new"


def bulk_messages(now: datetime, rng: random.Random) -> list[str]:
    """The SES JSON (SNS Message) of every Send and Bounce event of the last BULK_DAYS."""
    messages = []
    reader = 0
    for back in range(BULK_DAYS, 0, -1):
        day = (now - timedelta(days=back)).replace(hour=1, minute=0, second=0, microsecond=0)
        bounced = round(BATCHES_PER_DAY * BATCH * BULK_HARD_RATE)
        for batch in range(BATCHES_PER_DAY):
            sent = day + timedelta(minutes=5 * batch)
            recipients = [f"reader{reader + i}@{LIST_DOMAIN}" for i in range(BATCH)]
            reader += BATCH
            message_id = f"0106bulk{back:02d}{batch:02d}-{rng.getrandbits(64):016x}-000000"
            mail = _mail(sent, message_id, recipients)
            messages.append(_json({"eventType": "Send", "mail": mail, "send": {}}))
            if bounced > 0:
                hit = recipients[: min(bounced, BATCH)]
                bounced -= len(hit)
                messages.append(_json(_bounce(mail, hit, sent + timedelta(seconds=40), rng)))
    return messages


def _mail(sent: datetime, message_id: str, recipients: list[str]) -> dict[str, Any]:
    return {
        "timestamp": _iso(sent),
        "source": SENDER,
        "sourceArn": f"arn:aws:ses:{REGION}:{ACCOUNT_ID}:identity/qube.example",
        "sendingAccountId": ACCOUNT_ID,
        "messageId": message_id,
        "destination": recipients,
        "headersTruncated": False,
        "commonHeaders": {"from": [SENDER], "to": recipients, "subject": SUBJECT},
        "tags": {
            "ses:operation": ["SendBulkEmail"],
            "ses:configuration-set": [BULK_SET],
            "ses:from-domain": ["qube.example"],
            "mail-category": ["newsletter"],
        },
    }


def _bounce(
    mail: dict[str, Any], recipients: list[str], at: datetime, rng: random.Random
) -> dict[str, Any]:
    return {
        "eventType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [
                {
                    "emailAddress": address,
                    "action": "failed",
                    "status": "5.1.1",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                }
                for address in recipients
            ],  # fmt: skip
            "timestamp": _iso(at),
            "feedbackId": f"0106bulkfb-{rng.getrandbits(64):016x}-000000",
            "reportingMTA": "dns; mx.newsletter-list.example",
        },
        "mail": mail,
    }


def _json(body: dict[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")) + "\n"


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
