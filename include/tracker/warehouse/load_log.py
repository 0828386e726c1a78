"""The load log (raw.tracker__load_log, ddl/060_load_log.sql): one row per `Load`, written inside the load's
own transaction by `tracker.warehouse.loads.load_checked`, so the log holds exactly the loads that committed."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING

import psycopg

from tracker.warehouse.loader import RawTable, copy_rows

if TYPE_CHECKING:
    from tracker.warehouse.loads import Load

LOAD_LOG = RawTable.from_ddl("tracker__load_log")  # as ddl/060_load_log.sql declares it


def _instant(value: datetime | date) -> datetime:
    """A window bound as an instant: a date bound is its UTC midnight."""
    return value if isinstance(value, datetime) else datetime.combine(value, time(), UTC)


def log_load(conn: psycopg.Connection, done: Load, *, run_id: str, started_at: datetime,
             finished_at: datetime) -> None:
    """Append `done`'s row; call it inside the transaction that wrote the load's rows."""
    row = (run_id, done.source, done.entity, done.person_id, done.scope, _instant(done.start), _instant(done.end),
           done.rows, done.inserted, done.updated, done.deleted, done.kept, done.outside, done.quarantined,
           started_at, finished_at, run_id)
    with conn.cursor() as cur:
        copy_rows(cur, LOAD_LOG.ident, {**LOAD_LOG.columns, "_run_id": "text"}, [row])
