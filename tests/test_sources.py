"""core.ingest.sources: items from JSON documents, arrays, NDJSON and gzip, in bounded memory."""

from __future__ import annotations

import gzip
import io
import json
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from core.ingest import sources
from core.ingest.pipeline import UNPARSED, Item
from core.ingest.sources import open_input, read_items
from tests.conftest import fixture_bytes
from tests.ingest_factories import make_bounce, make_send, sns_envelope


def read(data: bytes, source: str = "file:t") -> list[Item]:
    return list(read_items(io.BytesIO(data), source))


def values(data: bytes) -> list[Any]:
    return [item.value for item in read(data)]


def test_a_pretty_printed_json_document_is_one_item_with_its_exact_bytes() -> None:
    data = fixture_bytes("ses_feedback_bounce_permanent_general_no_dsn_docs.json")
    [item] = read(data)
    assert item.raw == data.strip()
    assert item.value["notificationType"] == "Bounce"
    assert item.source == "file:t#1"


def test_each_element_of_a_json_array_is_an_item_with_its_own_bytes() -> None:
    data = b'[ {"a": 1},\n  {"b": [1, 2]} , "three" ]\n'
    assert [(i.raw, i.value) for i in read(data)] == [
        (b'{"a": 1}', {"a": 1}),
        (b'{"b": [1, 2]}', {"b": [1, 2]}),
        (b'"three"', "three"),
    ]


def test_ndjson_and_concatenated_values_are_items_in_order() -> None:
    data = b'{"n": 1}\n{"n": 2}\r\n\n{"n": 3}{"n": 4} {"n": 5}'
    assert values(data) == [{"n": n} for n in range(1, 6)]
    assert [i.source for i in read(data)] == [f"file:t#{n}" for n in range(1, 6)]


def test_a_malformed_ndjson_line_becomes_an_unparsed_item_and_the_rest_is_read() -> None:
    data = b'{"n": 1}\n{"n": tru, "x": 1}\n{"n": 3}\n{"n": "open\n{"n": 5}\n'
    got = read(data)
    assert [i.value if i.value is not UNPARSED else i.raw for i in got] == [
        {"n": 1},
        b'{"n": tru, "x": 1}\n',
        {"n": 3},
        b'{"n": "open\n',
        {"n": 5},
    ]


def test_a_truncated_last_value_is_kept_as_an_unparsed_item() -> None:
    got = read(b'{"n": 1}\n{"n": 2, "cut": "he')
    assert got[-1].value is UNPARSED
    assert got[-1].raw == b'{"n": 2, "cut": "he'


def test_invalid_utf8_is_kept_byte_for_byte_for_the_dead_letter() -> None:
    data = b'{"a": "\xff\xfe"}\n{"b": 2}\n'
    got = read(data)
    assert got[0].value is UNPARSED
    assert got[0].raw == b'{"a": "\xff\xfe"}'
    assert got[1].value == {"b": 2}


def test_a_byte_order_mark_is_skipped() -> None:
    assert values(b'\xef\xbb\xbf{"a": 1}\n') == [{"a": 1}]


def test_values_split_across_reads_are_reassembled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "CHUNK", 7)
    payloads = [sns_envelope(make_bounce([f"u{n}@例え.jp"])) for n in range(5)]
    data = "\n".join(json.dumps(p, ensure_ascii=False, indent=2) for p in payloads).encode()
    assert values(data) == payloads


class CountingStream(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


def test_a_malformed_line_does_not_make_the_reader_swallow_megabytes() -> None:
    line = json.dumps(sns_envelope(make_send())).encode() + b"\n"
    stream = CountingStream(b'{"broken": }\n' + line * 20_000)
    iterator = read_items(stream, "file:t")
    assert next(iterator).value is UNPARSED
    assert next(iterator).value is not UNPARSED
    assert stream.bytes_read < 1_000_000


def test_gzip_is_decompressed_transparently(tmp_path: Path) -> None:
    path = tmp_path / "n.ndjson.gz"
    payloads = [make_send(), make_bounce()]
    path.write_bytes(gzip.compress(b"\n".join(json.dumps(p).encode() for p in payloads)))
    with open_input(str(path)) as stream:
        assert [i.value for i in read_items(stream, "f")] == payloads


def test_dash_reads_standard_input(monkeypatch: pytest.MonkeyPatch) -> None:
    data = b'{"n": 1}\n{"n": 2}\n'
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(io.BytesIO(data))))
    with open_input("-") as stream:
        assert [i.value for i in read_items(stream, "stdin")] == [{"n": 1}, {"n": 2}]


def test_reading_a_50_mb_ndjson_file_keeps_memory_bounded(tmp_path: Path) -> None:
    line = json.dumps(sns_envelope(make_bounce(["a@example.com", "b@example.com"]))) + "\n"
    path = tmp_path / "big.ndjson"
    repeat = 50 * 2**20 // len(line) + 1
    with path.open("w") as out:
        for _ in range(repeat // 1000):
            out.write(line * 1000)
        out.write('{"broken": \n')  # a bad line near the end must not change that
        out.write(line * (repeat % 1000))
    assert path.stat().st_size >= 50 * 2**20
    tracemalloc.start()
    try:
        with open_input(str(path)) as stream:
            seen = sum(1 for _ in read_items(stream, "f"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == repeat + 1
    assert peak < 8 * 2**20, f"peak {peak / 2**20:.1f} MB while reading 50 MB"
