"""YouTube Takeout `YouTube and YouTube Music/history/watch-history.json`, streamed element by element.

Each element: `header` ("YouTube" or "YouTube Music"), `title` ("Watched <title>" in English, localised
otherwise), `titleUrl` (absent for removed videos), `subtitles` (the channel; may be absent), `time` (UTC,
variable fraction digits) and `details` ("From Google Ads" marks an ad).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tracker.sources.export_files import (
    Bad,
    FormatError,
    OnBytes,
    Rejected,
    find_one,
    iter_json_array,
    open_text,
    parse_json_array,
    parse_utc,
    refuse_nul,
)

FILE_NAME = "watch-history.json"
WATCHED = "Watched "  # the English prefix; other languages' verbs are left in the title
REMOVED = "Watched a video that has been removed"
ADS = "From Google Ads"
_CHANNEL = re.compile(r"/channel/([^/?#]+)")


@dataclass(frozen=True, slots=True)
class Watch:
    """One watch-history entry; `raw` is the element's original JSON text."""

    index: int
    line: int
    watched_at: datetime
    header: str | None
    title: str                 # as exported, prefix included
    video_title: str | None    # without the English "Watched " prefix; None for removed videos
    title_url: str | None
    video_id: str | None
    channel_name: str | None
    channel_url: str | None
    is_ad: bool
    is_removed: bool
    raw: str

    @property
    def service(self) -> str | None:
        """youtube | youtube_music (other headers lowercased, spaces as underscores)."""
        return self.header.strip().lower().replace(" ", "_") if self.header else None

    @property
    def item_key(self) -> str:
        """With watched_at, the entry's key: the video URL, else the title."""
        return self.title_url or self.title

    @property
    def channel_id(self) -> str | None:
        m = _CHANNEL.search(self.channel_url or "")
        return m[1] if m else None


def video_id(url: str | None) -> str | None:
    """The id in watch?v=…, /shorts/…, youtu.be/… (a literal `\\u003d` left in the URL counts as `=`)."""
    if not url:
        return None
    parts = urlsplit(url.replace("\\u003d", "=").replace("\\u0026", "&"))
    if ids := parse_qs(parts.query).get("v"):
        return ids[0]
    segments = [s for s in parts.path.split("/") if s]
    if parts.netloc.endswith("youtu.be") and segments:
        return segments[0]
    if len(segments) >= 2 and segments[0] in ("shorts", "embed", "live"):
        return segments[1]
    return None


def _is_entry(value: Any) -> bool:
    return isinstance(value, dict) and ("time" in value or "header" in value)


def _str(obj: dict, key: str, *, required: bool = False) -> str | None:
    value = obj.get(key)
    if (value is None and not required) or isinstance(value, str):
        return value
    raise Bad(f"{'missing' if value is None else 'bad'} {key}", repr(value)[:100])


def _names(items: Any, key: str) -> list[dict]:
    if items is None:
        return []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise Bad(f"bad {key}", repr(items)[:100])
    return items


def _watch(index: int, line: int, obj: Any, raw: str) -> Watch:
    if not isinstance(obj, dict):
        raise Bad("not an object", type(obj).__name__)
    refuse_nul(raw)
    watched_at = parse_utc(obj.get("time"), "time")
    title = _str(obj, "title", required=True)
    url = _str(obj, "titleUrl")
    channel = next(iter(_names(obj.get("subtitles"), "subtitles")), {})
    removed = url is None and title == REMOVED
    shown = None if removed else title.removeprefix(WATCHED)
    return Watch(index=index, line=line, watched_at=watched_at, header=_str(obj, "header"), title=title,
                 video_title=shown, title_url=url, video_id=video_id(url),
                 channel_name=_str(channel, "name"), channel_url=_str(channel, "url"),
                 is_ad=any(d.get("name") == ADS for d in _names(obj.get("details"), "details")),
                 is_removed=removed, raw=raw)


def find_files(path: Path) -> list[Path]:
    """[path] for a file, else the one watch-history.json under a Takeout folder."""
    return [find_one(path, FILE_NAME)]


def check(path: Path) -> None:
    """Raise FormatError unless the file is a JSON array (Takeout's HTML variant is refused by name)."""
    if path.suffix.lower() == ".html":
        raise FormatError(f"{path} is the HTML Takeout variant: export the history as JSON instead")
    try:
        with open_text(path) as fh:
            next(iter_json_array(fh, _is_entry), None)
    except UnicodeDecodeError as exc:
        raise FormatError(f"{path} is not UTF-8 JSON ({exc})") from None
    except FormatError as exc:
        raise FormatError(f"{path}: {exc}") from None


def parse(path: Path, on_bytes: OnBytes | None = None) -> Iterator[Watch | Rejected]:
    """Yield a Watch or a Rejected per element of watch-history.json (checked first; FormatError)."""
    check(path)
    yield from parse_json_array(path, _is_entry, _watch, "time", on_bytes)
