"""Benchmark every data call the dashboard pages make, against DuckDB as a reference.

    .venv/bin/python bench/dashboard.py                       # 1,000,000 facts, 200,000 addresses
    .venv/bin/python bench/dashboard.py --facts 100000 --addresses 20000 --runs 10
    .venv/bin/python bench/dashboard.py --backends sqlite --reuse   # keep the seeded database

The same deterministic data set is written to SQLite, PostgreSQL and Parquet. Rows go in with
bulk inserts (COPY on PostgreSQL) rather than through the ingester, for speed, but they are
what ingestion would have produced: one fact per recipient event in time order, the per-address
summaries and daily counts (per kind and per domain) aggregated from exactly those facts,
CloudWatch points for sends and the official rates, a directory entry per address, the
suppression mirror and confirmations. DuckDB loads the same rows (from Parquet, into
in-memory tables: its best case) and runs the same aggregates; that is the reference the
targets compare against.

Targets (issue 13): every page call p50 <= 100 ms on SQLite and on PostgreSQL, and no
slower than DuckDB where DuckDB runs the same aggregate; the bounced list's page 200 is
reached by cursor (keyset), as the page does. Exports: 100,000 bounced rows <= 1 s and the
exclusion list (~160,000 rows) <= 2 s, peak memory < 300 MB (the peak RSS of a separate
process that does nothing but the export), and within 2x the floor measured in the same
process: the same rows by one SELECT on the raw driver cursor into csv.writer.

Everything the bench writes (the SQLite file, the Parquet file, the PostgreSQL database) is
removed at the end, unless --reuse asks to keep it for the next run. `--facts 10000000
--addresses 2000000 --backends postgresql` is the large run (PostgreSQL seeded with COPY).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, create_engine, func, select, text  # noqa: E402

from core.access import Actor, Role  # noqa: E402
from core.recipients.bounced import (  # noqa: E402
    BouncedFilter,
    _order,
    _rows_query,
    address_detail,
    export_bounced_csv,
    filter_conditions,
    list_bounced,
)
from core.recipients.mailing import (  # noqa: E402
    _evidence_query,
    export_exclusions_csv,
    mailing_status,
)
from core.reports.overview import account_health, bounces_by_type, rate_trend, top_domains  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.store.db import make_engine, upgrade  # noqa: E402
from core.store.models import AddressSummary  # noqa: E402

BENCH_ACTOR = Actor("bench", Role.VIEWER)  # exports are a viewer's right

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_DATABASE = "bench_dashboard"
WORK = Path(tempfile.gettempdir()) / "bench_dashboard"
DAYS = 180
SEED = 20261001
TARGET_MS = 100.0
MEMORY_LIMIT_MB = 300.0
EXPORT_TARGET_MS = {"bounced": 1000.0, "exclusions": 2000.0}
FLOOR_RATIO = 2.0

# --- The data set --------------------------------------------------------------------------

BIG_DOMAINS = [
    ("gmail.com", 18), ("docomo.ne.jp", 10), ("yahoo.co.jp", 9), ("ezweb.ne.jp", 6),
    ("softbank.ne.jp", 4), ("i.softbank.jp", 4), ("icloud.com", 4), ("outlook.com", 3),
    ("hotmail.com", 2), ("au.com", 2), ("nifty.com", 1), ("biglobe.ne.jp", 1),
]  # fmt: skip
FAMILY = ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤", "Smith"]
GIVEN = ["太郎", "花子", "翔", "結衣", "大輔", "美咲", "健", "陽菜", "John", "Emma"]
COMPANY = ["株式会社キューブ", "Acme", "山田商事", "Globex", "テック工業", "Initech", "丸紅物産"]
CLASSES = {  # classification: (bounce type, [(subtype, weight)])
    "hard": ("Permanent", [("General", 6), ("NoEmail", 2), ("Suppressed", 1),
                           ("OnAccountSuppressionList", 2)]),
    "soft": ("Transient", [("General", 4), ("MailboxFull", 4), ("MessageTooLarge", 1),
                           ("ContentRejected", 1)]),
    "undetermined": ("Undetermined", [("Undetermined", 1)]),
}  # fmt: skip
DIAGNOSTIC = {
    "hard": "smtp; 550 5.1.1 <{a}>: Recipient address rejected: User unknown",
    "soft": "smtp; 452 4.2.2 <{a}>: Mailbox full",
    "undetermined": "smtp; 554 5.0.0 unknown failure",
}
FACT_COLUMNS = [
    "dedup_key", "event_key", "family", "kind", "recipient", "address", "domain",
    "bounce_type", "bounce_subtype", "classification", "counts_toward_bounce_rate",
    "complaint_subtype", "complaint_feedback_type", "diagnostic_code", "status", "action",
    "reporting_mta", "sender", "subject", "ses_message_id", "feedback_id", "occurred_at",
    "mail_sent_at", "received_at",
]  # fmt: skip
SUMMARY_COLUMNS = [
    "address", "recipient", "domain", "hard_count", "soft_count", "undetermined_count",
    "complaint_count", "delivery_count", "first_bounce_at", "last_bounce_at",
    "last_hard_bounce_at", "last_soft_bounce_at", "last_complaint_at", "last_bounce_type",
    "last_bounce_subtype", "last_classification", "last_diagnostic_code",
]  # fmt: skip


@dataclass
class Summary:
    """Per-address totals, built exactly as core.ingest.recording builds them."""

    address: str
    domain: str
    counts: dict[str, int] = field(
        default_factory=lambda: {"hard": 0, "soft": 0, "undetermined": 0, "complaint": 0}
    )
    first_bounce_at: datetime | None = None
    last_bounce_at: datetime | None = None
    last_hard: datetime | None = None
    last_soft: datetime | None = None
    last_complaint: datetime | None = None
    last: tuple[str | None, str | None, str | None, str | None] = (None, None, None, None)

    def add(self, kind: str, cls: str | None, btype: str | None, sub: str | None, diag: str | None,
            at: datetime) -> None:  # fmt: skip
        if kind == "complaint":
            self.counts["complaint"] += 1
            self.last_complaint = at
            return
        self.counts[cls or "undetermined"] += 1
        self.first_bounce_at = self.first_bounce_at or at
        self.last_bounce_at = at
        self.last = (btype, sub, cls, diag)
        if cls == "hard":
            self.last_hard = at
        elif cls == "soft":
            self.last_soft = at

    def row(self) -> tuple[Any, ...]:
        c = self.counts
        return (
            self.address, self.address, self.domain, c["hard"], c["soft"], c["undetermined"],
            c["complaint"], 0, self.first_bounce_at, self.last_bounce_at, self.last_hard,
            self.last_soft, self.last_complaint, *self.last,
        )  # fmt: skip


class Dataset:
    """A deterministic bounce history: `facts` facts over `addresses` addresses, DAYS days."""

    def __init__(self, facts: int, addresses: int, today: date) -> None:
        self.n_facts, self.n_addresses, self.today = facts, addresses, today
        self.rng = random.Random(SEED)
        self.start = datetime.combine(today - timedelta(days=DAYS - 1), datetime.min.time())
        self.addresses = [self._address(i) for i in range(addresses)]
        self.profile = self.rng.choices(
            ["hard", "soft", "undetermined", "complaint"], [45, 45, 5, 5], k=addresses
        )
        self.summaries: dict[str, Summary] = {}
        self.daily: dict[tuple[Any, ...], int] = {}
        self.domain_daily: dict[tuple[Any, ...], int] = {}

    def _address(self, i: int) -> tuple[str, str]:
        if self.rng.random() < 0.6:
            domain = self.rng.choices([d for d, _ in BIG_DOMAINS], [w for _, w in BIG_DOMAINS])[0]
        else:
            domain = f"corp{self.rng.randrange(8000):04d}.co.jp"
        return f"user{i:06d}.{self.rng.choice(['taro', 'hana', 'k', 'info'])}@{domain}", domain

    def _schedule(self) -> list[tuple[float, int]]:
        """(seconds since start, address index) for every fact, oldest first. Every
        address bounces at least once; a few bounce many times (a dead mailbox keeps
        bouncing), like a real list."""
        counts = [1] * self.n_addresses
        for _ in range(self.n_facts - self.n_addresses):
            counts[int(self.n_addresses * self.rng.random() ** 2)] += 1
        span = DAYS * 86400 - 1
        events = [(self.rng.random() * span, i) for i, n in enumerate(counts) for _ in range(n)]
        events.sort()
        return events

    def facts(self, chunk: int = 20_000) -> Iterator[list[tuple[Any, ...]]]:
        """Fact rows in time order, in chunks; summaries and daily counts (per kind and per
        domain) fill up as it goes."""
        rows: list[tuple[Any, ...]] = []
        for serial, (offset, index) in enumerate(self._schedule()):
            rows.append(self._fact(serial, self.start + timedelta(seconds=offset), index))
            if len(rows) >= chunk:
                yield rows
                rows = []
        if rows:
            yield rows

    def _fact(self, serial: int, at: datetime, index: int) -> tuple[Any, ...]:
        address, domain = self.addresses[index]
        profile = self.profile[index]
        if self.rng.random() > 0.8:
            profile = self.rng.choice(["hard", "soft", "soft", "undetermined", "complaint"])
        at = at.replace(microsecond=at.microsecond // 1000 * 1000)
        kind = "complaint" if profile == "complaint" else "bounce"
        cls = btype = sub = diag = status = action = None
        complaint_sub = feedback = None
        if kind == "bounce":
            cls = profile
            btype, subtypes = CLASSES[cls]
            sub = self.rng.choices([s for s, _ in subtypes], [w for _, w in subtypes])[0]
            diag, status, action = DIAGNOSTIC[cls].format(a=address), "5.1.1", "failed"
        else:
            feedback = "abuse"
        counted = cls == "hard" and sub != "OnAccountSuppressionList"
        summary = self.summaries.get(address) or self.summaries.setdefault(
            address, Summary(address, domain)
        )
        summary.add(kind, cls, btype, sub, diag, at)
        key = (at.date(), kind, cls or "", sub or "", counted)
        self.daily[key] = self.daily.get(key, 0) + 1
        by_domain = (at.date(), domain, kind, cls or "")
        self.domain_daily[by_domain] = self.domain_daily.get(by_domain, 0) + 1
        event_key = f"fb:bench-{serial}"
        dedup = hashlib.sha256(f"{event_key}\n{address}".encode()).digest()
        return (
            dedup, event_key, "feedback", kind, address, address, domain, btype, sub, cls,
            counted, complaint_sub, feedback, diag, status, action, "dns; mx.example.com",
            "no-reply@qube.example", "Qube news", f"msg-{serial}", f"bench-{serial}", at,
            at - timedelta(seconds=2), at + timedelta(seconds=3),
        )  # fmt: skip

    def directory(self) -> Iterator[tuple[Any, ...]]:
        rng = random.Random(SEED + 1)
        for i, (address, _domain) in enumerate(self.addresses):
            name = f"{rng.choice(FAMILY)} {rng.choice(GIVEN)}"
            company = f"{rng.choice(COMPANY)}{i % 997}"
            yield address, address, f"U{i:07d}", name, company, self.start

    def mirror(self) -> Iterator[tuple[Any, ...]]:
        """Hard-bounced addresses are on the suppression list; 5 % were removed since."""
        rng = random.Random(SEED + 2)
        for address, s in self.summaries.items():
            if s.last_hard is not None:
                listed = rng.random() > 0.05
                yield (address, address, "BOUNCE", s.last_hard, s.last_hard, self.start,
                       listed, None if listed else s.last_hard, False, 1)  # fmt: skip

    def confirmations(self, now: datetime) -> Iterator[tuple[Any, ...]]:
        rng = random.Random(SEED + 3)
        listed = [a for a, s in self.summaries.items() if s.last_hard is not None]
        for address in rng.sample(listed, min(3000, len(listed))):
            at = now - timedelta(days=rng.random() * 60)
            revoked = at + timedelta(hours=1) if rng.random() < 0.1 else None
            by, why = ("lead@qube.example", "wrong") if revoked else (None, None)
            yield (address, at, "ops@qube.example", "checked in CRM", revoked, by, why)

    def metric_points(self, now: datetime) -> Iterator[tuple[Any, ...]]:
        """CloudWatch daily sends (a ~1.5 % counting bounce rate) and official rates."""
        rng = random.Random(SEED + 4)
        per_day: dict[date, int] = {}
        for (day, kind, _cls, _sub, counted), n in self.daily.items():
            if kind == "bounce" and counted:
                per_day[day] = per_day.get(day, 0) + n
        for i in range(DAYS):
            day = self.start + timedelta(days=i)
            sends = int(per_day.get(day.date(), 0) / 0.015) + 1000
            yield ("cloudwatch", "Send", 86400, day, float(sends), now)
            yield (
                "cloudwatch",
                "Reputation.BounceRate",
                86400,
                day,
                0.018 + rng.random() / 200,
                now,
            )
            yield ("cloudwatch", "Reputation.ComplaintRate", 86400, day, rng.random() / 2000, now)
            if i >= DAYS - 14:
                for hour in range(24):
                    at = day + timedelta(hours=hour)
                    yield ("cloudwatch", "Reputation.BounceRate", 3600, at, 0.02, now)


# --- Writing it ----------------------------------------------------------------------------


def sqlite_value(value: Any) -> Any:
    """What SQLAlchemy itself stores on SQLite: ISO text with microseconds, 1/0 booleans."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


