"""Reading export files with bounded memory: byte-counted text streams, JSON arrays element by element.

Shared by the file-import parsers (Netflix, Spotify, YouTube). A parser yields either a parsed record or a
`Rejected` (file, line, element index, reason); it never loads a whole file.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, TextIO

CHUNK = 1 << 20          # characters read per step
MAX_ELEMENT = 1 << 20    # an element still failing to decode with this much text after it is malformed
RAW_CAP = 10_000         # characters of a rejected record's text kept for the quarantine

OnBytes = Callable[[int], None]


class FormatError(ValueError):
    """The file is not the export it should be (wrong header, not a JSON array, another export's schema)."""


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record that could not be parsed: where it is, why (a short category plus detail), and its text."""

    file: str
    line: int
    reason: str
    detail: str
    raw_text: str
    index: int | None = None          # element index in a JSON array (its line alone is ambiguous there)
    record_at: datetime | None = None

    @property
    def locator(self) -> str:
        return f"{self.file}:{self.line}" + ("" if self.index is None else f"#{self.index}")

    @property
    def message(self) -> str:
        return f"{self.reason}: {self.detail}" if self.detail else self.reason


class Bad(ValueError):
    """Raised inside a parser for one bad field: becomes a `Rejected` with this reason and detail."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


class _CountingReader(io.RawIOBase):
    """A raw binary stream that reports every chunk's size (drives a bytes-read progress bar)."""

    def __init__(self, raw: BinaryIO, on_bytes: OnBytes) -> None:
        self._raw, self._on_bytes = raw, on_bytes

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self._raw.readinto(buffer)
        if n:
            self._on_bytes(n)
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


def open_text(path: Path, on_bytes: OnBytes | None = None, *, newline: str | None = None) -> TextIO:
    """Open a UTF-8 export (a leading BOM is dropped), counting bytes read when on_bytes is given."""
    raw = open(path, "rb", buffering=0)  # noqa: SIM115 - closed by the returned wrapper
    stream = io.BufferedReader(_CountingReader(raw, on_bytes) if on_bytes else raw, CHUNK)
    return io.TextIOWrapper(stream, encoding="utf-8-sig", newline=newline)


def find_one(path: Path, name: str) -> Path:
    """path itself if it is a file, else the one file called name under the folder path."""
    if path.is_file():
        return path
    found = sorted(path.rglob(name)) if path.is_dir() else []
    if len(found) != 1:
        raise FormatError(f"expected one {name} under {path}, found {len(found)}")
    return found[0]


def parse_utc(value: Any, field: str) -> datetime:
    """An ISO 8601 instant with a zone (`Z` or an offset) → aware UTC datetime; anything else is Bad."""
    if not isinstance(value, str) or "T" not in value:
        raise Bad(f"bad {field}", repr(value)[:100])
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Bad(f"bad {field}", repr(value)[:100]) from None
    if parsed.tzinfo is None:
        raise Bad(f"bad {field}", f"{value!r} has no time zone")
    return parsed.astimezone(UTC)


def time_or_none(obj: Any, key: str) -> datetime | None:
    """The record's own time for the quarantine, if it has a usable one."""
    try:
        return parse_utc(obj.get(key), key) if isinstance(obj, dict) else None
    except Bad:
        return None


def refuse_nul(raw: str) -> None:
    """PostgreSQL text and jsonb cannot hold U+0000: such a record is rejected, not loaded."""
    if "\x00" in raw or "\\u0000" in raw:
        raise Bad("NUL character", "PostgreSQL text and jsonb cannot hold U+0000")


@dataclass(frozen=True, slots=True)
class Malformed:
    """An array element that is not valid JSON: its text (capped) and the decoder's complaint."""

    text: str
    reason: str
    detail: str


_NON_WS = re.compile(r"\S")
_DECODER = json.JSONDecoder()


class _Buffer:
    """A sliding window over a text stream: `buf[pos:]` is unread, `line` is the line number at `pos`."""

    def __init__(self, fh: TextIO) -> None:
        self.fh, self.buf, self.pos, self.line, self.eof = fh, "", 0, 1, False

    def more(self) -> bool:
        """Drop the consumed prefix and append the next chunk; False at end of file."""
        if self.eof:
            return False
        data = self.fh.read(CHUNK)
        if not data:
            self.eof = True
            return False
        self.buf = self.buf[self.pos:] + data
        self.pos = 0
        return True

    def advance(self, to: int) -> None:
        self.line += self.buf.count("\n", self.pos, to)
        self.pos = to

    def peek(self) -> str:
        """The next non-blank character (moving to it), or "" at end of file."""
        while True:
            if m := _NON_WS.search(self.buf, self.pos):
                self.advance(m.start())
                return self.buf[self.pos]
            self.advance(len(self.buf))
            if not self.more():
                return ""

    def skip_malformed(self, is_element: Callable[[Any], bool]) -> tuple[str, bool]:
        """Move past a malformed element to the next `{` that decodes to an element; (its text, hit EOF)."""
        kept: list[str] = []
        size = 0

        def take(to: int) -> None:
            nonlocal size
            if size < RAW_CAP:
                kept.append(self.buf[self.pos:to][:RAW_CAP - size])
                size += len(kept[-1])
            self.advance(to)

        i = self.pos + 1
        while True:
            j = self.buf.find("{", i)
            if j >= 0:
                try:
                    value, _ = _DECODER.raw_decode(self.buf, j)
                except json.JSONDecodeError:
                    if self.eof or len(self.buf) - j >= MAX_ELEMENT:
                        i = j + 1
                        continue
                    # the candidate may just be cut by the chunk end: read on and retry it
                else:
                    if is_element(value):
                        take(j)
                        return "".join(kept).rstrip().rstrip(",").rstrip(), False
                    i = j + 1
                    continue
            take(j if j >= 0 else len(self.buf))
            if not self.more():
                take(len(self.buf))
                return "".join(kept).rstrip(), True
            i = self.pos


def iter_json_array(fh: TextIO, is_element: Callable[[Any], bool]) -> Iterator[tuple[int, int, Any]]:
    """Yield (index, line, (value, text)) per element of a top-level JSON array, one chunk in memory at a time.

    A malformed element yields a `Malformed` instead of (value, text), and reading resumes at the next `{` whose
    object satisfies is_element (so objects nested in the bad one are not mistaken for elements). A file
    that ends inside an element, or before the closing `]`, yields a truncated `Malformed` last. Raises
    FormatError if the file is not a JSON array.
    """
    b = _Buffer(fh)
    if b.peek() != "[":
        raise FormatError("not a JSON array (expected '[' at the start)")
    b.advance(b.pos + 1)
    index = 0
    while True:
        c = b.peek()
        if c == "]":
            return
        if c == "":  # elements after the last complete one may be lost: say so
            yield index, b.line, Malformed("", "truncated JSON", "file ends before the array's closing ']'")
            return
        if c == ",":
            b.advance(b.pos + 1)
            continue
        try:
            value, end = _DECODER.raw_decode(b.buf, b.pos)
        except json.JSONDecodeError as exc:
            if not b.eof and len(b.buf) - b.pos < MAX_ELEMENT and b.more():
                continue  # the element straddles the chunk boundary: retry with more text
            line = b.line
            text, at_eof = b.skip_malformed(is_element)
            if at_eof:
                yield index, line, Malformed(text, "truncated JSON", "file ends inside this element")
                return
            yield index, line, Malformed(text, "malformed JSON", f"{exc.msg} (column {exc.colno})")
        else:
            line = b.line
            raw = b.buf[b.pos:end]
            b.advance(end)
            yield index, line, (value, raw)
        index += 1


@contextmanager
def reading(file: str) -> Generator[None, None, None]:
    """Turn a decoding error in the middle of a file into a FormatError naming it."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise FormatError(f"{file} is not UTF-8 text ({exc})") from None


def parse_json_array(path: Path, is_element: Callable[[Any], bool], build: Callable[[int, int, Any, str], Any],
                     time_key: str, on_bytes: OnBytes | None = None) -> Iterator[Any]:
    """Stream a JSON-array export: `build(index, line, obj, raw)` per element, a `Rejected` per bad one.

    `build` raises `Bad` for a bad field; the element's own time (`time_key`) is kept on the rejection.
    """
    file = str(path)
    with open_text(path, on_bytes) as fh, reading(file):
        for index, line, item in iter_json_array(fh, is_element):
            if isinstance(item, Malformed):
                yield Rejected(file, line, item.reason, item.detail, item.text, index=index)
                continue
            obj, raw = item
            try:
                yield build(index, line, obj, raw)
            except Bad as bad:
                yield Rejected(file, line, bad.reason, bad.detail, raw[:RAW_CAP], index=index,
                               record_at=time_or_none(obj, time_key))
