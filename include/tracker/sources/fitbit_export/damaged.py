"""Export files that cannot be read at all (cut off, corrupt zip member, not UTF-8): never a reason to delete.

A damaged file is not imported: the rows an earlier import loaded from it stay as they are (a re-import must
never replace rows we hold with fewer because the new copy is broken), and so do that earlier import's
per-record quarantine rows. The damage itself is one quarantine row whose locator is the file's name
alone; it is replaced when the file is damaged again and removed when a good copy is imported (the file's
normal quarantine replacement covers it, and an unchanged heart-rate file clears it explicitly).
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from tracker.warehouse.loader import RawTable

_INSERT = ("insert into raw.quarantine (person_id, source, entity, locator, reason, raw_text, _run_id)"
           " values (%s, %s, %s, %s, %s, %s, %s)")
_DELETE = ("delete from raw.quarantine where person_id = %s and source = %s and entity = %s"
           " and locator = any(%s)")


@dataclass(frozen=True)
class DamagedFile:
    """One file left out: where it is in the export, why, and how many rows of it an earlier import holds."""

    path: str
    entity: str
    reason: str
    kept_rows: int

    @property
    def outcome(self) -> str:
        if self.kept_rows:
            return f"the {self.kept_rows:,} rows loaded from it earlier are kept as before"
        return "nothing was loaded from it"


def earlier_rows(conn: psycopg.Connection, table: RawTable, person_id: str, source: str, name: str) -> int:
    """Rows of table that came from the file `name` (source_file) for this person and source."""
    return conn.execute(f"select count(*) from {table.qualified} where person_id = %s and source = %s"  # noqa: S608
                        " and source_file = %s", (person_id, source, name)).fetchone()[0]


def record(conn: psycopg.Connection, *, person_id: str, source: str, run_id: str, damaged: DamagedFile,
           name: str, raw_text: str) -> None:
    """Replace the file's damage row (locator = its name); its per-record rows from before are left alone."""
    with conn.transaction():
        conn.execute(_DELETE, (person_id, source, damaged.entity, [name]))
        conn.execute(_INSERT, (person_id, source, damaged.entity, name, f"{damaged.reason}; {damaged.outcome}",
                               raw_text.replace("\x00", "\ufffd"), run_id))


def clear(conn: psycopg.Connection, *, person_id: str, source: str, entity: str, names: list[str]) -> None:
    """Remove the damage rows of files that were read fine this time (but not reloaded: unchanged)."""
    if names:
        conn.execute(_DELETE, (person_id, source, entity, names))
