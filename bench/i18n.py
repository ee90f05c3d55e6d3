"""What the dashboard's languages and zones cost: CSV rows written with and without the
display zone's offset, and catalog look-ups.

    .venv/bin/python bench/i18n.py [--rows 100000] [--runs 5]

Prints the median of `--runs` runs; no target, a figure to compare against after a change.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.csv_safety import write_csv  # noqa: E402
from ui.i18n import translations  # noqa: E402


def _median(run: object, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()  # type: ignore[operator]  # a zero-argument callable
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    start = datetime(2026, 12, 1)
    rows = [
        (f"user{n}@example.com", "hard", start + timedelta(minutes=n), start + timedelta(hours=n))
        for n in range(args.rows)
    ]
    header = ["address", "kind", "first", "last"]
    tokyo = ZoneInfo("Asia/Tokyo")
    plain = _median(lambda: write_csv(rows, header, io.BytesIO()), args.runs)
    zoned = _median(lambda: write_csv(rows, header, io.BytesIO(), zone=tokyo), args.runs)
    print(f"write_csv {args.rows:,} rows, 2 times each: naive UTC {plain * 1000:.0f} ms, "
          f"Asia/Tokyo offsets {zoned * 1000:.0f} ms ({zoned / plain:.2f}x)")  # fmt: skip
    japanese = translations("ja")
    messages = ["Bounced users", "Download all {count} matching rows (CSV)", "not in catalog"]
    lookups = 100_000
    took = _median(lambda: [japanese.gettext(messages[n % 3]) for n in range(lookups)], args.runs)
    print(f"gettext: {took / lookups * 1e9:.0f} ns per look-up ({lookups:,} look-ups)")


if __name__ == "__main__":
    main()
