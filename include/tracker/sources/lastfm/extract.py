"""Last.fm → raw.lastfm__scrobbles for every person with `accounts.lastfm`, bounded by the window."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import orjson
import psycopg

from tracker.config import TrackerConfig
from tracker.sources.accounts import people_with_account
from tracker.sources.lastfm.client import LastfmClient
from tracker.sources.lastfm.models import Scrobble
from tracker.warehouse import quarantine
from tracker.warehouse.loader import LoadResult, RawTable, Window, load
from tracker.windows import ExtractWindow, plain_utc

log = logging.getLogger(__name__)

ACCOUNT = "lastfm"

SCROBBLES = RawTable(
    schema="raw", name="lastfm__scrobbles",
    columns={"person_id": "text", "played_at": "timestamptz", "artist": "text", "track": "text", "album": "text",
             "artist_mbid": "text", "track_mbid": "text", "album_mbid": "text", "url": "text", "loved": "bool",
             "lastfm_user": "text", "record": "jsonb"},
    key=("person_id", "played_at", "artist", "track"),
    window_column="played_at",
)


def invalid_reason(s: Scrobble) -> str | None:
    if not s.artist.strip():
        return "no artist name"
    if not s.track.strip():
        return "no track name"
    return None


@dataclass
class ScrobbleLoad:
    person_id: str
    result: LoadResult
    quarantined: int


def extract_and_load(conn: psycopg.Connection, client_for: Callable[[str], LastfmClient], config: TrackerConfig,
                     window: ExtractWindow, run_id: str) -> list[ScrobbleLoad]:
    """`client_for(user)` builds the client for a person's Last.fm user name."""
    window = plain_utc(window)
    loads = []
    for person, user in people_with_account(config, ACCOUNT):
        good, rejected = [], []
        for s in client_for(user).recent_tracks(window.start, window.end):
            if reason := invalid_reason(s):
                rejected.append(quarantine.Rejected(
                    locator=f"{user}@{s.played_at.isoformat()}", reason=reason, record_at=s.played_at,
                    raw_text=orjson.dumps(s.record).decode()))
                continue
            good.append((person.id, s.played_at, s.artist, s.track, s.album, s.artist_mbid, s.track_mbid,
                         s.album_mbid, s.url, s.loved, user, s.record))
        result = load(conn, SCROBBLES, good, run_id=run_id,
                      window=Window(window.start, window.end, {"person_id": person.id}))
        n_bad = quarantine.replace(conn, person_id=person.id, source="lastfm", entity="scrobbles", run_id=run_id,
                                   rejected=rejected, window_start=window.start, window_end=window.end)
        log.info("lastfm %s (%s) %s: %s, quarantined %d", person.id, user, window, result, n_bad)
        loads.append(ScrobbleLoad(person.id, result, n_bad))
    return loads
