"""Benchmark one alerts check (every rule, the guard in dry run, no channels) on SQLite.

    .venv/bin/python bench/alerts.py                      # 365 days, 20 streams, 2,000 domains
    .venv/bin/python bench/alerts.py --sets 50 --domains 20000 --runs 10

The check reads only the count tables (daily counts per kind, per domain, per configuration
set), metric points, the mirror and the alerts; never the facts but for one MAX(received_at)
through its index. So the data set is those tables, filled with bulk inserts as ingest would
have kept them, plus one fact. Target: a check p50 under 2 s at the default size, so a
5-minute schedule leaves the database alone almost all the time.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert  # noqa: E402

from core.alerts.checker import AlertChecker  # noqa: E402
from core.settings import load_settings  # noqa: E402
from core.store.db import make_engine  # noqa: E402
from core.store.tables import DAILY, DOMAINS, SET_DAILY  # noqa: E402

TARGET_SECONDS = 2.0
SEED = 20261120


def seed(url: str, days: int, sets: int, domains: int, today: date) -> None:
    rng = random.Random(SEED)
    engine = make_engine(url)
    daily, per_domain, per_set = [], [], []
    for back in range(days):
        day = today - timedelta(days=back)
        daily += [
            {"day": day, "kind": "send", "classification": "", "subtype": "",
             "counts_toward_rate": False, "count": 50_000},
            {"day": day, "kind": "bounce", "classification": "hard", "subtype": "General",
             "counts_toward_rate": True, "count": rng.randint(200, 900)},
        ]  # fmt: skip
        for index in range(sets):
            name = f"stream-{index:03d}"
            per_set += [
                {"day": day, "configuration_set": name, "kind": "send",
                 "counts_toward_rate": True, "count": rng.randint(500, 5000)},
                {"day": day, "configuration_set": name, "kind": "bounce",
                 "counts_toward_rate": True, "count": rng.randint(5, 90)},
            ]  # fmt: skip
        for index in rng.sample(range(domains), min(domains, 400)):
            per_domain.append(
                {"day": day, "domain": f"d{index}.example", "kind": "bounce",
                 "classification": "hard", "count": rng.randint(1, 30)}
            )  # fmt: skip
    with engine.begin() as connection:
        for table, rows in ((DAILY, daily), (DOMAINS, per_domain), (SET_DAILY, per_set)):
            for start in range(0, len(rows), 5000):
                connection.execute(insert(table), rows[start : start + 5000])
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--sets", type=int, default=20)
    parser.add_argument("--domains", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    now = datetime(2026, 11, 20, 12, 0)
    with tempfile.TemporaryDirectory() as work:
        url = f"sqlite:///{Path(work) / 'alerts.db'}"
        seed(url, args.days, args.sets, args.domains, now.date())
        settings = load_settings(database_url=url, guard_configuration_sets=["stream-000"])
        engine = make_engine(url)
        checker = AlertChecker.from_settings(settings, engine, None, None)
        timings = []
        for _ in range(args.runs):
            started = time.perf_counter()
            summary = checker.check(now)
            timings.append(time.perf_counter() - started)
        engine.dispose()
    p50 = statistics.median(timings)
    print(
        f"alerts check, SQLite, {args.days} days x {args.sets} sets, {args.domains} domains: "
        f"p50 {p50:.3f} s, max {max(timings):.3f} s over {args.runs} runs "
        f"({summary.findings} conditions hold) — target < {TARGET_SECONDS:.1f} s"
    )
    return 0 if p50 < TARGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