class Writer:
    """Bulk rows into one table: COPY on PostgreSQL, executemany on SQLite."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.raw = engine.raw_connection()
        self.postgres = engine.dialect.name == "postgresql"

    def write(self, table: str, columns: list[str], rows: Any) -> int:
        cursor = self.raw.cursor()
        count = 0
        if self.postgres:
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
        else:
            marks = ", ".join("?" for _ in columns)
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
            batch: list[tuple[Any, ...]] = []
            for row in rows:
                batch.append(tuple(sqlite_value(v) for v in row))
                if len(batch) >= 20_000:
                    cursor.executemany(sql, batch)
                    count += len(batch)
                    batch = []
            cursor.executemany(sql, batch)
            count += len(batch)
        self.raw.commit()
        return count

    def close(self) -> None:
        self.raw.close()


class ParquetSink:
    """The same fact rows as Parquet, for DuckDB."""

    COLUMNS = ["kind", "address", "domain", "bounce_subtype", "classification",
               "counts_toward_bounce_rate", "occurred_at"]  # fmt: skip

    def __init__(self, path: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.pa = pa
        indexes = [FACT_COLUMNS.index(c) for c in self.COLUMNS]
        self.indexes = indexes
        self.writer: Any = None
        self.path, self.pq = path, pq

    def add(self, rows: list[tuple[Any, ...]]) -> None:
        table = self.pa.table(
            {c: [r[i] for r in rows] for c, i in zip(self.COLUMNS, self.indexes, strict=True)}
        )
        if self.writer is None:
            self.writer = self.pq.ParquetWriter(self.path, table.schema)
        self.writer.write_table(table)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def seed(engine: Engine, data: Dataset, parquet: ParquetSink | None) -> dict[str, int]:
    """Write the whole data set; returns rows per table."""
    now = datetime.combine(data.today, datetime.min.time()) + timedelta(hours=12)
    writer = Writer(engine)
    written: dict[str, int] = {"facts": 0}
    try:
        for chunk in data.facts():
            written["facts"] += writer.write("facts", FACT_COLUMNS, chunk)
            if parquet:
                parquet.add(chunk)
        written["address_summaries"] = writer.write(
            "address_summaries", SUMMARY_COLUMNS, (s.row() for s in data.summaries.values())
        )
        daily = ((*key, n) for key, n in sorted(data.daily.items()))
        written["daily_counts"] = writer.write(
            "daily_counts",
            ["day", "kind", "classification", "subtype", "counts_toward_rate", "count"],
            daily,
        )
        by_domain = ((*key, n) for key, n in sorted(data.domain_daily.items()))
        written["daily_domain_counts"] = writer.write(
            "daily_domain_counts", ["day", "domain", "kind", "classification", "count"], by_domain
        )
        written.update(_seed_side_tables(writer, data, now))
    finally:
        writer.close()
        if parquet:
            parquet.close()
    return written


def _seed_side_tables(writer: Writer, data: Dataset, now: datetime) -> dict[str, int]:
    return {
        "directory_users": writer.write(
            "directory_users", ["address", "email", "user_id", "name", "company", "imported_at"],
            data.directory(),
        ),
        "suppressed_destinations": writer.write(
            "suppressed_destinations",
            ["address", "email_address", "reason", "last_update_time", "first_seen_at",
             "last_seen_at", "suppressed", "unsuppressed_at", "removed_by_us", "sync_generation"],
            data.mirror(),
        ),
        "confirmations": writer.write(
            "confirmations",
            ["address", "confirmed_at", "actor", "note", "revoked_at", "revoked_by", "revoke_note"],
            data.confirmations(now),
        ),
        "metric_points": writer.write(
            "metric_points", ["source", "metric", "period_seconds", "at", "value", "pulled_at"],
            data.metric_points(now),
        ),
        "suppression_syncs": writer.write(
            "suppression_syncs", ["started_at", "finished_at", "incremental", "pages", "seen",
                                  "added", "gone", "status"],
            [(now, now, False, 1, 1, 1, 0, "completed")],
        ),
        "account_snapshots": writer.write(
            "account_snapshots", ["taken_at", "enforcement_status", "sending_enabled",
                                  "production_access_enabled", "raw"],
            [(now, "HEALTHY", True, True, "{}")],
        ),
    }  # fmt: skip


# --- Databases -----------------------------------------------------------------------------


def open_backend(backend: str, args: argparse.Namespace, data: Dataset) -> tuple[Engine, str]:
    """A migrated database holding the data set (seeded unless --reuse finds it there)."""
    url = _fresh_url(backend, args, reuse=args.reuse)
    engine = make_engine(url, auto_upgrade=False)
    upgrade(engine)
    with engine.connect() as connection:
        present = connection.scalar(select(func.count()).select_from(AddressSummary.__table__))
    if args.reuse and present == args.addresses:
        print(f"{backend}: reusing the seeded database", file=sys.stderr)
        return engine, url
    started = time.perf_counter()
    parquet = ParquetSink(WORK / "facts.parquet") if backend == args.backends[0] else None
    counts = seed(engine, data, parquet)
    _analyze(engine)
    print(f"{backend}: seeded {counts} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return engine, url


def _fresh_url(backend: str, args: argparse.Namespace, *, reuse: bool) -> str:
    if backend == "sqlite":
        path = WORK / f"bench_{args.facts}_{args.addresses}.db"
        if not reuse:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": PG_DATABASE}
        )
        if exists and not reuse:
            connection.execute(text(f"DROP DATABASE {PG_DATABASE} WITH (FORCE)"))
        if not exists or not reuse:
            connection.execute(text(f"CREATE DATABASE {PG_DATABASE}"))
    admin.dispose()
    return args.pg_url.rsplit("/", 1)[0] + f"/{PG_DATABASE}"


def _analyze(engine: Engine) -> None:
    """Planner statistics, as autovacuum (PostgreSQL) or `PRAGMA optimize` (SQLite) keep."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))


