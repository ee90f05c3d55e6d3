"""Benchmark: notifications per second through `python -m core ingest`, against a floor.

    .venv/bin/python bench/ingest.py                 # 200,000 notifications, SQLite + PostgreSQL
    .venv/bin/python bench/ingest.py --count 20000 --no-postgres

It writes a realistic mix of SNS-enveloped SES notifications (as SQS bodies look with raw
delivery off) to an NDJSON file, then times, as subprocesses with wall-clock time:

- the real CLI into a fresh SQLite file and into a fresh PostgreSQL database (`bench_ingest`),
  with the peak resident memory of that process (psutil polling, checked against getrusage);
- the baseline: `json.loads` of the envelope and of the inner Message, plain dict access, and
  `sqlite3.executemany` (INSERT OR IGNORE, a commit per 500 rows, WAL) into a table of the
  facts' main 15 columns with a unique text key and no other index: the floor of what any
  Python ingester costs. It keeps no summaries or daily counts, learns nothing of which rows
  were new, and stores timestamps as the text it received.

- a warm Lambda: the real `core.ingest.lambda_handler.handler` on SQS batches of 10 of the
  same bodies into the PostgreSQL database just filled (SQLite with --no-postgres), timed
  around the call after a first batch has built the Ingester; the signature check is off
  (the bench's signatures are not real ones).

Targets (each printed OK or MISS, from this one run): SQLite >= 1.0 x the baseline's rate;
PostgreSQL >= 15,000 notifications/s; peak memory < 300 MB whatever the file size; a warm
Lambda batch of 10 SQS messages <= 50 ms of handler time (median). The PostgreSQL database
is dropped at the end and the files live in a temporary folder, so nothing stays behind.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SQLITE_TARGET_RATIO = 1.0
POSTGRES_TARGET_RATE = 15_000
MEMORY_TARGET_MB = 300
LAMBDA_TARGET_MS = 50
LAMBDA_BATCH = 10
LAMBDA_BATCHES = 30
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_ingest"
SIGNATURE = "EXAMPLE" + "A" * 337 + "=="  # the length of a real RSA-2048 signature, base64
DOMAINS = ["example.com", "example.co.jp", "mail.example.net", "corp.example.org", "example.jp"]
BOUNCE_KINDS = [
    ("Permanent", "General", 40),
    ("Permanent", "NoEmail", 10),
    ("Permanent", "Suppressed", 5),
    ("Permanent", "OnAccountSuppressionList", 15),
    ("Transient", "General", 10),
    ("Transient", "MailboxFull", 12),
    ("Transient", "MessageTooLarge", 3),
    ("Undetermined", "Undetermined", 5),
]


# --- the input -------------------------------------------------------------------------------


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def _mail(rng: random.Random, recipients: list[str], at: datetime) -> dict[str, Any]:
    return {
        "timestamp": _iso(at - timedelta(seconds=3)),
        "source": "Qube <noreply@qube.example>",
        "sourceArn": "arn:aws:ses:ap-northeast-1:123456789012:identity/qube.example",
        "sendingAccountId": "123456789012",
        "messageId": f"0106018f{rng.getrandbits(32):08x}-{uuid.UUID(int=rng.getrandbits(128))}"
        "-000000",
        "destination": recipients,
        "headersTruncated": False,
        "commonHeaders": {
            "from": ["Qube <noreply@qube.example>"],
            "to": recipients,
            "messageId": f"<{rng.getrandbits(64):016x}@qube.example>",
            "subject": "【Qube】週次レポートのお知らせ",
        },
        "tags": {
            "ses:configuration-set": ["qube-production"],
            "ses:source-ip": ["192.0.2.10"],
            "ses:from-domain": ["qube.example"],
            "ses:caller-identity": ["qube-mailer"],
            "ses:operation": ["SendEmail"],
        },
    }


def _notification(rng: random.Random, addresses: list[str], at: datetime) -> dict[str, Any]:
    roll = rng.random()
    if roll < 0.25:  # a quarter bounces, a third of those naming several recipients
        count = rng.randint(2, 4) if rng.random() < 1 / 3 else 1
        recipients = rng.sample(addresses, count)
        bounce_type, subtype, _ = rng.choices(BOUNCE_KINDS, [w for *_, w in BOUNCE_KINDS])[0]
        return {
            "eventType": "Bounce",
            "bounce": {
                "feedbackId": f"0106018f-{uuid.UUID(int=rng.getrandbits(128))}-000000",
                "bounceType": bounce_type,
                "bounceSubType": subtype,
                "bouncedRecipients": [
                    {
                        "emailAddress": r,
                        "action": "failed",
                        "status": "5.1.1",
                        "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                    }
                    for r in recipients
                ],
                "timestamp": _iso(at),
                "reportingMTA": "dns; e226-55.smtp-out.ap-northeast-1.amazonses.com",
                "remoteMtaIp": "203.0.113.25",
            },
            "mail": _mail(rng, recipients, at),
        }
    recipients = [rng.choice(addresses)]
    if roll < 0.30:
        return {
            "eventType": "Complaint",
            "complaint": {
                "feedbackId": f"0106018f-{uuid.UUID(int=rng.getrandbits(128))}-000000",
                "complaintSubType": None,
                "complainedRecipients": [{"emailAddress": recipients[0]}],
                "timestamp": _iso(at),
                "userAgent": "Yahoo!-Mail-Feedback/2.0",
                "complaintFeedbackType": "abuse",
                "arrivalDate": _iso(at),
            },
            "mail": _mail(rng, recipients, at),
        }
    if roll < 0.65:
        return {
            "eventType": "Delivery",
            "mail": _mail(rng, recipients, at),
            "delivery": {
                "timestamp": _iso(at),
                "processingTimeMillis": rng.randint(300, 4000),
                "recipients": recipients,
                "smtpResponse": "250 2.0.0 OK  1714560000 d9443c01a7336-1e2b3c4d5e6f.123 - gsmtp",
                "reportingMTA": "e226-55.smtp-out.ap-northeast-1.amazonses.com",
                "remoteMtaIp": "142.250.0.27",
            },
        }
    return {"eventType": "Send", "mail": _mail(rng, recipients, at), "send": {}}


def envelopes(count: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    """`count` SNS envelopes around SES event-publishing records, as SQS bodies carry them."""
    rng = random.Random(seed)
    addresses = [f"user{n}@{rng.choice(DOMAINS)}" for n in range(max(count // 4, 10))]
    start = datetime(2024, 5, 1, tzinfo=UTC)
    for n in range(count):
        at = start + timedelta(seconds=n * 3, milliseconds=rng.randint(0, 999))
        yield {
            "Type": "Notification",
            "MessageId": str(uuid.UUID(int=rng.getrandbits(128))),
            "TopicArn": "arn:aws:sns:ap-northeast-1:123456789012:ses-events",
            "Subject": "Amazon SES Email Event Notification",
            "Message": json.dumps(_notification(rng, addresses, at), ensure_ascii=False),
            "Timestamp": _iso(at + timedelta(milliseconds=150)),
            "SignatureVersion": "1",
            "Signature": SIGNATURE,
            "SigningCertURL": "https://sns.ap-northeast-1.amazonaws.com/"
            "SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfda.pem",
            "UnsubscribeURL": "https://sns.ap-northeast-1.amazonaws.com/?Action=Unsubscribe"
            "&SubscriptionArn=arn:aws:sns:ap-northeast-1:123456789012:ses-events:0fe0bffc",
        }


def write_ndjson(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        for envelope in envelopes(count):
            out.write(json.dumps(envelope, ensure_ascii=False))
            out.write("\n")


# --- the baseline ------------------------------------------------------------------------------

BASELINE_SCHEMA = """
CREATE TABLE facts (
    id INTEGER PRIMARY KEY, dedup_key TEXT UNIQUE, kind TEXT, recipient TEXT, address TEXT,
    domain TEXT, bounce_type TEXT, bounce_subtype TEXT, diagnostic_code TEXT,
    ses_message_id TEXT, feedback_id TEXT, sender TEXT, subject TEXT, sns_message_id TEXT,
    occurred_at TEXT, mail_sent_at TEXT
)
"""


def baseline(path: str, database: str) -> int:
    """json.loads twice, dict access, executemany: returns the number of notifications."""
    connection = sqlite3.connect(database)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(BASELINE_SCHEMA)
    insert = "INSERT OR IGNORE INTO facts VALUES (NULL" + ", ?" * 15 + ")"
    rows: list[tuple[Any, ...]] = []
    count = 0
    with open(path, "rb") as stream:
        for line in stream:
            envelope = json.loads(line)
            event = json.loads(envelope["Message"])
            count += 1
            kind = event["eventType"]
            mail = event["mail"]
            detail = event.get(kind.lower(), {})
            if kind == "Bounce":
                recipients = [r["emailAddress"] for r in detail["bouncedRecipients"]]
            elif kind == "Complaint":
                recipients = [r["emailAddress"] for r in detail["complainedRecipients"]]
            elif kind == "Delivery":
                recipients = detail["recipients"]
            else:
                recipients = mail["destination"]
            key = detail.get("feedbackId") or mail["messageId"]
            for recipient in recipients:
                rows.append(
                    (
                        f"{kind}:{key}:{recipient}",
                        kind,
                        recipient,
                        recipient,
                        recipient.rpartition("@")[2],
                        detail.get("bounceType"),
                        detail.get("bounceSubType"),
                        detail.get("smtpResponse"),
                        mail["messageId"],
                        detail.get("feedbackId"),
                        mail["source"],
                        mail["commonHeaders"]["subject"],
                        envelope["MessageId"],
                        detail.get("timestamp", mail["timestamp"]),
                        mail["timestamp"],
                    )
                )
            if len(rows) >= 500:
                connection.executemany(insert, rows)
                connection.commit()
                rows.clear()
    connection.executemany(insert, rows)
    connection.commit()
    connection.close()
    return count


# --- measuring a subprocess ---------------------------------------------------------------------


@dataclass
class Run:
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    output: str


def measure(command: list[str]) -> Run:
    """Wall time, CPU time (user + sys) and peak RSS (psutil, every 20 ms) of one subprocess.

    CPU time is reported beside wall time because on a shared machine other processes
    stretch the wall time of both sides of the comparison, unevenly.
    """
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    watched = psutil.Process(process.pid)
    peak = 0
    while process.poll() is None:
        try:
            peak = max(peak, watched.memory_info().rss)
        except psutil.Error:
            break
        time.sleep(0.02)
    output = process.communicate()[0]
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{output}")
    return Run(seconds, cpu, peak / 2**20, output.strip())


def fresh_postgres(url: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    admin = psycopg.connect(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password,
        dbname="postgres",
        autocommit=True,
    )
    with admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{parsed.database}"')


def drop_postgres(url: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    with psycopg.connect(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password,
        dbname="postgres",
        autocommit=True,
    ) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')


def ingest_run(path: Path, url: str) -> Run:
    cli = [PYTHON, "-m", "core"]
    measure([*cli, "--database-url", url, "db", "upgrade"])
    return measure([*cli, "ingest", str(path), "--database-url", url])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200_000, help="notifications to generate")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--workdir", help="where to write the input and databases (default: tmp)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        work = Path(tmp)
        path = work / "notifications.ndjson"
        started = time.perf_counter()
        write_ndjson(path, args.count)
        size_mb = path.stat().st_size / 2**20
        print(
            f"input: {args.count:,} notifications, {size_mb:.0f} MB NDJSON "
            f"(written in {time.perf_counter() - started:.1f} s)"
        )

        base = measure([PYTHON, __file__, "--baseline", str(path), str(work / "floor.db")])
        base_rate = args.count / base.seconds
        print(
            f"baseline (json.loads + dict + sqlite3.executemany): {base.seconds:.2f} s "
            f"(CPU {base.cpu_seconds:.2f} s), {base_rate:,.0f} notifications/s, "
            f"peak {base.peak_rss_mb:.0f} MB"
        )

        sqlite_url = f"sqlite:///{work / 'bench.db'}"
        results = {"sqlite": ingest_run(path, sqlite_url)}
        lambda_url = sqlite_url
        try:
            if not args.no_postgres:
                fresh_postgres(args.postgres_url)
                results["postgresql"] = ingest_run(path, args.postgres_url)
                lambda_url = args.postgres_url
            warm = measure([PYTHON, __file__, "--lambda", str(path), lambda_url])
        finally:
            if not args.no_postgres:
                drop_postgres(args.postgres_url)
        children_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    targets: list[tuple[str, str, bool]] = []
    for name, run in results.items():
        rate = args.count / run.seconds
        ratio, cpu_ratio = rate / base_rate, base.cpu_seconds / run.cpu_seconds
        print(
            f"{name}: {run.seconds:.2f} s (CPU {run.cpu_seconds:.2f} s), "
            f"{rate:,.0f} notifications/s, ratio to baseline {ratio:.2f} "
            f"(by CPU {cpu_ratio:.2f}), peak {run.peak_rss_mb:.0f} MB"
        )
        print(f"  cli: {run.output.splitlines()[-1]}")
        if name == "sqlite":
            targets.append(
                (
                    f"SQLite >= {SQLITE_TARGET_RATIO} x baseline",
                    f"{ratio:.2f} x (by CPU {cpu_ratio:.2f} x)",
                    ratio >= SQLITE_TARGET_RATIO,
                )
            )
        else:
            targets.append(
                (
                    f"PostgreSQL >= {POSTGRES_TARGET_RATE:,}/s",
                    f"{rate:,.0f}/s",
                    rate >= POSTGRES_TARGET_RATE,
                )
            )
        targets.append(
            (
                f"{name} peak memory < {MEMORY_TARGET_MB} MB",
                f"{run.peak_rss_mb:.0f} MB",
                run.peak_rss_mb < MEMORY_TARGET_MB,
            )
        )
    timings = sorted(json.loads(warm.output.splitlines()[-1]))
    median, slowest = timings[len(timings) // 2], timings[-1]
    backend = "sqlite" if lambda_url == sqlite_url else "postgresql"
    print(
        f"lambda ({backend}, {len(timings)} warm SQS batches of {LAMBDA_BATCH}): "
        f"median {median:.1f} ms, slowest {slowest:.1f} ms"
    )
    targets.append(
        (
            f"warm Lambda batch of {LAMBDA_BATCH} <= {LAMBDA_TARGET_MS} ms",
            f"{median:.1f} ms",
            median <= LAMBDA_TARGET_MS,
        )
    )
    print(f"largest child RSS by getrusage: {children_peak:.0f} MB")
    print(f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print("\n| target | measured | |\n|---|---|---|")
    for label, measured, ok in targets:
        print(f"| {label} | {measured} | {'OK' if ok else 'MISS'} |")
    return 0 if all(ok for *_, ok in targets) else 1


def lambda_batches(path: str, url: str) -> list[float]:
    """Milliseconds of handler time per SQS batch of 10, after one batch to warm up."""
    os.environ.update(BOUNCEDESK_DATABASE_URL=url, BOUNCEDESK_VERIFY_SNS_LAMBDA="off")
    from core.ingest.lambda_handler import handler

    with open(path, encoding="utf-8") as stream:
        bodies = [next(stream).rstrip("\n") for _ in range(LAMBDA_BATCH * (LAMBDA_BATCHES + 1))]
    # Fresh message ids so the batches store new facts rather than duplicates.
    bodies = [
        body.replace('"MessageId": "', f'"MessageId": "lambda{n}-', 1)
        for n, body in enumerate(bodies)
    ]
    timings = []
    for start in range(0, len(bodies), LAMBDA_BATCH):
        event = {
            "Records": [
                {
                    "messageId": f"bench-{start + n}",
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:ap-northeast-1:123456789012:ses-events",
                    "body": body,
                }
                for n, body in enumerate(bodies[start : start + LAMBDA_BATCH])
            ]
        }
        started = time.perf_counter()
        result = handler(event)
        timings.append((time.perf_counter() - started) * 1000)
        if result["batchItemFailures"]:
            raise SystemExit(f"the handler failed messages: {result}")
    return timings[1:]


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--baseline":
        print(baseline(sys.argv[2], sys.argv[3]))
        sys.exit(0)
    if len(sys.argv) == 4 and sys.argv[1] == "--lambda":
        print(json.dumps(lambda_batches(sys.argv[2], sys.argv[3])))
        sys.exit(0)
    sys.exit(main())
