"""The Spotify raw table, as warehouse/ddl/031_spotify.sql declares it: columns in COPY order, key = primary key."""

from __future__ import annotations

from tracker.warehouse.loader import RawTable

SPOTIFY = RawTable.from_ddl("spotify__streams")