# --- Timing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    p50: float
    p95: float


def measure(call: Callable[[int], Any], runs: int) -> Timing:
    """p50 / p95 in milliseconds over `runs` calls, after one warm-up call."""
    call(0)
    samples = []
    for i in range(runs):
        started = time.perf_counter()
        call(i)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return Timing(statistics.median(samples), p95)


def page_calls(engine: Engine, today: date, sample: list[str]) -> dict[str, Callable[[int], Any]]:
    """Every data call the pages make, by the name printed in the table."""
    start60 = today - timedelta(days=59)
    settings = Settings(soft_bounce_exclusion_count=1, soft_bounce_window_days=30)
    page_200 = cursor_of_page(engine, 200)

    def listing(**criteria: Any) -> Callable[[int], Any]:
        page = criteria.pop("page", 1)
        return lambda _i: list_bounced(engine, BouncedFilter(**criteria), page=page)

    return {
        "account_health": lambda _i: account_health(engine, today=today),
        "rate_trend 60d": lambda _i: rate_trend(engine, start60, today),
        "bounces_by_type 60d": lambda _i: bounces_by_type(engine, start60, today),
        "top_domains 60d": lambda _i: top_domains(engine, start60, today),
        "list: no filter": listing(),
        "list: no filter, page 200": lambda _i: list_bounced(
            engine, BouncedFilter(), cursor=page_200
        ),
        "list: hard only": listing(kinds={"hard"}),
        "list: domain gmail.com": listing(domain="gmail.com"),
        "list: text '佐藤 花子'": listing(text="佐藤 花子"),
        "list: text 'user01234'": listing(text="user01234"),
        "list: suppressed+confirmed": listing(suppression="suppressed", confirmed="yes"),
        "address_detail": lambda i: address_detail(engine, sample[i % len(sample)]),
        "mailing_status": lambda i: mailing_status(engine, sample[i % len(sample)], settings),
    }


