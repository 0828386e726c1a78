"""Sync the configured people (id, IANA time zone, accounts, locations) into raw.tracker__people."""

from __future__ import annotations

import psycopg

from tracker.config import TrackerConfig
from tracker.warehouse.loader import LoadResult, RawTable, load

PEOPLE = RawTable(schema="raw", name="tracker__people",
                  columns={"person_id": "text", "timezone": "text", "config": "jsonb"}, key=("person_id",))


def sync_people(conn: psycopg.Connection, config: TrackerConfig, run_id: str) -> LoadResult:
    """Upsert every configured person; people removed from the config keep their row (their data stays)."""
    rows = [(p.id, p.timezone, p.model_dump(mode="json")) for p in config.people]
    return load(conn, PEOPLE, rows, run_id=run_id)
