"""Trakt → raw.trakt__history, bounded by the window.

A Trakt access token belongs to one Trakt user, so one connection serves one person: the one whose config has
`accounts.trakt` (the Trakt user name, for the record). None → nothing to do; more than one → an error (give
each their own connection and DAG run).
"""

from __future__ import annotations

import orjson
import psycopg

from tracker.config import TrackerConfig
from tracker.sources.accounts import people_with_account
from tracker.sources.contract import Clients, client_for
from tracker.sources.trakt.models import Watch
from tracker.sources.trakt.tables import HISTORY
from tracker.warehouse import quarantine
from tracker.warehouse.loader import Window
from tracker.warehouse.loads import Load, QuarantineScope, load_validated
from tracker.windows import ExtractWindow, plain_utc

SOURCE = ACCOUNT = "trakt"
MEDIA_TYPES = frozenset({"movie", "episode"})
MAX_RUNTIME_MINUTES = 24 * 60


def invalid_reason(w: Watch) -> str | None:
    if w.type not in MEDIA_TYPES:
        return f"type={w.type!r} not one of {sorted(MEDIA_TYPES)}"
    if w.type == "episode" and (w.show_title is None or w.season is None or w.episode is None):
        return "episode without its show, season or number"
    if w.runtime_minutes is not None and not 0 <= w.runtime_minutes <= MAX_RUNTIME_MINUTES:
        return f"runtime_minutes={w.runtime_minutes} outside [0, {MAX_RUNTIME_MINUTES}]"
    return None


def extract_and_load(conn: psycopg.Connection, clients: Clients, config: TrackerConfig, window: ExtractWindow,
                     run_id: str) -> list[Load]:
    window = plain_utc(window)
    people = people_with_account(config, ACCOUNT)
    if len(people) > 1:
        raise ValueError(f"{len(people)} people have a trakt account ({[p.id for p, _ in people]}), but one Trakt "
                         "connection holds one user's token")
    return [load_validated(
        conn, HISTORY, client_for(clients, user).history(window.start, window.end),
        to_row=lambda w, p=person.id: (p, w.history_id, w.watched_at, w.action, w.type, w.title, w.year,
                                       w.show_title, w.season, w.episode, w.runtime_minutes, w.trakt_id, w.slug,
                                       w.imdb_id, w.tmdb_id, w.show_trakt_id, w.record),
        invalid=invalid_reason,
        reject=lambda w, reason: quarantine.Rejected(
            locator=f"history/{w.history_id}", reason=reason, record_at=w.watched_at,
            raw_text=orjson.dumps(w.record).decode()),
        run_id=run_id, window=Window(window.start, window.end, {"person_id": person.id}),
        quarantine_scope=QuarantineScope(SOURCE, "history", person.id, window.start, window.end))
        for person, user in people]
