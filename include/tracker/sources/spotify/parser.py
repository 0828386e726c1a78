"""Spotify Extended Streaming History (`Streaming_History_Audio_*.json`, older `endsong_*.json`), streamed.

Each file is a JSON array of plays. `ts` is the END of the play (UTC), so it started `ms_played` earlier.
A play is a music track, a podcast episode or an audiobook chapter; `skipped` may be null in older data and
`offline_timestamp` is epoch seconds in most exports but milliseconds in some.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tracker.sources.export_files import (
    Bad,
    FormatError,
    OnBytes,
    Rejected,
    iter_json_array,
    open_text,
    parse_json_array,
    parse_utc,
    refuse_nul,
    walk,
)

FILE_PATTERNS = ("Streaming_History_Audio_*.json", "endsong_*.json")
ACCOUNT_DATA = re.compile(r"StreamingHistory(_music|_podcast)?_?\d*\.json")  # the 1-year export: other schema
MAX_MS_PLAYED = 2**63 - 1      # ms_played is int8
_MS_THRESHOLD = 100_000_000_000  # offline_timestamp above this is milliseconds (as seconds: year 5138)
_TEXT = ("master_metadata_track_name", "master_metadata_album_artist_name", "master_metadata_album_album_name",
         "spotify_track_uri", "episode_name", "episode_show_name", "spotify_episode_uri", "audiobook_title",
         "audiobook_uri", "audiobook_chapter_uri", "audiobook_chapter_title", "platform", "conn_country",
         "reason_start", "reason_end")
_FLAGS = ("shuffle", "skipped", "offline", "incognito_mode")


@dataclass(frozen=True, slots=True)
class Play:
    """One play; `raw` is the element's original JSON text, `text` its string fields, `flags` its booleans."""

    index: int
    line: int
    ended_at: datetime
    ms_played: int
    content_type: str          # track | episode | audiobook | unknown
    item_key: str              # the track/episode/chapter URI, else its name: with ended_at, the play's key
    text: dict[str, str | None]
    flags: dict[str, bool | None]
    offline_at: datetime | None
    raw: str

    @property
    def started_at(self) -> datetime:
        return self.ended_at - timedelta(milliseconds=self.ms_played)


def _is_play(value: Any) -> bool:
    return isinstance(value, dict) and ("ts" in value or "ms_played" in value)


def _text(obj: dict, key: str) -> str | None:
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    raise Bad(f"bad {key}", repr(value)[:100])


def _flag(obj: dict, key: str) -> bool | None:
    value = obj.get(key)
    if value is None or isinstance(value, bool):
        return value
    if value in (0, 1) and isinstance(value, int):
        return bool(value)
    raise Bad(f"bad {key}", repr(value)[:100])


def _offline_at(value: Any) -> datetime | None:
    if value is None or value == 0:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise Bad("bad offline_timestamp", repr(value)[:100])
    seconds = value / 1000 if value >= _MS_THRESHOLD else value
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise Bad("bad offline_timestamp", repr(value)[:100]) from None


def _content(text: dict[str, str | None]) -> tuple[str, str]:
    """(content type, item key) from which metadata fields are set."""
    for kind, uri, name in (("track", "spotify_track_uri", "master_metadata_track_name"),
                            ("episode", "spotify_episode_uri", "episode_name"),
                            ("audiobook", "audiobook_chapter_uri", "audiobook_chapter_title"),
                            ("audiobook", "audiobook_uri", "audiobook_title")):
        if text[uri] or text[name]:
            return kind, text[uri] or text[name]
    return "unknown", ""


def _play(index: int, line: int, obj: Any, raw: str) -> Play:
    if not isinstance(obj, dict):
        raise Bad("not an object", type(obj).__name__)
    refuse_nul(raw)
    ended_at = parse_utc(obj.get("ts"), "ts")
    ms = obj.get("ms_played")
    if isinstance(ms, bool) or not isinstance(ms, int) or not 0 <= ms <= MAX_MS_PLAYED:
        raise Bad("bad ms_played", repr(ms)[:100])
    try:
        ended_at - timedelta(milliseconds=ms)  # started_at must exist
    except OverflowError:
        raise Bad("bad ts", f"{obj.get('ts')!r} minus ms_played={ms} is before year 1") from None
    text = {k: _text(obj, k) for k in _TEXT}
    kind, key = _content(text)
    return Play(index=index, line=line, ended_at=ended_at, ms_played=ms, content_type=kind, item_key=key,
                text=text, flags={k: _flag(obj, k) for k in _FLAGS},
                offline_at=_offline_at(obj.get("offline_timestamp")), raw=raw)


def find_files(path: Path) -> list[Path]:
    """The play files of a folder (recursively, in name order with numbers compared as numbers) or one file."""
    if path.is_file():
        if ACCOUNT_DATA.fullmatch(path.name):
            raise FormatError(f"{path} is the account-data StreamingHistory export (endTime/msPlayed), not the "
                              "Extended Streaming History: request the extended history from Spotify")
        return [path]
    files = walk(path, lambda name: any(fnmatch.fnmatchcase(name, p) for p in FILE_PATTERNS)).files
    if not files:
        raise FormatError(f"no {' or '.join(FILE_PATTERNS)} under {path}")
    return sorted(files, key=lambda f: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(f))])


def check(path: Path) -> None:
    """Raise FormatError unless the file is a JSON array whose first element looks like a play."""
    try:
        with open_text(path) as fh:
            first = next(iter_json_array(fh, _is_play), None)
    except UnicodeDecodeError as exc:
        raise FormatError(f"{path} is not UTF-8 JSON ({exc})") from None
    except FormatError as exc:
        raise FormatError(f"{path}: {exc}") from None
    if first and isinstance(first[2], tuple) and isinstance(obj := first[2][0], dict) and "ts" not in obj \
            and "endTime" in obj:
        raise FormatError(f"{path} has account-data plays (endTime/msPlayed), not Extended Streaming History "
                          "ones (ts/ms_played)")


def parse(path: Path, on_bytes: OnBytes | None = None) -> Iterator[Play | Rejected]:
    """Yield a Play or a Rejected per element of one play file (checked first; FormatError)."""
    check(path)
    yield from parse_json_array(path, _is_play, _play, "ts", on_bytes)
