"""Last.fm `user.getRecentTracks` response shape (pydantic v2) and the scrobble row the client returns.

Last.fm sends every `@attr` value and `date.uts` as a string; they are validated as integers here. With
`extended=1` the artist is `{name, url, mbid, image}` instead of `{"#text", mbid}`; both shapes parse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SOURCE = "Last.fm"


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Named(_Model):
    text: str | None = Field(None, alias="#text")
    name: str | None = None  # extended=1 artist
    mbid: str | None = None
    url: str | None = None

    @property
    def label(self) -> str | None:
        return self.name or self.text or None


class PlayDate(_Model):
    uts: int
    text: str | None = Field(None, alias="#text")


class TrackAttr(_Model):
    nowplaying: str | None = None


class TrackItem(_Model):
    name: str
    mbid: str | None = None
    url: str | None = None
    artist: Named
    album: Named | None = None
    date: PlayDate | None = None  # absent on the now-playing item
    attr: TrackAttr | None = Field(None, alias="@attr")
    loved: str | None = None  # extended=1 only

    @property
    def now_playing(self) -> bool:
        return self.attr is not None and (self.attr.nowplaying or "").lower() == "true"


class PageAttr(_Model):
    user: str | None = None
    page: int
    perPage: int | None = None
    totalPages: int
    total: int


class RecentTracks(_Model):
    track: list[Any] | dict[str, Any] = []  # one track may come as a bare object
    attr: PageAttr = Field(alias="@attr")

    @property
    def tracks(self) -> list[Any]:
        return [self.track] if isinstance(self.track, dict) else list(self.track)


class RecentTracksResponse(_Model):
    recenttracks: RecentTracks


@dataclass(frozen=True)
class Scrobble:
    """One finished play (the now-playing item is never a scrobble); `played_at` is the scrobble's UTC time."""

    played_at: datetime
    artist: str
    track: str
    album: str | None
    artist_mbid: str | None
    track_mbid: str | None
    album_mbid: str | None
    url: str | None
    loved: bool | None
    record: dict[str, Any]