def cursor_of_page(engine: Engine, number: int) -> str | None:
    """The cursor that opens page `number` of the unfiltered list, walked to as a person
    pressing "Next page" would."""
    cursor = None
    for _ in range(number - 1):
        cursor = list_bounced(engine, BouncedFilter(), cursor=cursor).next_cursor
    return cursor


def duckdb_calls(today: date) -> dict[str, Callable[[int], Any]]:
    """The same aggregates in DuckDB over the same rows, loaded into its own tables."""
    import duckdb

    db = duckdb.connect()
    db.execute(f"CREATE TABLE facts AS SELECT * FROM read_parquet('{WORK / 'facts.parquet'}')")
    start60, week = today - timedelta(days=59), today - timedelta(days=6)
    q = {
        "account_health": f"""SELECT
            count(*) FILTER (WHERE kind='bounce' AND counts_toward_bounce_rate),
            count(*) FILTER (WHERE kind='complaint') FROM facts WHERE occurred_at >= '{week}'""",
        "rate_trend 60d": f"""SELECT CAST(occurred_at AS DATE) d, count(*) FROM facts
            WHERE kind='bounce' AND counts_toward_bounce_rate AND occurred_at >= '{start60}'
            GROUP BY d ORDER BY d""",
        "bounces_by_type 60d": f"""SELECT CAST(occurred_at AS DATE) d,
            CASE WHEN kind='complaint' THEN 'complaint' ELSE classification END c,
            coalesce(bounce_subtype, ''), count(*) FROM facts WHERE occurred_at >= '{start60}'
            GROUP BY ALL ORDER BY ALL""",
        "top_domains 60d": f"""SELECT domain, count(*) FILTER (WHERE classification='hard'),
            count(*) FILTER (WHERE classification='soft'),
            count(*) FILTER (WHERE classification='undetermined'),
            count(*) FILTER (WHERE kind='complaint'), count(*) AS total FROM facts
            WHERE occurred_at >= '{start60}' GROUP BY domain
            ORDER BY total DESC, domain LIMIT 10""",
        # The list pages with its total, like list_bounced: count(*) OVER () for the total.
        "list: no filter": """SELECT address, max(occurred_at) last, count(*) OVER () FROM facts
            GROUP BY address ORDER BY last DESC, address LIMIT 50""",
        "list: hard only": """SELECT address, max(occurred_at) last, count(*) OVER () FROM facts
            GROUP BY address HAVING count(*) FILTER (WHERE classification='hard') > 0
            ORDER BY last DESC, address LIMIT 50""",
        "list: domain gmail.com": """SELECT address, max(occurred_at) last, count(*) OVER ()
            FROM facts WHERE domain='gmail.com' GROUP BY address
            ORDER BY last DESC, address LIMIT 50""",
    }

    def run(sql: str) -> Callable[[int], Any]:
        return lambda _i: db.execute(sql).fetchall()

    return {name: run(sql) for name, sql in q.items()}


