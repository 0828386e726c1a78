"""The load log (raw.tracker__load_log, ddl/060_load_log.sql): one row per `Load`, written inside the load's
own transaction — by `tracker.warehouse.loads.load_checked` for every API load, by the file imports (Netflix,
Spotify, YouTube, the Fitbit export) for each of their loads — so the log holds exactly the loads that committed.

An API load's window is its run's data interval; an import has none, so its window is the span of the rows it
offered, by the table's event column (`EventSpan`): [earliest, latest] as a half-open window."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

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


class EventSpan:
    """The earliest and latest event time of the rows (COPY tuples of `table`) that pass through `watch`."""

    def __init__(self, table: RawTable) -> None:
        column, self.kind = table.event_column()
        self.index = list(table.columns).index(column) if column else None
        self.first: datetime | date | None = None
        self.last: datetime | date | None = None

    def see(self, row: Sequence[Any]) -> None:
        if self.index is None or (value := row[self.index]) is None:
            return
        if self.first is None or value < self.first:
            self.first = value
        if self.last is None or value > self.last:
            self.last = value

    def over(self, rows: Iterable[Sequence[Any]]) -> EventSpan:
        for row in rows:
            self.see(row)
        return self

    def watch(self, rows: Iterable[Sequence[Any]]) -> Iterator[Sequence[Any]]:
        for row in rows:
            self.see(row)
            yield row

    def window(self, default: datetime) -> tuple[datetime, datetime]:
        return half_open(self.first, self.last, default, self.kind)


def half_open(first: datetime | date | None, last: datetime | date | None, default: datetime,
              kind: str | None = "timestamptz") -> tuple[datetime, datetime]:
    """[first, last] as a half-open window of instants; `default` (zero length) when there is no span."""
    if first is None or last is None:
        return default, default
    step = timedelta(days=1) if kind == "date" else timedelta(microseconds=1)
    return _instant(first), _instant(last) + step


def log_import(conn: psycopg.Connection, *, run_id: str, source: str, entity: str, person_id: str,
               window: tuple[datetime, datetime], rows: int, inserted: int, updated: int, deleted: int,
               quarantined: int, started_at: datetime, scope: str = "") -> None:
    """Append one import load's row (inside the transaction that wrote its rows). `window`: the span of the
    rows offered (`EventSpan.window`); `scope` names the file when an import loads a table file by file."""
    from tracker.warehouse.loads import Load  # loads imports this module

    done = Load(source, entity, person_id, *window, scope, rows=rows, inserted=inserted, updated=updated,
                deleted=deleted, quarantined=quarantined)
    log_load(conn, done, run_id=run_id, started_at=started_at, finished_at=datetime.now(UTC))
