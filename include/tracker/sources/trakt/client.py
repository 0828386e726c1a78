"""Trakt client: the user's watch history (`GET /sync/history`, extended=full) for a half-open UTC window."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from tracker.http import HttpClient, MalformedResponseError
from tracker.sources.trakt.models import SOURCE, HistoryItem, Watch
from tracker.sources.validation import parse

log = logging.getLogger(__name__)

PAGE_LIMIT = 100
API_VERSION = "2"


def trakt_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class TraktClient:
    def __init__(self, client_id: str, access_token: str, base_url: str = "https://api.trakt.tv",
                 http: HttpClient | None = None, credential: str | None = "trakt") -> None:
        self.base_url = base_url.rstrip("/")
        self.http = http or HttpClient(credential=credential)
        self.headers = {"Content-Type": "application/json", "trakt-api-version": API_VERSION,
                        "trakt-api-key": client_id, "Authorization": f"Bearer {access_token}"}

    def history(self, start: datetime, end: datetime) -> list[Watch]:
        """Every history entry with start <= watched_at < end, oldest first (all pages)."""
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("start and end must be timezone-aware")
        if start >= end:
            return []
        params = {"start_at": trakt_time(start), "end_at": trakt_time(end), "limit": PAGE_LIMIT,
                  "extended": "full"}
        rows: dict[int, Watch] = {}
        page, pages = 1, 1
        while page <= pages:
            resp = self.http.request_json("GET", f"{self.base_url}/sync/history", params={**params, "page": page},
                                          headers=self.headers)
            count = resp.headers.get("X-Pagination-Page-Count", "")
            pages = int(count) if count.isdigit() else page
            if not isinstance(resp.data, list):
                raise MalformedResponseError("history", f"expected a list, got {type(resp.data).__name__}",
                                             source=SOURCE)
            for i, item in enumerate(resp.data):
                row = watch_row(parse(HistoryItem, item, source=SOURCE, where=f"history[{i}]"), item)
                if start <= row.watched_at < end:
                    rows[row.history_id] = row
            page += 1
        log.info("Trakt history %s..%s: %d entries in %d page(s)", start, end, len(rows), pages)
        return sorted(rows.values(), key=lambda r: (r.watched_at, r.history_id))


def watch_row(m: HistoryItem, item: dict[str, Any]) -> Watch:
    """A movie entry, or an episode entry with its show (an episode's year is its show's)."""
    show = m.show if m.movie is None else None
    media = m.movie or m.episode
    season, number = (m.episode.season, m.episode.number) if m.movie is None and m.episode else (None, None)
    runtime = (media.runtime if media else None) or (show.runtime if show else None)
    ids = media.ids if media else None
    year = m.movie.year if m.movie else (show.year if show else None)
    return Watch(
        history_id=m.id, watched_at=m.watched_at.astimezone(UTC), action=m.action, type=m.type,
        title=media.title if media else None, year=year,
        show_title=show.title if show else None, season=season, episode=number, runtime_minutes=runtime,
        trakt_id=ids.trakt if ids else None, slug=ids.slug if ids else None, imdb_id=ids.imdb if ids else None,
        tmdb_id=ids.tmdb if ids else None, show_trakt_id=show.ids.trakt if show else None, record=item)
