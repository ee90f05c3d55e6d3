"""Read notification files as a stream of items, in constant memory.

A file may hold one JSON document, a JSON array, or newline-delimited JSON (more
generally: JSON values one after another), optionally gzip-compressed. Text that is
not JSON is not lost: it becomes an item whose bytes fail to parse, so it is dead-lettered
with its reason like any other bad input.
"""

from __future__ import annotations

import codecs
import gzip
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from core.ingest import Item

CHUNK = 1 << 16
# One value larger than this is not a notification (SNS's limit is 256 KB); a Lambda event
# document holding many records can be larger, so allow generous headroom.
MAX_VALUE_BYTES = 16 << 20
_WHITESPACE = " \t\r\n"
_DECODER = json.JSONDecoder()


def open_input(name: str) -> BinaryIO:
    """Open a path (or '-' for stdin) for binary reading, decompressing gzip transparently."""
    raw: BinaryIO = sys.stdin.buffer if name == "-" else Path(name).open("rb")  # noqa: SIM115
    buffered = io.BufferedReader(raw) if not isinstance(raw, io.BufferedReader) else raw
    if buffered.peek(2)[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=buffered)  # type: ignore[return-value]
    return buffered


def read_items(stream: BinaryIO, source: str) -> Iterator[Item]:
    """Yield one Item per JSON value (array elements count as values)."""
    reader = _ValueReader(stream, source)
    yield from reader.items()


class _ValueReader:
    """Incremental JSON value scanner over a byte stream, with a bounded buffer."""

    def __init__(self, stream: BinaryIO, source: str) -> None:
        self.stream = stream
        self.source = source
        self.text = ""
        self.eof = False
        self.count = 0
        self.decoder = _utf8_decoder()

    def items(self) -> Iterator[Item]:
        self._skip(_WHITESPACE)
        if self.text.startswith("["):
            self.text = self.text[1:]
            yield from self._values(separator=",", closing="]")
        else:
            yield from self._values(separator="", closing="")

    def _values(self, separator: str, closing: str) -> Iterator[Item]:
        while True:
            self._skip(_WHITESPACE + separator)
            if not self.text:
                return
            if closing and self.text.startswith(closing):
                self.text = self.text[1:]
                yield from self._values(separator="", closing="")  # anything after the array
                return
            yield self._next_value()

    def _next_value(self) -> Item:
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text)
            except json.JSONDecodeError:
                # Read as much again as we hold, so a large value is re-scanned O(log n) times.
                more = max(CHUNK, len(self.text))
                if not self.eof and len(self.text) < MAX_VALUE_BYTES and self._fill(more):
                    continue
                return self._unparseable()
            except RecursionError:
                return self._unparseable()
            raw, self.text = self.text[:end], self.text[end:]
            return self._item(raw, value)

    def _unparseable(self) -> Item:
        """Skip to the next line (NDJSON resync) and hand the bad text on, unparsed: the
        unwrapper parses it again and dead-letters it with the JSON error as the reason."""
        cut = self.text.find("\n")
        cut = len(self.text) if cut < 0 else cut + 1
        raw, self.text = self.text[:cut], self.text[cut:]
        return self._item(raw, None, parsed=False)

    def _item(self, text: str, value: object, parsed: bool = True) -> Item:
        self.count += 1
        source = f"{self.source}#{self.count}"
        raw = text.encode("utf-8", "surrogateescape")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            parsed = False  # invalid UTF-8 inside: let strict parsing reject it
        return Item(raw, source, value) if parsed else Item(raw, source)

    def _skip(self, characters: str) -> None:
        while True:
            self.text = self.text.lstrip(characters)
            if self.text or not self._fill():
                return

    def _fill(self, size: int = CHUNK) -> bool:
        if self.eof:
            return False
        chunk = self.stream.read(size)
        if not chunk:
            self.eof = True
            self.text += self.decoder.decode(b"", final=True)
            return False
        self.text += self.decoder.decode(chunk)
        return True


def _utf8_decoder() -> codecs.IncrementalDecoder:
    # surrogateescape round-trips invalid UTF-8, so a dead letter keeps the exact bytes.
    return codecs.getincrementaldecoder("utf-8-sig")(errors="surrogateescape")
