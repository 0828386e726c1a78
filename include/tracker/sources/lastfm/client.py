"""Last.fm client: the user's scrobbles (`user.getRecentTracks`) for a half-open UTC window [start, end)."""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime
from typing import Any

from tracker.http import HttpClient, MalformedResponseError
from tracker.sources.lastfm.errors import LastfmHttp, error_code, error_for
from tracker.sources.lastfm.models import SOURCE, RecentTracksResponse, Scrobble, TrackItem
from tracker.sources.validation import parse

log = logging.getLogger(__name__)

PAGE_LIMIT = 200  # Last.fm's maximum


def _mbid(value: str | None) -> str | None:
    return value or None  # Last.fm sends "" for unknown MusicBrainz ids


class LastfmClient:
    def __init__(self, api_key: str, user: str, base_url: str = "https://ws.audioscrobbler.com/2.0/",
                 http: HttpClient | None = None, credential: str | None = "lastfm") -> None:
        self.api_key = api_key
        self.user = user
        self.base_url = base_url
        self.http = http or LastfmHttp(credential=credential)
        self.credential = credential  # labels what to fix when the key is refused (a bare name: a connection)

    def recent_tracks(self, start: datetime, end: datetime) -> list[Scrobble]:
        """Every scrobble with start <= played_at < end, oldest first; the now-playing item is skipped.

        `from` is sent as floor(start) and `to` as ceil(end) in unix seconds and the rows filtered again
        here, so the answer is right whether Last.fm treats `to` as inclusive or exclusive.
        """
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("start and end must be timezone-aware")
        if start >= end:
            return []
        params = {"method": "user.getrecenttracks", "user": self.user, "api_key": self.api_key, "format": "json",
                  "limit": PAGE_LIMIT, "from": math.floor(start.timestamp()), "to": math.ceil(end.timestamp())}
        rows: dict[tuple[int, str, str], Scrobble] = {}
        page, pages = 1, 1
        while page <= pages:
            body = self.http.get_json(self.base_url, {**params, "page": page})
            if found := error_code(body):  # an error body sent with HTTP 200
                raise error_for(*found, credential=self.credential)
            recent = parse(RecentTracksResponse, body, source=SOURCE).recenttracks
            pages = recent.attr.totalPages
            for i, item in enumerate(recent.tracks):
                track = parse(TrackItem, item, source=SOURCE, where=f"recenttracks.track[{i}]")
                if track.now_playing:
                    continue
                if track.date is None:
                    raise MalformedResponseError(f"recenttracks.track[{i}].date", "missing on a scrobble",
                                                 source=SOURCE)
                row = _row(track, track.date.uts, item)
                if start <= row.played_at < end:
                    rows[(track.date.uts, row.artist, row.track)] = row
            page += 1
        log.info("Last.fm %s %s..%s: %d scrobbles in %d page(s)", self.user, start, end, len(rows), pages)
        return sorted(rows.values(), key=lambda r: (r.played_at, r.artist, r.track))


def _row(track: TrackItem, uts: int, item: dict[str, Any]) -> Scrobble:
    return Scrobble(
        played_at=datetime.fromtimestamp(uts, UTC), artist=track.artist.label or "",
        track=track.name, album=track.album.label if track.album else None,
        artist_mbid=_mbid(track.artist.mbid), track_mbid=_mbid(track.mbid),
        album_mbid=_mbid(track.album.mbid) if track.album else None, url=track.url,
        loved=None if track.loved is None else track.loved == "1", record=item)
