"""Reading export files with bounded memory: byte-counted text streams, JSON arrays element by element.

Shared by the file-import parsers (Netflix, Spotify, YouTube). A parser yields either a parsed record or a
`Rejected` (file, line, element index, reason); it never loads a whole file.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import sys
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from tracker.warehouse import quarantine

CHUNK = 1 << 20          # characters read per step
MAX_ELEMENT = 1 << 20    # an element still failing to decode with this much text after it is malformed
RAW_CAP = 10_000         # characters of a rejected record's text kept for the quarantine

OnBytes = Callable[[int], None]


class FormatError(ValueError):
    """The file is not the export it should be (wrong header, not a JSON array, another export's schema)."""


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record that could not be parsed: where it is, why (a short category plus detail), and its text.

    Not the quarantine row (`warehouse.quarantine.Rejected`) for a reason: `reason` here is the short category
    an import summary counts by, and the position is file + line (+ array index); `quarantined()` gives the
    row written, whose reason is the whole `message`."""

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

    def quarantined(self) -> quarantine.Rejected:
        return quarantine.Rejected(self.locator, self.message, self.raw_text, self.record_at)


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
    # bytes that are not UTF-8 become lone surrogates (U+DC80…U+DCFF): the record holding them is rejected
    return io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline=newline)


@dataclass
class Found:
    """The export files under a path, and the symbolic links met on the way (never followed)."""

    files: list[Path]
    links: list[Path]


def walk(path: Path, match: Callable[[str], bool]) -> Found:
    """path itself if it is a file, else the files under the folder whose names match, in path order.

    Symbolic links below the folder (to files or folders) are not followed: a folder import reads only what
    the folder itself holds. They are returned as `links` for the summary. The path given is used as is."""
    if path.is_file():
        return Found([path], [])
    files, links = [], []
    for dirpath, dirnames, filenames in os.walk(path):  # os.walk never descends into linked folders
        dirnames.sort()
        here = Path(dirpath)
        links += [here / d for d in dirnames if (here / d).is_symlink()]
        for name in sorted(filenames):
            full = here / name
            if full.is_symlink():
                links.append(full)
            elif match(name):
                files.append(full)
    return Found(sorted(files), sorted(links))


def find_one(path: Path, name: str) -> Path:
    """path itself if it is a file, else the one file called name under the folder path (links not followed)."""
    found = walk(path, lambda n: n == name).files if path.is_dir() or path.is_file() else []
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
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is before datetime.min in UTC
        raise Bad(f"bad {field}", f"{value!r} is out of range") from None


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


_UNDECODED = re.compile("[\udc80-\udcff]")
# a \ud800-\udbff escape not followed by a \udc00-\udfff one, or the reverse: not text PostgreSQL can hold
_LONE_SURROGATE = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
                             r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def refuse_unencodable(raw: str) -> None:
    """Bytes that were not UTF-8 (read as lone surrogates) or a lone surrogate escape: rejected, not loaded."""
    if _UNDECODED.search(raw):
        raise Bad("invalid UTF-8", "the record holds bytes that are not UTF-8 text")
    if "\\u" in raw and _LONE_SURROGATE.search(raw):
        raise Bad("lone surrogate", "a \\uD800-\\uDFFF escape without its pair is not text PostgreSQL can hold")


def printable(text: str) -> str:
    """Text as the quarantine can store it: undecodable bytes and NUL as U+FFFD."""
    if _UNDECODED.search(text):
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return text.replace("\x00", "\ufffd")


@dataclass(frozen=True, slots=True)
class Malformed:
    """An array element that is not valid JSON: its text (capped) and the decoder's complaint."""

    text: str
    reason: str
    detail: str


_NON_WS = re.compile(r"\S")
_DECODER = json.JSONDecoder()
# what Python's decoder reads but an element must not hold (PostgreSQL's jsonb refuses NaN/Infinity and
# numbers beyond its range; the digits limit of int() raises ValueError, deep nesting RecursionError)
_UNDECODABLE = (json.JSONDecodeError, ValueError, RecursionError)


class _StrictDecoder(json.JSONDecoder):
    """A decoder whose `raw_decode` raises ValueError for NaN, ±Infinity and floats beyond float range."""

    def __init__(self) -> None:
        super().__init__(parse_constant=self._constant, parse_float=self._float)

    @staticmethod
    def _constant(name: str) -> float:
        raise ValueError(f"{name} is not JSON")

    @staticmethod
    def _float(text: str) -> float:
        value = float(text)
        if math.isinf(value):
            raise ValueError(f"number {text[:40]} is out of range")
        return value


_STRICT = _StrictDecoder()


def _why(exc: BaseException) -> tuple[str, str]:
    """(reason, detail) of an element the decoder refused."""
    if isinstance(exc, json.JSONDecodeError):
        return "malformed JSON", f"{exc.msg} (column {exc.colno})"
    if isinstance(exc, RecursionError):
        return "malformed JSON", "nested too deeply"
    return "malformed JSON", str(exc)[:200]


_STRUCTURE = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]]')


