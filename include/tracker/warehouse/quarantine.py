"""The quarantine: records that failed validation, with where they came from and why."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg import sql

from tracker.warehouse.loader import copy_rows

COLUMNS = {"person_id": "text", "source": "text", "entity": "text", "window_start": "timestamptz",
           "window_end": "timestamptz", "locator": "text", "reason": "text", "raw_text": "text",
           "_run_id": "text"}


@dataclass(frozen=True)
class Rejected:
    locator: str
    reason: str
    raw_text: str


def replace(conn: psycopg.Connection, *, person_id: str, source: str, entity: str, run_id: str,
            rejected: Iterable[Rejected], window_start: datetime | None = None,
            window_end: datetime | None = None, locator_prefix: str | None = None) -> int:
    """Replace the quarantine rows of one load scope (a window, or a file via locator_prefix).

    Replacing rather than appending keeps reruns idempotent: the same bad input leaves the same rows.
    """
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(
            "delete from raw.quarantine where person_id = %s and source = %s and entity = %s"
            " and window_start is not distinct from %s and window_end is not distinct from %s"
            " and (%s::text is null or locator like %s::text || '%%')",
            (person_id, source, entity, window_start, window_end, locator_prefix, locator_prefix))
        rows = ((person_id, source, entity, window_start, window_end, r.locator, r.reason, r.raw_text, run_id)
                for r in rejected)
        return copy_rows(cur, sql.Identifier("raw", "quarantine"), COLUMNS, rows)
