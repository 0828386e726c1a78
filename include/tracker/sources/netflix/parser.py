"""Netflix GDPR export `CONTENT_INTERACTION/ViewingActivity.csv`, read row by row.

One row per playback session of any profile: `Start Time` is UTC, `Duration` is the time watched in that
session. Rows with a `Supplemental Video Type` (trailers, hooks, recaps…) are kept but flagged.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tracker.sources.export_files import (
    RAW_CAP,
    Bad,
    FormatError,
    OnBytes,
    Rejected,
    find_one,
    open_text,
    printable,
    refuse_nul,
    refuse_unencodable,
)

HEADER = ["Profile Name", "Start Time", "Duration", "Attributes", "Title", "Supplemental Video Type",
          "Device Type", "Bookmark", "Latest Bookmark", "Country"]
NOT_LATEST = "Not latest view"

_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
_HMS = re.compile(r"(\d{1,3}):([0-5]\d):([0-5]\d)")
# `Show: Season N: Episode title (Episode k)`; the season label in the languages Netflix exports titles in.
_SEASON_WORDS = ("Season", "Series", "Limited Series", "Miniseries", "Part", "Volume", "Vol.", "Book",
                 "Collection", "Staffel", "Teil", "Temporada", "Parte", "Saison", "Partie",
                 "Stagione", "Seizoen", "Deel", "Sezon", "シーズン", "パート")
_SEASON = "|".join(map(re.escape, _SEASON_WORDS))
_TITLE = re.compile(rf"(?P<show>.+?): (?P<season>(?:{_SEASON})(?:[ \d][^:]*)?): (?P<episode>.+)")
_EPISODE_NO = re.compile(r"(?P<title>.*\S) \(Episode (?P<n>\d+)\)")
_NUMBER = re.compile(r"\d+")


@dataclass(frozen=True, slots=True)
class TitleParts:
    show: str
    season: str
    season_number: int | None
    episode: str
    episode_number: int | None


def split_title(title: str) -> TitleParts | None:
    """Show, season and episode of a series title; None for films and titles outside the convention."""
    if not (m := _TITLE.fullmatch(title)):
        return None
    episode, number = m["episode"], None
    if e := _EPISODE_NO.fullmatch(episode):
        episode, number = e["title"], int(e["n"])
    season_no = _NUMBER.search(m["season"])
    return TitleParts(m["show"], m["season"], int(season_no[0]) if season_no else None, episode, number)


@dataclass(frozen=True, slots=True)
class Viewing:
    """One playback session; `record` is the original row (header → text)."""

    line: int
    profile_name: str
    started_at: datetime
    duration_seconds: int
    title: str
    parts: TitleParts | None
    supplemental_video_type: str | None
    attributes: str | None
    device_type: str | None
    bookmark_seconds: int | None
    latest_bookmark_seconds: int | None
    is_latest_view: bool
    country: str | None
    record: dict[str, str]

    @property
    def is_supplemental(self) -> bool:
        """A trailer, hook, recap…: not watching time."""
        return self.supplemental_video_type is not None


def _seconds(value: str, field: str, *, optional: bool = False) -> int | None:
    if optional and value == "":
        return None
    if not (m := _HMS.fullmatch(value)):
        raise Bad(f"bad {field}", repr(value)[:100])
    return int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3])


def _start(value: str) -> datetime:
    try:
        if _TIME.fullmatch(value):
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        pass
    raise Bad("bad start time", repr(value)[:100])


def _parse_row(line: int, row: list[str]) -> Viewing:
    if len(row) != len(HEADER):
        raise Bad("wrong column count", f"expected {len(HEADER)} columns, got {len(row)}")
    refuse_nul("".join(row))
    profile, start, duration, attributes, title, supplemental, device, bookmark, latest, country = row
    latest_view = latest != NOT_LATEST
    return Viewing(
        line=line, profile_name=profile, started_at=_start(start),
        duration_seconds=_seconds(duration, "duration"), title=title, parts=split_title(title),
        supplemental_video_type=supplemental or None, attributes=attributes or None, device_type=device or None,
        bookmark_seconds=_seconds(bookmark, "bookmark", optional=True),
        latest_bookmark_seconds=_seconds(latest, "latest bookmark", optional=True) if latest_view else None,
        is_latest_view=latest_view, country=country or None, record=dict(zip(HEADER, row, strict=True)))


def find_files(path: Path) -> list[Path]:
    """[path] for a file, else the one ViewingActivity.csv under an export folder."""
    return [find_one(path, "ViewingActivity.csv")]


def check(path: Path) -> None:
    """Raise FormatError unless path starts with ViewingActivity.csv's exact header."""
    try:
        with open_text(path, newline="") as fh:
            header = next(csv.reader(fh), None)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise FormatError(f"{path} is not Netflix ViewingActivity.csv (not UTF-8 CSV: {exc})") from None
    if header != HEADER:
        hint = (" (that is the in-app NetflixViewingHistory.csv, which has no time or profile; use the "
                "account's data export instead)" if header == ["Title", "Date"] else "")
        raise FormatError(f"{path} is not Netflix ViewingActivity.csv: expected the header "
                          f"{','.join(HEADER)!r}, found {','.join(header or [])[:200]!r}{hint}")


