"""The quarantine: records that failed validation, with where they came from and why."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg import sql

from tracker.warehouse.loader import copy_rows

COLUMNS = {"person_id": "text", "source": "text", "entity": "text", "window_start": "timestamptz",
           "window_end": "timestamptz", "locator": "text", "record_at": "timestamptz", "reason": "text",
           "raw_text": "text", "_run_id": "text"}


@dataclass(frozen=True)
class Rejected:
    locator: str
    reason: str
    raw_text: str
    record_at: datetime | None = None


def replace(conn: psycopg.Connection, *, person_id: str, source: str, entity: str, run_id: str,
            rejected: Iterable[Rejected], window_start: datetime | None = None,
            window_end: datetime | None = None, locator_prefix: str = "") -> int:
    """Replace the quarantine rows of one load's scope and return how many were written.

    The scope is the records under locator_prefix (a file, a location) and, for windowed loads, whose own
    time lies in [window_start, window_end). A record without a time of its own cannot be placed in a
    window: it is replaced where it was written for the same window, and wherever the same record (reason
    and raw text) was quarantined by another, overlapping window — so a daily run with a trailing re-pull
    keeps it once, not once per run. Replacing rather than appending keeps reruns and overlapping windows
    idempotent: the same bad input always leaves the same rows.
    """
    if (window_start is None) != (window_end is None):
        raise ValueError("give both window_start and window_end, or neither")
    rejected = list(rejected) if window_start is not None else rejected
    timeless = sorted({(r.reason, r.raw_text) for r in rejected if r.record_at is None}) \
        if window_start is not None else []
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(
            "delete from raw.quarantine where person_id = %(p)s and source = %(s)s and entity = %(e)s"
            " and starts_with(coalesce(locator, ''), %(prefix)s)"
            " and (%(start)s::timestamptz is null or (record_at >= %(start)s and record_at < %(end)s)"
            "      or (record_at is null and window_start = %(start)s and window_end = %(end)s)"
            "      or (record_at is null and (reason, raw_text) in"
            "          (select * from unnest(%(reasons)s::text[], %(texts)s::text[]))))",
            {"p": person_id, "s": source, "e": entity, "prefix": locator_prefix, "start": window_start,
             "end": window_end, "reasons": [r for r, _ in timeless], "texts": [t for _, t in timeless]})
        rows = ((person_id, source, entity, window_start, window_end, r.locator, r.record_at, r.reason,
                 r.raw_text, run_id) for r in rejected)
        return copy_rows(cur, sql.Identifier("raw", "quarantine"), COLUMNS, rows)
