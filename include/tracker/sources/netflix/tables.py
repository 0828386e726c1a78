"""The Netflix raw table, as warehouse/ddl/030_netflix.sql declares it: columns in COPY order, key = primary key."""

from __future__ import annotations

from tracker.warehouse.loader import RawTable

NETFLIX = RawTable.from_ddl("netflix__viewing_activity")
