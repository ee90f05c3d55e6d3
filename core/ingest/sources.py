"""Read notification files as a stream of items, in constant memory.

A file may hold one JSON document, a JSON array, or newline-delimited JSON (more
generally: JSON values one after another), optionally gzip-compressed. Text that is
not JSON is not lost: it becomes an item whose bytes fail to parse, so it is dead-lettered
with its reason like any other bad input.

Memory stays bounded by the limits (`IngestLimits`): a value over `max_item_bytes` is
skipped without being held, and becomes an item that keeps its first bytes, size and
sha256; reading stops after `max_file_bytes` decompressed bytes (a gzip bomb), and a last
item says so, with the first bytes of what was not read.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import io
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, cast

import orjson

from core.ingest.pipeline import (
    FILE_TOO_LARGE,
    PREFIX_BYTES,
    IngestLimits,
    Item,
    oversized_item,
)

CHUNK = 1 << 16
_WHITESPACE = " \t\r\n"
_DECODER = json.JSONDecoder()
_IN_STRING = re.compile(r'[^"\\]*')
_OUTSIDE = re.compile(r'[^"\[\]{}]*')
# Deeper than any parser goes: skip such a value to the end of its line instead.
_MAX_SKIP_DEPTH = 10_000


def open_input(name: str) -> BinaryIO:
    """Open a path (or '-' for stdin) for binary reading, decompressing gzip transparently."""
    raw: BinaryIO = sys.stdin.buffer if name == "-" else Path(name).open("rb")  # noqa: SIM115
    # typeshed wants a raw stream here; a BufferedReader wraps any readable binary file.
    buffered = io.BufferedReader(raw) if not isinstance(raw, io.BufferedReader) else raw  # type: ignore[type-var]
    if buffered.peek(2)[:2] == b"\x1f\x8b":
        return cast(
            BinaryIO, gzip.GzipFile(fileobj=buffered)
        )  # a binary file, typed as BufferedIOBase
    return buffered


def read_items(stream: BinaryIO, source: str, limits: IngestLimits | None = None) -> Iterator[Item]:
    """Yield one Item per JSON value (array elements count as values), within `limits`."""
    limits = limits or IngestLimits()
    capped = _CappedStream(stream, limits.max_file_bytes)
    reader = _ValueReader(capped, source, limits.max_item_bytes)
    yield from reader.items()
    if capped.rest:
        reason = (
            f"reading stopped after {limits.max_file_bytes} decompressed bytes"
            " (ingest_max_file_bytes): the rest was not read; kept: its first"
            f" {len(capped.rest)} bytes"
        )
        yield Item(capped.rest, f"{source}#rest", problem=(FILE_TOO_LARGE, reason))


class _CappedStream:
    """Reads at most `cap` bytes; past it, keeps the first bytes of the rest in `rest`."""

    def __init__(self, stream: BinaryIO, cap: int) -> None:
        self.stream, self.left, self.rest = stream, cap, b""

    def read(self, size: int) -> bytes:
        if self.left <= 0:
            if not self.rest:
                self.rest = self.stream.read(PREFIX_BYTES)
            return b""
        chunk = self.stream.read(min(size, self.left))
        self.left -= len(chunk)
        return chunk


class _ValueReader:
    """Incremental JSON value scanner over a byte stream, with a bounded buffer.

    `pos` walks through `text`; consumed text is dropped only when more is read, so taking
    a value never copies the rest of the buffer.
    """

    def __init__(self, stream: _CappedStream, source: str, max_item_bytes: int) -> None:
        self.stream = stream
        self.source = source
        self.max_item = max_item_bytes
        self.text = ""
        self.pos = 0
        self.eof = False
        self.count = 0
        self.decoder = _utf8_decoder()

    def items(self) -> Iterator[Item]:
        self._skip(_WHITESPACE)
        if self.text.startswith("[", self.pos):
            self.pos += 1
            yield from self._values(separator=",", closing="]")
        else:
            yield from self._values(separator="", closing="")

    def _values(self, separator: str, closing: str) -> Iterator[Item]:
        while True:
            self._skip(_WHITESPACE + separator)
            if self.pos >= len(self.text):
                return
            if closing and self.text.startswith(closing, self.pos):
                self.pos += 1
                yield from self._values(separator="", closing="")  # anything after the array
                return
            yield self._next_value()

    def _next_value(self) -> Item:
        fast = self._next_line_value()
        if fast is not None:
            return fast
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as exc:
                # Read as much again as we hold, so a large value is re-scanned O(log n) times.
                held = len(self.text) - self.pos
                if _may_be_cut_short(exc, len(self.text)):
                    if self._fill_within_limit(held):
                        continue
                    if held > self.max_item:
                        return self._skip_oversized()
                return self._unparseable()
            except RecursionError:
                return self._unparseable()
            if end - self.pos > self.max_item // 4 and _utf8_size(self.text, self.pos, end) > (
                self.max_item
            ):
                return self._skip_oversized()
            raw, self.pos = self.text[self.pos : end], end
            return self._item(raw, value)

    def _next_line_value(self) -> Item | None:
        """NDJSON's common case: the rest of the line is one JSON value that orjson reads
        (three times faster than `raw_decode`). None for anything else (two values on a
        line, a line not yet read to its end, input orjson refuses): `raw_decode` decides."""
        text, pos = self.text, self.pos
        cut = text.find("\n", pos, pos + self.max_item // 4)
        if cut < 0:
            return None
        line = text[pos:cut].rstrip(" \t\r")
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            return None
        self.pos = pos + len(line)
        return self._item(line, value)

    def _fill_within_limit(self, held: int) -> bool:
        """Read more (as much again as held) while the value may still fit the limit."""
        return held <= self.max_item and self._fill(max(CHUNK, min(held, self.max_item)))

    def _unparseable(self) -> Item:
        """Skip to the next line (NDJSON resync) and hand the bad text on, unparsed: the
        unwrapper parses it again and dead-letters it with the JSON error as the reason."""
        while (cut := self.text.find("\n", self.pos)) < 0:
            held = len(self.text) - self.pos
            if not self._fill_within_limit(held):
                if held > self.max_item:
                    return self._skip_oversized(to_line_end=True)
                break
        cut = len(self.text) if cut < 0 else cut + 1
        if cut - self.pos > self.max_item // 4 and _utf8_size(self.text, self.pos, cut) > (
            self.max_item
        ):
            return self._skip_oversized(to_line_end=True)
        raw, self.pos = self.text[self.pos : cut], cut
        return self._item(raw, None, parsed=False)

    def _skip_oversized(self, *, to_line_end: bool = False) -> Item:
        """Read past a value over the limit without holding it: an object, array or string
        to its matching end, anything else to the end of its line. The item keeps its
        first bytes, its size and its sha256."""
        digest, size, prefix = hashlib.sha256(), 0, b""
        to_line_end = to_line_end or self.text[self.pos : self.pos + 1] not in ("{", "[", '"')
        scan = _LineEnd() if to_line_end else _ValueEnd()
        while True:
            end = scan.find(self.text, self.pos)
            done = end is not None
            end = len(self.text) if end is None else end
            data = self.text[self.pos : end].encode("utf-8", "surrogateescape")
            digest.update(data)
            size += len(data)
            if len(prefix) < PREFIX_BYTES:
                prefix += data[: PREFIX_BYTES - len(prefix)]
            self.pos = end
            if done or not self._fill():
                break
        self.count += 1
        source = f"{self.source}#{self.count}"
        return oversized_item(prefix, source, size, digest.hexdigest(), self.max_item)

    def _item(self, text: str, value: object, parsed: bool = True) -> Item:
        self.count += 1
        source = f"{self.source}#{self.count}"
        try:
            raw = text.encode("utf-8")
        except UnicodeEncodeError:
            raw = text.encode("utf-8", "surrogateescape")
            parsed = False  # invalid UTF-8 inside: let strict parsing reject it
        return Item(raw, source, value) if parsed else Item(raw, source)

    def _skip(self, characters: str) -> None:
        while True:
            text, pos = self.text, self.pos
            while pos < len(text) and text[pos] in characters:
                pos += 1
            self.pos = pos
            if pos < len(text) or not self._fill():
                return

    def _fill(self, size: int = CHUNK) -> bool:
        if self.eof:
            return False
        chunk = self.stream.read(size)
        if self.pos:
            self.text, self.pos = self.text[self.pos :], 0
        if not chunk:
            self.eof = True
            self.text += self.decoder.decode(b"", final=True)
            return False
        self.text += self.decoder.decode(chunk)
        return True


class _LineEnd:
    """Where a line ends (just after its newline), across pieces of text."""

    def find(self, text: str, pos: int) -> int | None:
        cut = text.find("\n", pos)
        return None if cut < 0 else cut + 1


class _ValueEnd:
    """Where a JSON object, array or string ends, across pieces of text: tracks depth,
    strings and escapes without parsing (long runs are skipped by regular expressions)."""

    def __init__(self) -> None:
        self.depth, self.in_string, self.escaped = 0, False, False
        self.lines = _LineEnd()

    def find(self, text: str, pos: int) -> int | None:
        if self.depth > _MAX_SKIP_DEPTH:
            return self.lines.find(text, pos)
        n = len(text)
        while pos < n:
            if self.escaped:
                pos, self.escaped = pos + 1, False
                continue
            pattern = _IN_STRING if self.in_string else _OUTSIDE
            pos = pattern.match(text, pos).end()  # type: ignore[union-attr]
            if pos >= n:
                return None
            char, pos = text[pos], pos + 1
            if self.in_string:
                if char == "\\":
                    self.escaped = True
                    continue
                self.in_string = False
                if self.depth == 0:
                    return pos
            elif char == '"':
                self.in_string = True
            elif char in "[{":
                self.depth += 1
                if self.depth > _MAX_SKIP_DEPTH:
                    return self.lines.find(text, pos)
            else:
                self.depth -= 1
                if self.depth <= 0:
                    return pos
        return None


def _utf8_size(text: str, start: int, end: int) -> int:
    return len(text[start:end].encode("utf-8", "surrogateescape"))


def _may_be_cut_short(exc: json.JSONDecodeError, length: int) -> bool:
    """Whether more input could complete the value. A valid prefix fails only at its end
    (or a few characters before it, inside a literal such as `tru` or an escape such as
    `\\u00`), or inside a string still open; anything else is malformed whatever follows,
    so one bad NDJSON line is not followed by megabytes of read-ahead."""
    return exc.msg.startswith("Unterminated string") or length - exc.pos <= 16


def _utf8_decoder() -> codecs.IncrementalDecoder:
    # surrogateescape round-trips invalid UTF-8, so a dead letter keeps the exact bytes.
    return codecs.getincrementaldecoder("utf-8-sig")(errors="surrogateescape")