def run_export(url: str, what: str, flt: BouncedFilter, runs: int) -> dict[str, Any]:
    """One export ("bounced" or "exclusions"), in a fresh process so that its peak RSS is
    the export's own cost."""
    start = flt.start.isoformat() if flt.start else None
    spec = json.dumps({"url": url, "what": what, "start": start, "runs": runs})
    output = subprocess.run(
        [sys.executable, __file__, "--export-child", spec],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return {"what": what, **json.loads(output.stdout)}


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM). Not ru_maxrss: on Linux that survives
    exec, so a child started by a big parent would report the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import psutil  # not Linux: the current RSS is the best we have

    return psutil.Process().memory_info().rss / 2**20


def export_child(spec: str) -> None:
    options = json.loads(spec)
    engine = make_engine(options["url"], auto_upgrade=False)
    start = options["start"]
    flt = BouncedFilter(start=date.fromisoformat(start) if start else None)
    settings = Settings(soft_bounce_exclusion_count=1, soft_bounce_window_days=30)
    baseline = peak_rss_mb()
    # The floor first, once: the export then finds the pages in cache as the floor does.
    export_floor(engine, options["what"], flt, settings)
    samples, rows = [], 0
    for _ in range(options["runs"]):
        with tempfile.TemporaryFile() as out:
            started = time.perf_counter()
            if options["what"] == "bounced":
                rows = export_bounced_csv(engine, BENCH_ACTOR, flt, out, bom=True)
            else:
                rows = export_exclusions_csv(engine, BENCH_ACTOR, settings, out, bom=True)
            samples.append((time.perf_counter() - started) * 1000)
    peak = peak_rss_mb()
    floor = [export_floor(engine, options["what"], flt, settings) for _ in range(options["runs"])]
    print(json.dumps({"ms": samples, "rows": rows, "baseline_mb": baseline, "peak_mb": peak,
                      "floor_ms": floor}))  # fmt: skip


