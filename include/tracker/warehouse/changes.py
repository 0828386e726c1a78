"""Change log of the heart-rate samples (ddl/021_fitbit_heart_rate_changes.sql): which person and time range
a load may have changed, written in the load's own transaction so it commits (or rolls back) with it.

`int_heart_rate_samples_aggregated_to_minutes` rebuilds the logged ranges of every transaction it has not
seen yet — by transaction id against the snapshot xmin of its previous run, not by load time — so a load that commits
after a later-started one is never skipped, and deleted samples leave silver on the next run.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

import psycopg

if TYPE_CHECKING:   # loader calls record_window: no import cycle at run time
    from tracker.warehouse.loader import RawTable, Window

LOGGED_TABLES = {"raw.fitbit__heart_rate": "raw.fitbit__heart_rate_changes"}


def record(cur: psycopg.Cursor | psycopg.Connection, *, person_id: str, changed_from: datetime,
           changed_to: datetime, run_id: str | None = None) -> None:
    """Log that heart-rate samples of `person_id` in [changed_from, changed_to] may have changed."""
    cur.execute("insert into raw.fitbit__heart_rate_changes (person_id, changed_from, changed_to, _run_id)"
                " values (%s, %s, %s, %s)", (person_id, changed_from, changed_to, run_id))


def record_window(cur: psycopg.Cursor, table: RawTable, window: Window, days: Sequence[date],
                  run_id: str | None = None) -> None:
    """`loader.replace_window`'s call: the window's answered UTC `days` (deleted and re-inserted) are logged
    for a table with a change log; any other table, or a replace that touched no day, logs nothing."""
    if table.qualified not in LOGGED_TABLES or not days:
        return
    if "person_id" not in window.scope:
        raise ValueError(f"{table.qualified}: a replaced window must be scoped to one person")
    first = datetime.combine(min(days), time(), UTC)
    last = datetime.combine(max(days), time(), UTC) + timedelta(days=1)
    record(cur, person_id=window.scope["person_id"], changed_from=max(window.start, first),
           changed_to=min(window.end, last), run_id=run_id)
