"""One load of one source's records into one raw table: validate → quarantine → load, and its summary.

Every API extract ends here: `load_validated` splits records into rows and rejects, `load_checked` merges
(or replaces) the rows, replaces the quarantine of the same scope and appends the load's row to the load log
(raw.tracker__load_log, tracker.warehouse.load_log) in one transaction, and both answer one `Load` — the
figures every extract, DAG task and `tracker extract` report. A load that rolls back leaves no log row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import psycopg

from tracker.warehouse import quarantine
from tracker.warehouse.load_log import log_load
from tracker.warehouse.loader import LoadResult, RawTable, Window, load, replace_window
from tracker.warehouse.quarantine import Rejected

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class QuarantineScope:
    """Where a load's rejects live: replaced per source, entity, person, window (and locator prefix)."""

    source: str
    entity: str
    person_id: str
    start: datetime
    end: datetime
    locator_prefix: str = ""


@dataclass
class Load:
    """What one load did: rows offered, their fate, and the records quarantined instead."""

    source: str
    entity: str
    person_id: str
    start: datetime | date
    end: datetime | date
    scope: str = ""        # a finer scope inside the person (a location), if any
    rows: int = 0          # rows offered to the table
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    kept: int = 0          # rows in days the answer had nothing for: kept, not deleted
    outside: int = 0       # offered rows outside the window: not loaded, another window's
    quarantined: int = 0

    @classmethod
    def of(cls, result: LoadResult, *, source: str, entity: str, person_id: str, window: Window,
           scope: str = "", quarantined: int = 0) -> Load:
        return cls(source, entity, person_id, window.start, window.end, scope, result.staged, result.inserted,
                   result.updated, result.deleted, result.kept, result.outside, quarantined)

    def as_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(self).items()}

    def __str__(self) -> str:
        who = f"{self.person_id}/{self.scope}" if self.scope else self.person_id
        return (f"{self.source} {self.entity} {who} [{self.start.isoformat()}, {self.end.isoformat()}): "
                f"{self.rows} rows, {self.inserted} inserted, {self.updated} updated, {self.deleted} deleted, "
                f"{self.kept} kept, {self.outside} outside, {self.quarantined} quarantined")


def load_checked(conn: psycopg.Connection, table: RawTable, rows: Iterable[Sequence[Any]],
                 rejected: Iterable[Rejected], *, run_id: str, window: Window, quarantine_scope: QuarantineScope,
                 replace: bool = False, scope: str = "", started_at: datetime | None = None) -> Load:
    """Load checked rows, replace the quarantine of the same scope and log the load, in one transaction.

    `rows` is read to the end before anything is written (an API's paging and retries never run under the
    table's lock), and only then `rejected`, so a generator may collect rejects while it yields rows.
    `replace` uses the delete-the-window fast path (append-only sample tables) instead of the keyed merge.
    `started_at` (default: now) is when the load began: the log's duration includes reading the rows.
    """
    started_at = started_at or datetime.now(UTC)
    rows = list(rows)
    rejected = list(rejected)
    q = quarantine_scope
    with conn.transaction():
        result = (replace_window if replace else load)(conn, table, rows, run_id=run_id, window=window)
        n_bad = quarantine.replace(conn, person_id=q.person_id, source=q.source, entity=q.entity, run_id=run_id,
                                   rejected=rejected, window_start=q.start, window_end=q.end,
                                   locator_prefix=q.locator_prefix)
        done = Load.of(result, source=q.source, entity=q.entity, person_id=q.person_id, window=window,
                       scope=scope, quarantined=n_bad)
        log_load(conn, done, run_id=run_id, started_at=started_at, finished_at=datetime.now(UTC))
    log.info("%s", done)
    if done.kept:
        log.warning("%s %s %s: the answer had nothing for some days of the window; kept the %d rows the "
                    "warehouse holds for them (an empty answer never deletes)", q.source, q.entity, q.person_id,
                    done.kept)
    return done


def load_validated(conn: psycopg.Connection, table: RawTable, records: Iterable[T], *,
                   to_row: Callable[[T], Sequence[Any]], invalid: Callable[[T], str | None],
                   reject: Callable[[T, str], Rejected], run_id: str, window: Window,
                   quarantine_scope: QuarantineScope, scope: str = "") -> Load:
    """Validate each record (`invalid` → reason or None), quarantine the failures (`reject` builds their
    quarantine row), load the rest (`to_row` → COPY tuple): see `load_checked`."""
    started_at = datetime.now(UTC)  # reading `records` (an API's pages) is part of the load's time
    rows, rejected = [], []
    for record in records:
        if reason := invalid(record):
            rejected.append(reject(record, reason))
        else:
            rows.append(to_row(record))
    return load_checked(conn, table, rows, rejected, run_id=run_id, window=window,
                        quarantine_scope=quarantine_scope, scope=scope, started_at=started_at)
