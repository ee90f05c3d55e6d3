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
from typing import BinaryIO, cast

from core.ingest.pipeline import Item

CHUNK = 1 << 16
# One value larger than this is not a notification (SNS's limit is 256 KB); a Lambda event
# document holding many records can be larger, so allow generous headroom.
MAX_VALUE_BYTES = 16 << 20
_WHITESPACE = " \t\r\n"
_DECODER = json.JSONDecoder()


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


def read_items(stream: BinaryIO, source: str) -> Iterator[Item]:
    """Yield one Item per JSON value (array elements count as values)."""
    reader = _ValueReader(stream, source)
    yield from reader.items()


class _ValueReader:
    """Incremental JSON value scanner over a byte stream, with a bounded buffer.

    `pos` walks through `text`; consumed text is dropped only when more is read, so taking
    a value never copies the rest of the buffer.
    """

    def __init__(self, stream: BinaryIO, source: str) -> None:
        self.stream = stream
        self.source = source
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
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as exc:
                # Read as much again as we hold, so a large value is re-scanned O(log n) times.
                held = len(self.text) - self.pos
                if _may_be_cut_short(exc, len(self.text)) and self._fill_within_limit(held):
                    continue
                return self._unparseable()
            except RecursionError:
                return self._unparseable()
            raw, self.pos = self.text[self.pos : end], end
            return self._item(raw, value)

    def _fill_within_limit(self, held: int) -> bool:
        return held < MAX_VALUE_BYTES and self._fill(max(CHUNK, held))

    def _unparseable(self) -> Item:
        """Skip to the next line (NDJSON resync) and hand the bad text on, unparsed: the
        unwrapper parses it again and dead-letters it with the JSON error as the reason."""
        while (cut := self.text.find("\n", self.pos)) < 0:
            if not self._fill_within_limit(len(self.text) - self.pos):
                break
        cut = len(self.text) if cut < 0 else cut + 1
        raw, self.pos = self.text[self.pos : cut], cut
        return self._item(raw, None, parsed=False)

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


def _may_be_cut_short(exc: json.JSONDecodeError, length: int) -> bool:
    """Whether more input could complete the value. A valid prefix fails only at its end
    (or a few characters before it, inside a literal such as `tru` or an escape such as
    `\\u00`), or inside a string still open; anything else is malformed whatever follows,
    so one bad NDJSON line is not followed by megabytes of read-ahead."""
    return exc.msg.startswith("Unterminated string") or length - exc.pos <= 16


def _utf8_decoder() -> codecs.IncrementalDecoder:
    # surrogateescape round-trips invalid UTF-8, so a dead letter keeps the exact bytes.
    return codecs.getincrementaldecoder("utf-8-sig")(errors="surrogateescape")
