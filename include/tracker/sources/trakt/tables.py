"""The Trakt raw table, as warehouse/ddl/045_lastfm_trakt.sql declares it:
columns in COPY order, key = primary key."""

from __future__ import annotations

from tracker.warehouse.loader import RawTable

HISTORY = RawTable.from_ddl("trakt__history", window_column="watched_at")
