"""The YouTube raw table, as warehouse/ddl/032_youtube.sql declares it: columns in COPY order, key = primary key."""

from __future__ import annotations

from tracker.warehouse.loader import RawTable

YOUTUBE = RawTable.from_ddl("youtube__watch_history")