def export_floor(engine: Engine, what: str, flt: BouncedFilter, settings: Settings) -> float:
    """The same rows by one SELECT on the raw driver cursor straight into csv.writer."""
    if what == "bounced":
        query = _rows_query().where(*filter_conditions(flt, engine.dialect.name))
        query = query.order_by(*_order("last_event_desc", AddressSummary.__table__.c))
    else:
        cutoff = datetime.now() - timedelta(days=settings.soft_bounce_window_days)
        query = _evidence_query(cutoff, None)
    compiled = query.compile(engine, compile_kwargs={"render_postcompile": True})
    raw = engine.raw_connection()
    try:
        started = time.perf_counter()
        cursor = raw.cursor()
        if engine.dialect.name == "postgresql":
            driver: Any = raw.driver_connection
            cursor = driver.cursor(name="floor")  # server-side, streamed
        params, sql = compiled.params, str(compiled)
        if engine.dialect.name == "postgresql":
            cursor.execute(sql, params)  # pyformat, as SQLAlchemy compiled it for psycopg
        else:
            cursor.execute(sql, [params[name] for name in compiled.positiontup or []])
        with tempfile.TemporaryFile("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            while batch := cursor.fetchmany(5000):
                writer.writerows(batch)
        return (time.perf_counter() - started) * 1000
    finally:
        raw.close()


def export_filter(engine: Engine, today: date, rows: int) -> BouncedFilter:
    """The last-event window whose export is closest to (and at least) `rows` rows."""
    for days in range(1, DAYS + 1):
        flt = BouncedFilter(start=today - timedelta(days=days - 1))
        if list_bounced(engine, flt, page_size=1).total >= rows:
            return flt
    return BouncedFilter()


# --- Main ----------------------------------------------------------------------------------


def main() -> None:
    args = parse_args()
    if args.export_child:
        export_child(args.export_child)
        return
    WORK.mkdir(parents=True, exist_ok=True)
    today = datetime.now().date()
    results: dict[str, dict[str, Timing]] = {}
    exports: dict[str, list[dict[str, Any]]] = {}
    sample: list[str] = []
    for backend in args.backends:
        data = Dataset(args.facts, args.addresses, today)  # fresh: every backend gets the same rows
        sample = random.Random(SEED + 9).sample([a for a, _ in data.addresses], 50)
        engine, url = open_backend(backend, args, data)
        del data
        calls = page_calls(engine, today, sample)
        results[backend] = {name: measure(call, args.runs) for name, call in calls.items()}
        flt = export_filter(engine, today, args.export_rows)
        exports[backend] = [
            run_export(url, "bounced", flt, args.export_runs),
            run_export(url, "exclusions", BouncedFilter(), args.export_runs),
        ]
        engine.dispose()
        print(f"{backend}: measured", file=sys.stderr)
    if (WORK / "facts.parquet").exists():
        duck = duckdb_calls(today)
        results["duckdb"] = {name: measure(call, args.runs) for name, call in duck.items()}
    else:
        print("duckdb: skipped, no facts.parquet (seed once without --reuse)", file=sys.stderr)
    print_table(args, results, exports)
    if not args.reuse:
        clean_up(args)


def clean_up(args: argparse.Namespace) -> None:
    """Leave nothing behind: the SQLite file (about 1 GB at 1 M facts), the Parquet file
    and the PostgreSQL database (--reuse keeps them for the next run)."""
    for path in WORK.glob("*"):
        path.unlink(missing_ok=True)
    WORK.rmdir()
    if "postgresql" in args.backends:
        admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)"))
        admin.dispose()
    print(f"removed {WORK} and the {PG_DATABASE} database", file=sys.stderr)


