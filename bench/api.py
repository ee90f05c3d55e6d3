"""Benchmark: POST /v1/recipients/check with 10,000 addresses against 200,000 bounced ones.

    .venv/bin/python bench/api.py [--bounced 200000] [--check 10000] [--runs 15]
                                  [--backends sqlite,postgresql] [--pg-url URL]

Per backend: a fresh migrated database is seeded (address summaries, one fact per address,
a suppression mirror and some confirmations), then the same 10,000-address request (half of
them bounced, half never seen) is sent `--runs` times through the whole app in this process
(FastAPI's TestClient: token check, validation, the chunked evidence queries, the rules,
JSON). In the same run, the floor: the same lookup as ONE plain SQL query (the 10,000
addresses in one IN list, joined to the summaries, the mirror and the confirmations), with
no rules and no HTTP. Target: p50 <= 300 ms and p50 <= 2x the floor's p50.

Numbers come from this machine; not a test: run it by hand (make bench-api).
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import Engine, bindparam, create_engine, insert, text  # noqa: E402

from api.app import create_app  # noqa: E402
from core.access import Actor, Role  # noqa: E402
from core.chunks import ROWS_PER_STATEMENT, chunked  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.store.db import make_engine, upgrade  # noqa: E402
from core.store.tables import CONFIRMATIONS, FACTS, MIRROR, SUMMARIES  # noqa: E402
from core.tokens import Scope, create_token  # noqa: E402

TARGET_MS = 300.0
FLOOR_FACTOR = 2.0
PG_DATABASE = "bouncedesk_bench_api"
NOW = datetime(2026, 11, 1, 12, 0)


def address(i: int) -> str:
    return f"user{i:07d}@d{i % 997}.example.com"


def summaries(count: int) -> Iterator[dict[str, Any]]:
    for i in range(count):
        kind = "hard" if i % 4 else "soft"
        complaint = i % 20 == 0
        at = NOW - timedelta(days=i % 90, minutes=i % 1440)
        yield {
            "address": address(i),
            "recipient": address(i),
            "domain": f"d{i % 997}.example.com",
            "hard_count": 1 if kind == "hard" else 0,
            "soft_count": 1 if kind == "soft" else 0,
            "undetermined_count": 0,
            "complaint_count": 1 if complaint else 0,
            "delivery_count": 0,
            "first_bounce_at": at,
            "last_bounce_at": at,
            "last_hard_bounce_at": at if kind == "hard" else None,
            "last_soft_bounce_at": at if kind == "soft" else None,
            "last_complaint_at": at if complaint else None,
            "last_bounce_type": "Permanent" if kind == "hard" else "Transient",
            "last_bounce_subtype": "General" if kind == "hard" else "MailboxFull",
            "last_classification": kind,
            "last_diagnostic_code": "smtp; 550 5.1.1 user unknown",
        }


def facts(count: int) -> Iterator[dict[str, Any]]:
    for row in summaries(count):
        yield {
            "dedup_key": hashlib.sha256(row["address"].encode()).digest(),
            "event_key": f"feedback:{row['address']}",
            "family": "feedback",
            "kind": "bounce",
            "recipient": row["address"],
            "address": row["address"],
            "domain": row["domain"],
            "bounce_type": row["last_bounce_type"],
            "bounce_subtype": row["last_bounce_subtype"],
            "classification": row["last_classification"],
            "occurred_at": row["last_bounce_at"],
            "received_at": row["last_bounce_at"],
            "ses_message_id": "bench",
        }


def mirror(count: int) -> Iterator[dict[str, Any]]:
    for i in range(0, count, 5):  # a fifth of them are on the suppression list
        yield {
            "address": address(i),
            "email_address": address(i),
            "reason": "COMPLAINT" if i % 20 == 0 else "BOUNCE",
            "last_update_time": NOW - timedelta(days=i % 60),
            "first_seen_at": NOW - timedelta(days=i % 60),
            "last_seen_at": NOW,
            "suppressed": True,
            "removed_by_us": False,
            "sync_generation": 1,
        }


def confirmations(count: int) -> Iterator[dict[str, Any]]:
    for i in range(0, count, 50):
        yield {"address": address(i), "confirmed_at": NOW, "actor": "bench", "note": "bench"}


def seed(engine: Engine, count: int) -> None:
    for table, rows in (
        (SUMMARIES, summaries(count)),
        (FACTS, facts(count)),
        (MIRROR, mirror(count)),
        (CONFIRMATIONS, confirmations(count)),
    ):
        with engine.begin() as connection:
            for chunk in chunked(rows, ROWS_PER_STATEMENT):
                connection.execute(insert(table), chunk)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(
            text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE")
        )


def fresh_url(backend: str, args: argparse.Namespace, work: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{work / 'bench_api.db'}"
    admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {PG_DATABASE}"))
    admin.dispose()
    return args.pg_url.rsplit("/", 1)[0] + f"/{PG_DATABASE}"


FLOOR_SQL = text(
    "SELECT s.address, s.hard_count, s.soft_count, s.complaint_count, s.last_bounce_at,"
    " s.last_complaint_at, m.reason, m.last_update_time, c.confirmed_at"
    " FROM address_summaries s"
    " LEFT JOIN suppressed_destinations m ON m.address = s.address AND m.suppressed"
    " LEFT JOIN confirmations c ON c.address = s.address AND c.revoked_at IS NULL"
    " WHERE s.address IN :addresses"
).bindparams(bindparam("addresses", expanding=True))


def timed(call: Callable[[], Any], runs: int) -> tuple[float, float]:
    call()  # warm caches and connections
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return statistics.median(samples), p95


def bench_backend(backend: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    url = fresh_url(backend, args, work)
    engine = make_engine(url, auto_upgrade=False)
    upgrade(engine)
    started = time.perf_counter()
    seed(engine, args.bounced)
    seeded = time.perf_counter() - started
    half = args.check // 2
    addresses = [address(i * (args.bounced // half)) for i in range(half)]
    addresses += [f"fresh{i:07d}@new.example.com" for i in range(args.check - half)]
    token = create_token(engine, "bench", Scope.READ, actor=Actor("bench", Role.ADMIN)).token
    settings = Settings(actor="bench", api_rate_limit=1_000_000)
    skipped = 0
    with TestClient(create_app(settings, engine=engine)) as client:
        headers = {"Authorization": f"Bearer {token}"}

        def api_call() -> None:
            nonlocal skipped
            response = client.post(
                "/v1/recipients/check", json={"addresses": addresses}, headers=headers
            )
            response.raise_for_status()
            skipped = response.json()["skip_count"]

        api = timed(api_call, args.runs)

    def floor_call() -> None:
        with engine.connect() as connection:
            connection.execute(FLOOR_SQL, {"addresses": addresses}).all()

    floor = timed(floor_call, args.runs)
    engine.dispose()
    return {"seeded_s": seeded, "api": api, "floor": floor, "skipped": skipped}


def verdict(result: dict[str, Any]) -> str:
    p50, floor = result["api"][0], result["floor"][0]
    ok = p50 <= TARGET_MS and p50 <= FLOOR_FACTOR * floor
    return "OK" if ok else "MISS"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bounced", type=int, default=200_000)
    parser.add_argument("--check", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bouncedesk-bench-api-") as folder:
        results = {b: bench_backend(b, args, Path(folder)) for b in args.backends.split(",")}
    print(
        f"\n/v1/recipients/check, {args.check:,} addresses vs {args.bounced:,} bounced, "
        f"{args.runs} runs; target p50 <= {TARGET_MS:.0f} ms and <= {FLOOR_FACTOR:.0f}x floor"
    )
    print(f"{'backend':<11} {'api p50':>9} {'api p95':>9} {'floor p50':>10} {'floor p95':>10} "
          f"{'ratio':>6} {'skipped':>8}  verdict")  # fmt: skip
    for backend, r in results.items():
        (p50, p95), (f50, f95) = r["api"], r["floor"]
        print(
            f"{backend:<11} {p50:>7.0f}ms {p95:>7.0f}ms {f50:>8.0f}ms {f95:>8.0f}ms "
            f"{p50 / f50:>5.1f}x {r['skipped']:>8,}  {verdict(r)}"
        )


if __name__ == "__main__":
    main()
