"""Last.fm → raw.lastfm__scrobbles for every person with `accounts.lastfm`, bounded by the window."""

from __future__ import annotations

import orjson
import psycopg

from tracker.config import TrackerConfig
from tracker.sources.accounts import people_with_account
from tracker.sources.contract import Clients, client_for
from tracker.sources.lastfm.models import Scrobble
from tracker.sources.lastfm.tables import SCROBBLES
from tracker.warehouse import quarantine
from tracker.warehouse.loader import Window
from tracker.warehouse.loads import Load, QuarantineScope, load_validated
from tracker.windows import ExtractWindow, plain_utc

SOURCE = ACCOUNT = "lastfm"


def invalid_reason(s: Scrobble) -> str | None:
    if not s.artist.strip():
        return "no artist name"
    if not s.track.strip():
        return "no track name"
    return None


def extract_and_load(conn: psycopg.Connection, clients: Clients, config: TrackerConfig, window: ExtractWindow,
                     run_id: str) -> list[Load]:
    """Every person with a Last.fm user name; `clients(user)` builds their client."""
    window = plain_utc(window)
    return [load_validated(
        conn, SCROBBLES, client_for(clients, user).recent_tracks(window.start, window.end),
        to_row=lambda s, p=person.id, user=user: (p, s.played_at, s.artist, s.track, s.album, s.artist_mbid,
                                                  s.track_mbid, s.album_mbid, s.url, s.loved, user, s.record),
        invalid=invalid_reason,
        reject=lambda s, reason, user=user: quarantine.Rejected(
            locator=f"{user}@{s.played_at.isoformat()}", reason=reason, record_at=s.played_at,
            raw_text=orjson.dumps(s.record).decode()),
        run_id=run_id, window=Window(window.start, window.end, {"person_id": person.id}),
        quarantine_scope=QuarantineScope(SOURCE, "scrobbles", person.id, window.start, window.end))
        for person, user in people_with_account(config, ACCOUNT)]
