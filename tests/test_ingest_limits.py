"""Limits on what one ingest run reads, holds, stores and dead-letters; runs recorded from
their start (core.ingest.pipeline, core.ingest.sources, core.ingest.intake)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import DataError

from core.audit import AuditFilter, list_audit, parameters_of
from core.ingest import intake
from core.ingest import pipeline as ingest_module
from core.ingest.pipeline import Ingester, IngestLimits, Item, limit_notes
from core.ingest.sources import read_items
from tests.factories import OPS
from tests.ingest_factories import count, make_bounce, make_send, rows, sns_envelope

ROOT = Path(__file__).resolve().parents[1]


def line(payload: Any) -> bytes:
    return json.dumps(sns_envelope(payload)).encode() + b"\n"


def upload(engine: Engine, data: bytes, limits: IngestLimits | None = None) -> Any:
    ingester = Ingester(engine, entry_point="upload", limits=limits)
    return intake.ingest_upload(ingester, OPS, "bomb.gz", data)


def bomb(inflated: int, before: bytes = b"") -> bytes:
    """A gzip that inflates to about `inflated` bytes: one endless JSON string."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as zipped:
        zipped.write(before + b'{"a": "')
        block = b"A" * (1 << 20)
        for _ in range(inflated >> 20):
            zipped.write(block)
    return out.getvalue()


