"""core.retention: raw facts past their age go, counts and summaries stay, on every backend."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, select

from core.access import Role
from core.audit import AuditFilter, list_audit, parameters_of
from core.cli.main import main
from core.errors import PermissionDenied, SettingsError
from core.ingest.pipeline import Ingester, Item
from core.jobs.runner import JobRunner
from core.recipients.bounced import BouncedFilter, address_detail, list_bounced
from core.recipients.mailing import excluded_addresses, mailing_status
from core.reports.ingestion import ingestion_counts, store_counts
from core.reports.overview import bounces_by_type, rate_trend, top_domains
from core.retention.purge import Retention
from core.settings import load_settings
from core.store.models import JobOutcome
from core.store.tables import FACTS
from tests.factories import person
from tests.ingest_factories import (
    count,
    make_bounce,
    make_complaint,
    make_delivery,
    make_send,
    rows,
    sns_envelope,
)
from tests.jobs_kit import runs as job_runs
from tests.jobs_kit import settings_for

NOW = datetime(2024, 6, 30, 12, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=45)  # past the default 30 days
RECENT = NOW - timedelta(days=5)
OPS = person("retention-job")
# Everything retention must leave exactly as it was.
KEPT_TABLES = ("address_summaries", "daily_counts", "daily_domain_counts", "dead_letters")
DAYS = {
    "bounce": None,
    "complaint": None,
    "send": 30,
    "delivery": 30,
    "delivery_delay": 30,
    "open": 30,
    "click": 30,
}
AGED = [kind for kind, days in DAYS.items() if days is not None]  # what retention looks at


def make_open(recipient: str, at: datetime) -> dict[str, Any]:
    payload = make_send([recipient], at=at)
    payload["eventType"] = "Open"
    del payload["send"]
    payload["open"] = {"timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "ipAddress": "192.0.2.1"}
    return payload


def notifications() -> list[dict[str, Any]]:
    """Old and recent facts of every kind retention treats differently, over two addresses."""
    payloads: list[dict[str, Any]] = []
    for at in (OLD, RECENT):
        for address in ("jane@example.com", "taro@example.co.jp"):
            payloads += [
                make_send([address], at=at),
                make_delivery([address], at=at),
                make_open(address, at),
                make_bounce([address], at=at, bounce_type="Transient", subtype="MailboxFull"),
                make_complaint([address], at=at),
            ]
    return payloads


def ingest(engine: Engine, payloads: list[dict[str, Any]], **knobs: Any) -> Any:
    items = [
        Item(json.dumps(sns_envelope(p)).encode(), f"test#{n}") for n, p in enumerate(payloads)
    ]
    return Ingester(engine, entry_point="file", **knobs).ingest(items, source="tests")


def kinds_stored(engine: Engine) -> list[tuple[Any, ...]]:
    query = select(FACTS.c.kind, FACTS.c.occurred_at).order_by(FACTS.c.id)
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(query)]


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    return {table: rows(engine, table) for table in KEPT_TABLES}


def retention_entries(engine: Engine) -> list[dict[str, Any]]:
    page = list_audit(engine, AuditFilter(action="retention.delete"), page_size=1000)
    return [parameters_of(entry) for entry in page.rows]


def test_raw_facts_past_their_age_are_deleted_and_every_count_and_summary_stays(
    engine: Engine,
) -> None:
    ingest(engine, notifications())
    before, stored = snapshot(engine), count(engine, "facts")

    summary = Retention(engine, DAYS, actor=OPS, batch_size=2).run(NOW)

    old, recent = OLD.replace(tzinfo=None), RECENT.replace(tzinfo=None)
    left = kinds_stored(engine)
    assert {kind for kind, at in left if at < old + timedelta(hours=1)} == {"bounce", "complaint"}
    assert sorted(kind for kind, at in left if at >= recent - timedelta(hours=1)) == sorted(
        ["send", "delivery", "open", "bounce", "complaint"] * 2
    )
    assert summary.facts == {k: 2 if k in {"send", "delivery", "open"} else 0 for k in AGED}
    assert summary.complete and count(engine, "facts") == stored - 6
    assert snapshot(engine) == before  # summaries, daily counts, domain counts, dead letters
    entries = retention_entries(engine)
    assert sum(e["rows"] for e in entries) == 6 and {e["table"] for e in entries} == {"facts"}


def test_a_second_run_deletes_nothing_and_nothing_younger_than_its_days_goes(
    engine: Engine,
) -> None:
    ingest(engine, notifications())
    Retention(engine, DAYS, actor=OPS).run(NOW)
    left = kinds_stored(engine)

    again = Retention(engine, DAYS, actor=OPS).run(NOW)
    longer = Retention(engine, {**DAYS, "send": 60, "open": None}, actor=OPS).run(NOW)

    assert again.deleted == 0 and longer.deleted == 0
    assert kinds_stored(engine) == left


def test_a_run_interrupted_half_way_keeps_what_it_did_and_the_next_run_finishes(
    engine: Engine,
) -> None:
    ingest(engine, notifications())
    before = snapshot(engine)
    batches = 0

    def crash_on_the_second_batch(_connection: Connection) -> None:
        nonlocal batches
        batches += 1
        if batches == 2:
            raise RuntimeError("killed")

    crashing = Retention(engine, DAYS, actor=OPS, batch_size=1, on_batch=crash_on_the_second_batch)
    with pytest.raises(RuntimeError):
        crashing.run(NOW)
    assert count(engine, "facts") == 20 - 1  # the first batch is committed, the second is not
    assert sum(e["rows"] for e in retention_entries(engine)) == 1

    resumed = Retention(engine, DAYS, actor=OPS, batch_size=1).run(NOW)

    assert resumed.deleted == 5 and count(engine, "facts") == 20 - 6
    assert sum(e["rows"] for e in retention_entries(engine)) == 6  # each deletion audited once
    assert snapshot(engine) == before


def test_a_run_out_of_batches_says_so_and_the_next_one_goes_on(sqlite_engine: Engine) -> None:
    ingest(sqlite_engine, notifications())
    retention = Retention(sqlite_engine, DAYS, actor=OPS, batch_size=1)

    first = retention.run(NOW, max_batches=4)
    rest = retention.run(NOW)

    assert (first.batches, first.complete, first.deleted) == (4, False, 4)
    assert (rest.complete, rest.deleted) == (True, 2)


def test_without_raw_sends_none_is_stored_and_all_are_counted(engine: Engine) -> None:
    payloads = notifications()
    with_raw = ingest(engine, payloads)
    counts_with_raw = snapshot(engine)
    for table in ("facts", *KEPT_TABLES, "ingestion_runs"):
        with engine.begin() as connection:
            connection.exec_driver_sql(f"DELETE FROM {table}")

    first = ingest(engine, payloads, counted_only={"send", "delivery"})
    again = ingest(engine, payloads, counted_only={"send", "delivery"})

    assert {kind for (kind,) in rows(engine, "facts", "kind")} == {"open", "bounce", "complaint"}
    assert snapshot(engine) == counts_with_raw  # every send and delivery counted, once
    assert first.stored == with_raw.stored and (again.stored, again.duplicates) == (0, 20)
    assert sorted(kind for (kind,) in rows(engine, "fact_keys", "kind")) == sorted(
        ["send", "delivery"] * 4
    )
    # Their keys are kept as long as their raw facts would have been.
    summary = Retention(engine, DAYS, actor=OPS).run(NOW)
    assert summary.keys == {k: 2 if k in {"send", "delivery"} else 0 for k in AGED}
    assert summary.facts["open"] == 2 and count(engine, "fact_keys") == 4


def test_the_settings_keep_bounces_and_complaints_and_thirty_days_of_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("BOUNCEDESK_CONFIG_FILE", raising=False)
    settings = load_settings()
    assert settings.retention_days() == DAYS
    assert settings.counted_only_kinds() == frozenset()
    off = load_settings(retention_store_raw_sends=False, retention_open_days=7)
    assert off.counted_only_kinds() == {"send", "delivery"}
    assert off.retention_days()["open"] == 7


def test_bounces_may_not_be_kept_for_less_than_the_soft_bounce_window() -> None:
    with pytest.raises(SettingsError, match="soft_bounce_window_days"):
        load_settings(retention_bounce_days=7, soft_bounce_window_days=30)
    assert load_settings(retention_bounce_days=30).retention_days()["bounce"] == 30


def test_the_service_built_from_settings_uses_their_days_and_a_viewer_may_not_run_it(
    sqlite_engine: Engine,
) -> None:
    ingest(sqlite_engine, notifications())
    settings = load_settings(retention_send_days=60, retention_batch_size=1)

    summary = Retention.from_settings(settings, sqlite_engine).run(NOW)

    assert summary.facts["send"] == 0 and summary.facts["delivery"] == 2
    assert summary.batches == 4  # deliveries and opens, one row a batch
    viewer = person("support", Role.VIEWER)
    with pytest.raises(PermissionDenied):
        Retention.from_settings(settings, sqlite_engine, actor=viewer).run(NOW)


def test_the_cli_runs_retention_and_says_what_it_deleted(
    sqlite_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    ingest(sqlite_engine, notifications())  # from 2024: every send, delivery and open is due
    url = sqlite_engine.url.render_as_string(hide_password=False)

    stopped = main(["retention", "run", "--database-url", url, "--max-batches", "1"])
    first = capsys.readouterr().out
    finished = main(["retention", "run", "--database-url", url])
    rest = capsys.readouterr().out

    assert (stopped, finished) == (0, 0)
    assert "delivery: 4 facts" in first and "stopped at --max-batches" in first
    assert "open: 4 facts" in rest and "send: 4 facts" in rest
    assert "8 rows deleted in 2 batches, done" in rest
    assert sorted({kind for kind, _ in kinds_stored(sqlite_engine)}) == ["bounce", "complaint"]


def test_every_page_figure_is_the_same_after_the_raw_facts_are_gone(engine: Engine) -> None:
    ingest(engine, notifications())
    settings = load_settings()
    start, end = (NOW - timedelta(days=90)).date(), NOW.date()
    now = NOW.replace(tzinfo=None)

    def figures() -> dict[str, Any]:
        detail = address_detail(engine, "jane@example.com")
        assert detail is not None
        counts = store_counts(engine)
        return {
            "bounced": list_bounced(engine, BouncedFilter(), page_size=100),
            "trend": rate_trend(engine, start, end),
            "complaints": rate_trend(engine, start, end, "complaint"),
            "types": bounces_by_type(engine, start, end),
            "domains": top_domains(engine, start, end),
            "ingestion": ingestion_counts(engine, start, end),
            "store": (counts.total_facts, counts.by_kind, counts.by_classification),
            "summary": detail.summary,
            "status": mailing_status(engine, "jane@example.com", settings, now=now),
            "excluded": list(excluded_addresses(engine, settings, now=now)),
        }

    before = figures()
    assert Retention(engine, DAYS, actor=OPS).run(NOW).deleted == 6
    assert figures() == before


def test_the_retention_job_is_registered_and_deletes_what_is_due(engine: Engine) -> None:
    ingest(engine, notifications())  # from 2024: every send, delivery and open is due now

    result = JobRunner(settings_for(engine), engine).run("retention", actor=OPS)

    assert result.outcome == JobOutcome.SUCCEEDED
    assert sorted({kind for kind, _ in kinds_stored(engine)}) == ["bounce", "complaint"]
    [run] = job_runs(engine, "retention")
    assert run.summary == "12 rows deleted in 3 batches (delivery 4, open 4, send 4)"
    assert sum(e["rows"] for e in retention_entries(engine)) == 12
