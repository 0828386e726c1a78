"""The Last.fm raw table, as warehouse/ddl/045_lastfm_trakt.sql declares it:
columns in COPY order, key = primary key."""

from __future__ import annotations

from tracker.warehouse.loader import RawTable

SCROBBLES = RawTable.from_ddl("lastfm__scrobbles", window_column="played_at")
