"""Four ingesters at once on one database: exactly the unique facts, and consistent summaries
and counts."""

from __future__ import annotations

import json
import random
from pathlib import Path

from core.ingest.events import parse_notification
from core.ingest.pipeline import Ingester, Item
from core.store.db import make_engine
from tests.ingest_factories import (
    count,
    daily_counts_from_facts,
    domain_counts_from_facts,
    mixed_notifications,
    query,
    sns_envelope,
    summaries_from_facts,
)
from tests.processes import run_together

PROCESSES = 4
NOTIFICATIONS = 2_000


def ingest_worker(url: str, path: str, seed: int) -> dict[str, int]:
    """One ingester process: the whole file, in its own order, started with the others."""
    raws = Path(path).read_bytes().splitlines()
    random.Random(seed).shuffle(raws)
    engine = make_engine(url)
    ingester = Ingester(engine, entry_point=f"worker-{seed}", batch_size=100)
    items = [Item(raw, f"worker-{seed}#{n}") for n, raw in enumerate(raws)]
    summary = ingester.ingest(items, source=path)
    engine.dispose()
    return summary.as_dict()


def test_four_processes_ingesting_the_same_notifications_store_each_fact_once(
    database_url: str, tmp_path: Path
) -> None:
    payloads = mixed_notifications(NOTIFICATIONS, seed=11, addresses=40)
    path = tmp_path / "notifications.ndjson"
    path.write_text("".join(json.dumps(sns_envelope(p)) + "\n" for p in payloads))
    facts_per_copy = sum(len(parse_notification(p).facts) for p in payloads)
    unique_keys = {fact.dedup_key for p in payloads for fact in parse_notification(p).facts}

    summaries = run_together(
        "tests.test_concurrency:ingest_worker",
        [(database_url, str(path), n) for n in range(PROCESSES)],
    )

    assert sum(s["stored"] for s in summaries) == len(unique_keys)
    assert sum(s["duplicates"] for s in summaries) == PROCESSES * facts_per_copy - len(unique_keys)
    assert {s["received"] for s in summaries} == {NOTIFICATIONS}

    engine = make_engine(database_url)
    try:
        assert count(engine, "facts") == len(unique_keys)
        assert {key for (key,) in query(engine, "SELECT dedup_key FROM facts")} == unique_keys
        assert count(engine, "dead_letters") == 0
        expected, stored = summaries_from_facts(engine)
        assert stored == expected
        expected_daily, stored_daily = daily_counts_from_facts(engine)
        assert stored_daily == expected_daily
        expected_domains, stored_domains = domain_counts_from_facts(engine)
        assert stored_domains == expected_domains
    finally:
        engine.dispose()