class _Closings:
    """Brackets opened at or after `start` in one buffer (strings skipped), by one pass: where each closes,
    and which never close in the buffer yet nest deeper than the decoder can go (decoding them is futile)."""

    def __init__(self, buf: str, start: int) -> None:
        self.buf, self.start, self.ends = buf, start, {}
        stack: list[int] = []
        openers: list[tuple[int, int]] = []   # (position, depth)
        for m in _STRUCTURE.finditer(buf, start):
            c = m.group()
            if c in "{[":
                openers.append((m.start(), len(stack)))
                stack.append(m.start())
            elif c in "}]" and stack:
                self.ends[stack.pop()] = m.end()
        limit, deepest, self.too_deep = sys.getrecursionlimit(), -1, set()
        for pos, depth in reversed(openers):
            deepest = max(deepest, depth)
            if pos not in self.ends and deepest - depth >= limit:
                self.too_deep.add(pos)

    def covers(self, buf: str, j: int) -> bool:
        return buf is self.buf and j >= self.start

    def skip_to(self, buf: str, j: int) -> int | None:
        """Where to resume after a candidate at j that cannot be an element, if known."""
        if not self.covers(buf, j):
            return None
        return self.ends.get(j) or (j + 1 if j in self.too_deep else None)


def _after_colon(buf: str, j: int, floor: int) -> bool:
    """Whether the last non-blank character before buf[j] (after floor) is ':'."""
    k = j - 1
    while k > floor and buf[k] in " \t\r\n":
        k -= 1
    return k > floor and buf[k] == ":"


class _Buffer:
    """A sliding window over a text stream: `buf[pos:]` is unread, `line` is the line number at `pos`."""

    def __init__(self, fh: TextIO) -> None:
        self.fh, self.buf, self.pos, self.line, self.eof = fh, "", 0, 1, False
        self.closings: _Closings | None = None

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

        closings = self.closings  # kept while the buffer is the same: one pass however many skips it serves
        i = self.pos + 1
        while True:
            j = self.buf.find("{", i)
            if j >= 0 and _after_colon(self.buf, j, self.pos):
                i = j + 1  # an object that is a member's value is never an array element: no need to decode it
                continue
            if j >= 0 and closings is not None and j in closings.too_deep and closings.covers(self.buf, j):
                i = j + 1
                continue
            if j >= 0:
                try:
                    value, _ = _DECODER.raw_decode(self.buf, j)
                except json.JSONDecodeError:
                    if self.eof or len(self.buf) - j >= MAX_ELEMENT:
                        i = j + 1
                        continue
                    # the candidate may just be cut by the chunk end: read on and retry it
                except (ValueError, RecursionError):  # more text would not help
                    # nothing nested in a deep object is an element: jump past it when it closes in the buffer
                    if closings is None or not closings.covers(self.buf, j):
                        closings = self.closings = _Closings(self.buf, j)
                    i = closings.skip_to(self.buf, j) or j + 1
                    continue
                else:
                    if is_element(value):
                        take(j)
                        return "".join(kept).rstrip().rstrip(",").rstrip(), False
                    i = j + 1
                    continue
            take(j if j >= 0 else len(self.buf))
            if not self.more():
                if j >= 0:
                    i = self.pos  # at the end now: the candidate is retried as complete, and the rest scanned
                    continue
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
            value, end = _STRICT.raw_decode(b.buf, b.pos)
        except _UNDECODABLE as exc:
            if isinstance(exc, json.JSONDecodeError) and not b.eof and len(b.buf) - b.pos < MAX_ELEMENT \
                    and b.more():
                continue  # the element straddles the chunk boundary: retry with more text
            line = b.line
            text, at_eof = b.skip_malformed(is_element)
            if at_eof and isinstance(exc, json.JSONDecodeError):
                yield index, line, Malformed(text, "truncated JSON", "file ends inside this element")
                return
            yield index, line, Malformed(text, *_why(exc))
            if at_eof:
                return
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

    `build` raises `Bad` for a bad field; the element's own time (`time_key`) is kept on the rejection, which
    is located by the file's name (the export can move without its quarantine rows changing).
    """
    file = path.name
    with open_text(path, on_bytes) as fh, reading(file):
        for index, line, item in iter_json_array(fh, is_element):
            if isinstance(item, Malformed):
                yield Rejected(file, line, item.reason, item.detail, printable(item.text), index=index)
                continue
            obj, raw = item
            try:
                refuse_unencodable(raw)
                record = build(index, line, obj, raw)
            except Bad as bad:
                yield Rejected(file, line, bad.reason, bad.detail, printable(raw[:RAW_CAP]), index=index,
                               record_at=time_or_none(obj, time_key))
            except (OverflowError, RecursionError, ValueError) as exc:  # a field beyond what a type can hold
                yield Rejected(file, line, "unreadable element", f"{type(exc).__name__}: {str(exc)[:200]}",
                               printable(raw[:RAW_CAP]), index=index)
            else:
                yield record
