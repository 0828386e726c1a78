"""The Open-Meteo raw table, as warehouse/ddl/010_open_meteo.sql declares it:
columns in COPY order, key = primary key."""

from __future__ import annotations

from tracker.warehouse.loader import RawTable

HOURLY = RawTable.from_ddl("open_meteo__hourly", window_column="observed_at")