def print_table(args: argparse.Namespace, results: dict[str, dict[str, Timing]],
                exports: dict[str, list[dict[str, Any]]]) -> None:  # fmt: skip
    backends = list(results)
    names = list(dict.fromkeys(n for r in results.values() for n in r))
    print(
        f"\n{args.facts:,} facts, {args.addresses:,} addresses, {args.runs} runs each; ms p50 / p95"
    )
    print(f"{'call':<30}" + "".join(f"{b:>20}" for b in backends) + "   target")
    for name in names:
        cells = []
        for b in backends:
            t = results[b].get(name)
            cells.append(f"{t.p50:>9.1f} /{t.p95:>8.1f}" if t else f"{'-':>20}")
        print(f"{name:<30}" + "".join(f"{c:>20}" for c in cells) + "   " + verdict(results, name))
    for backend, runs in exports.items():
        for e in runs:
            ms, floor = statistics.median(e["ms"]), statistics.median(e["floor_ms"])
            target = EXPORT_TARGET_MS[e["what"]]
            ok = ms <= target and ms <= FLOOR_RATIO * floor and e["peak_mb"] < MEMORY_LIMIT_MB
            print(
                f"export {e['what']}, {e['rows']:,} rows ({backend}): "
                f"p50 {ms:.0f} ms over {len(e['ms'])} run(s), floor {floor:.0f} ms "
                f"({ms / floor:.2f}x); peak RSS {e['peak_mb']:.0f} MB (at start "
                f"{e['baseline_mb']:.0f} MB)   {'OK ' if ok else 'MISS'} <= {target:.0f} ms, "
                f"<= {FLOOR_RATIO:.0f}x floor, < {MEMORY_LIMIT_MB:.0f} MB"
            )