def test_a_gzip_bomb_is_kept_as_a_bounded_dead_letter_in_bounded_memory(engine: Engine) -> None:
    data = bomb(96 << 20, before=line(make_bounce(["before@example.com"])))
    assert len(data) < 1 << 20
    tracemalloc.start()
    try:
        summary = upload(engine, data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 24 << 20, f"peak {peak / 2**20:.1f} MB for a 96 MB bomb"
    assert rows(engine, "facts", "address") == [("before@example.com",)]
    [(raw, code, reason)] = rows(engine, "dead_letters", "raw", "reason_code", "reason")
    assert code == "too_large" and len(bytes(raw)) == 64 << 10
    assert bytes(raw).startswith(b'{"a": "AAAA')
    size = len(b'{"a": "') + (96 << 20)
    digest = hashlib.sha256(b'{"a": "' + b"A" * (96 << 20)).hexdigest()
    assert f"{size} bytes" in reason and digest in reason
    assert (summary.truncated, summary.dead_lettered, summary.stored) == (1, 1, 1)


def test_reading_stops_at_the_decompressed_file_limit_and_says_so(engine: Engine) -> None:
    lines = b"".join(line(make_bounce([f"u{n}@example.com"])) for n in range(400))
    limits = IngestLimits(max_file_bytes=len(lines) // 2)
    summary = upload(engine, gzip.compress(lines), limits)
    assert 0 < count(engine, "facts") < 400
    assert summary.files_cut == 1
    [(raw, reason)] = [
        (bytes(raw), reason)
        for raw, code, reason in rows(engine, "dead_letters", "raw", "reason_code", "reason")
        if code == "file_too_large"
    ]
    assert raw and lines[len(lines) // 2 :].startswith(raw)
    assert "ingest_max_file_bytes" in reason
    [note] = limit_notes(summary, limits)
    assert "not read past" in note
    [entry] = [
        e for e in list_audit(engine, AuditFilter(action="ingest.upload")).rows
        if e.outcome == "completed"
    ]  # fmt: skip
    assert parameters_of(entry)["files_cut"] == 1 and parameters_of(entry)["cut_reasons"]
    [(status, files_cut, notes)] = rows(engine, "ingestion_runs", "status", "files_cut", "notes")
    assert (status, files_cut) == ("finished", 1) and "ingest_max_file_bytes" in notes


def test_one_file_creates_at_most_its_cap_of_dead_letters(engine: Engine) -> None:
    data = gzip.compress(line(make_send(["ok@example.com"])) + b"1\n" * 20_000)
    assert len(data) < 4096
    summary = upload(engine, data, IngestLimits(max_dead_letters_per_file=50))
    assert count(engine, "dead_letters") == 50
    assert (summary.dead_lettered, summary.cut, summary.stored) == (50, 19_950, 1)
    assert summary.received == 20_001
    assert (
        "19950 dead letter(s) past 50 per file"
        in limit_notes(summary, IngestLimits(max_dead_letters_per_file=50))[0]
    )


def test_an_oversized_ndjson_line_is_skipped_and_the_next_line_read() -> None:
    big = b'{"n": 2, "pad": [' + b'"xx",' * 100_000 + b'"end"]}\n'
    data = b'{"n": 1}\n' + big + b'{"n": 3}\n'
    got = list(read_items(io.BytesIO(data), "f", IngestLimits(max_item_bytes=10_000)))
    assert [i.value for i in (got[0], got[2])] == [{"n": 1}, {"n": 3}]
    assert got[1].problem is not None and got[1].problem[0] == "too_large"
    assert hashlib.sha256(big.rstrip(b"\n")).hexdigest() in got[1].problem[1]
    assert len(got[1].raw) == 64 << 10


def test_a_chunk_is_committed_by_bytes_as_well_as_by_count(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    commits: list[int] = []
    real = ingest_module.write_batch

    def counting(connection: Any, batch: Any, now: Any, *rest: Any) -> Any:
        commits.append(len(batch.facts))
        return real(connection, batch, now, *rest)

    monkeypatch.setattr(ingest_module, "write_batch", counting)
    payloads = [line(make_bounce([f"u{n}@example.com"])) for n in range(12)]
    limits = IngestLimits(batch_bytes=3 * len(payloads[0]))
    ingester = Ingester(sqlite_engine, entry_point="file", limits=limits)
    ingester.ingest([Item(p, f"t#{n}") for n, p in enumerate(payloads)], "t")
    assert commits == [3, 3, 3, 3]


def test_tags_and_details_over_64_kb_are_stored_in_full_on_every_backend(engine: Engine) -> None:
    payload = make_bounce(["a@example.com"])
    payload["mail"]["tags"] = {"campaign": ["x" * 100_000]}
    ingester = Ingester(engine, entry_point="file")
    summary = ingester.ingest([Item(json.dumps(payload).encode(), "t#1")], "t")
    assert summary.stored == 1
    [(tags,)] = rows(engine, "facts", "tags")
    assert json.loads(tags)["campaign"] == ["x" * 100_000]


def test_an_item_the_database_refuses_is_dead_lettered_alone_and_the_others_stored(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = ingest_module.write_batch

    def refuse_poison(connection: Any, batch: Any, now: Any, *rest: Any) -> Any:
        if any(fact.address == "poison@example.com" for fact in batch.facts):
            raise DataError("INSERT INTO facts", {}, Exception("Data too long for column"))
        return real(connection, batch, now, *rest)

    monkeypatch.setattr(ingest_module, "write_batch", refuse_poison)
    addresses = ["ok0@example.com", "poison@example.com", "ok1@example.com"]
    items = [Item(line(make_bounce([a])), f"t#{n}") for n, a in enumerate(addresses)]
    summary = Ingester(engine, entry_point="file").ingest(items, "t")
    assert rows(engine, "facts", "address") == [("ok0@example.com",), ("ok1@example.com",)]
    [(raw, code, reason)] = rows(engine, "dead_letters", "raw", "reason_code", "reason")
    assert (bytes(raw), code) == (items[1].raw, "store_error") and "Data too long" in reason
    assert (summary.received, summary.stored, summary.dead_lettered) == (3, 2, 1)
    [(status, stored, dead)] = rows(engine, "ingestion_runs", "status", "stored", "dead_lettered")
    assert (status, stored, dead) == ("finished", 2, 1)


def test_a_killed_ingest_leaves_its_run_and_audit_entry_beside_its_facts(
    database_url: str,
) -> None:
    from core.store.db import make_engine

    engine = make_engine(database_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOUNCEDESK_")}
    env.update(PYTHONPATH=str(ROOT), BOUNCEDESK_INGEST_BATCH_SIZE="10")
    process = subprocess.Popen(
        [sys.executable, "-m", "core", "--database-url", database_url, "ingest", "-"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    assert process.stdin is not None
    try:
        # More than one read's worth, then the pipe stays open: the ingest waits for more.
        process.stdin.write(b"".join(line(make_bounce([f"u{n}@example.com"])) for n in range(300)))
        process.stdin.flush()
        deadline = time.monotonic() + 60
        while count(engine, "facts") < 10 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    facts = count(engine, "facts")
    assert facts >= 10
    [(status, stored, finished)] = rows(engine, "ingestion_runs", "status", "stored", "finished_at")
    assert (status, stored, finished) == ("running", facts, None)
    [entry] = list_audit(engine, AuditFilter(action="ingest.files")).rows
    assert entry.outcome == "started" and parameters_of(entry)["file"] == "stdin"
