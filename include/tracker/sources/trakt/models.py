"""Trakt `GET /sync/history` item shape (pydantic v2, `extended=full`), the watch row, and OAuth tokens."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

SOURCE = "Trakt"


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow")


class Ids(_Model):
    trakt: int | None = None
    slug: str | None = None
    imdb: str | None = None
    tmdb: int | None = None
    tvdb: int | None = None


class Movie(_Model):
    title: str
    year: int | None = None
    ids: Ids
    runtime: int | None = None  # minutes, extended=full


class Show(_Model):
    title: str
    year: int | None = None
    ids: Ids
    runtime: int | None = None


class Episode(_Model):
    season: int
    number: int
    title: str | None = None
    ids: Ids
    runtime: int | None = None


class HistoryItem(_Model):
    id: int  # the history entry's id: unique per watch
    watched_at: datetime
    action: str  # watch | scrobble | checkin
    type: str  # movie | episode
    movie: Movie | None = None
    episode: Episode | None = None
    show: Show | None = None


@dataclass(frozen=True)
class Watch:
    """One history entry: a movie, or an episode of `show_title`. `runtime_minutes` is the item's runtime
    (episodes fall back to the show's), not time actually watched."""

    history_id: int
    watched_at: datetime
    action: str
    type: str
    title: str | None
    year: int | None
    show_title: str | None
    season: int | None
    episode: int | None
    runtime_minutes: int | None
    trakt_id: int | None
    slug: str | None
    imdb_id: str | None
    tmdb_id: int | None
    show_trakt_id: int | None
    record: dict[str, Any]


@dataclass(frozen=True)
class DeviceCode:
    device_code: str
    user_code: str
    verification_url: str
    expires_in: int
    interval: int


@dataclass(frozen=True)
class TraktToken:
    access_token: str
    refresh_token: str | None
    token_type: str = "bearer"
    expires_in: int | None = None  # seconds from created_at
    scope: str | None = None
    created_at: int | None = None  # unix seconds

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TraktToken:
        if not isinstance(data, dict) or not data.get("access_token"):
            raise ValueError("a Trakt token needs an access_token")
        known = {k: data.get(k) for k in ("access_token", "refresh_token", "token_type", "expires_in", "scope",
                                          "created_at")}
        return cls(**{k: v for k, v in known.items() if v is not None})  # type: ignore[arg-type]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def fresh(self, now: float, leeway: float = 60.0) -> bool:
        """False once within `leeway` seconds of expiry; a token without expiry data is taken as fresh."""
        expires = self.expires_at
        return expires is None or expires.timestamp() - leeway > now

    @property
    def expires_at(self) -> datetime | None:
        if self.created_at is None or self.expires_in is None:
            return None
        return datetime.fromtimestamp(self.created_at + self.expires_in, UTC)