def verdict(results: dict[str, dict[str, Timing]], name: str) -> str:
    """OK/MISS per backend: p50 <= TARGET_MS, and <= DuckDB where it runs the same call."""
    if name in {"address_detail", "mailing_status"}:
        limit = f"<= {TARGET_MS:.0f} ms"
    else:
        limit = f"<= {TARGET_MS:.0f} ms" + (
            " and <= duckdb" if name in results.get("duckdb", {}) else ""
        )
    duck = results.get("duckdb", {}).get(name)
    parts = []
    for backend in ("sqlite", "postgresql"):
        mine = results.get(backend, {}).get(name)
        if mine is None:
            continue
        ok = mine.p50 <= TARGET_MS and (duck is None or mine.p50 <= duck.p50)
        parts.append(f"{backend} {'OK' if ok else 'MISS'}")
    return ", ".join(parts) + f" ({limit})" if parts else ""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--facts", type=int, default=1_000_000)
    parser.add_argument("--addresses", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--export-rows", type=int, default=100_000)
    parser.add_argument("--export-runs", type=int, default=5)
    parser.add_argument("--backends", default="sqlite,postgresql", type=lambda s: s.split(","))
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_POSTGRES_URL", PG_URL))
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--export-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.addresses > args.facts:
        parser.error("--addresses cannot exceed --facts (every address bounces at least once)")
    return args


if __name__ == "__main__":
    main()