def _as_csv(row: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(row)
    return out.getvalue()[:RAW_CAP]


def _start_or_none(row: list[str]) -> datetime | None:
    try:
        return _start(row[1]) if len(row) > 1 else None
    except Bad:
        return None


MAX_RECORD_LINES = 100   # a quoted field still open after this many lines is an unterminated quote


def _one_record(text: str) -> list[str] | None:
    """The fields of text if it is one complete CSV record; None if a quoted field is still open.

    Raises csv.Error for text that is complete but not valid CSV (a stray quote after a closing one)."""
    try:
        rows = list(csv.reader([text], strict=True))
    except csv.Error:
        if text.count('"') % 2:
            return None  # inside a quoted field: the record goes on on the next line
        raise
    return rows[0] if rows else []


def _is_viewing(text: str) -> bool:
    """The line alone is a complete, valid viewing row (where reading resumes after an unterminated quote)."""
    try:
        row = _one_record(text)
        return row is not None and len(row) == len(HEADER) and bool(_parse_row(0, row))
    except (csv.Error, Bad):
        return False


def records(fh) -> Iterator[tuple[int, str, list[str] | csv.Error | None]]:
    """(first line, text, fields) per CSV record of a text stream, header included.

    A quoted field may span lines: they are joined until its quote closes. When it never does — the next
    line is a valid viewing row by itself, the joined text is bad CSV, the file ends, or MAX_RECORD_LINES
    pass — the record's first line alone is given back with fields None (an unterminated quote) and reading
    resumes at the line after it. A line that is bad CSV by itself comes back with its csv.Error."""
    numbered = enumerate(fh, 1)
    again: list[tuple[int, str]] = []     # lines to read once more, last first
    pending: list[tuple[int, str]] = []

    def give_up() -> tuple[int, str, None]:
        """The first pending line is rejected; the lines joined after it are read again."""
        first, *rest = pending
        again.extend(reversed(rest))
        pending.clear()
        return first[0], first[1], None

    while True:
        item = again.pop() if again else next(numbered, None)
        if item is None:
            if not pending:
                return
            yield give_up()
            continue
        number, line = item
        if pending:
            if _is_viewing(line) or len(pending) >= MAX_RECORD_LINES:
                again.append(item)
                yield give_up()
                continue
            pending.append(item)
            text = "".join(t for _, t in pending)
            try:
                row = _one_record(text)
            except csv.Error:
                yield give_up()
                continue
            if row is not None:
                yield pending[0][0], text, row
                pending.clear()
            continue
        try:
            row = _one_record(line)
        except csv.Error as exc:
            yield number, line, exc
            continue
        if row is None:
            pending.append(item)
        else:
            yield number, line, row


def parse(path: Path, on_bytes: OnBytes | None = None) -> Iterator[Viewing | Rejected]:
    """Yield a Viewing or a Rejected per data row of ViewingActivity.csv (checked first; FormatError).

    A line that cannot be read (bad CSV, an unterminated quote, bytes that are not UTF-8) is rejected alone,
    with its text and line number; every other row is read. Rejections are located by the file's name."""
    check(path)
    file = path.name
    with open_text(path, on_bytes, newline="") as fh:
        items = records(fh)
        next(items, None)  # the header, checked above
        for line, text, row in items:
            raw = printable(text.rstrip("\r\n"))[:RAW_CAP]
            if row is None:
                yield Rejected(file, line, "malformed CSV", "unterminated quote: the quoted field never closes",
                               raw)
                continue
            if isinstance(row, csv.Error):
                yield Rejected(file, line, "malformed CSV", str(row), raw)
                continue
            if not row:
                continue  # blank line
            try:
                refuse_unencodable(text)
                yield _parse_row(line, row)
            except Bad as bad:
                yield Rejected(file, line, bad.reason, bad.detail, printable(_as_csv(row)),
                               record_at=_start_or_none(row))
