"""Run a file import: parsed records → one streamed keyed merge; rejects → the quarantine, per file.

All files of one import go through a single `loader.load()` whose rows are produced while COPY consumes
them, so memory stays flat (a read chunk and one record), and the loader's last-one-wins dedupe sees the
whole import: a key repeated across files, or far apart in one file, resolves the same way on every
re-import (separate batches would flip such a row back and forth and touch `_loaded_at`). The price: the
load's transaction and per-table advisory lock last as long as the parse. Rejects are spooled to a temporary file and
replace a file's rows in `raw.quarantine` only when they differ from what is stored (so an identical
re-import leaves the quarantine's ids and `_loaded_at` alone too). Files are named by their name alone (in
`source_file` and the quarantine's locators), so moving the export folder and importing it again changes nothing.
"""

from __future__ import annotations

import hashlib
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psycopg

from tracker.sources.export_files import FormatError, Rejected, printable
from tracker.warehouse import quarantine
from tracker.warehouse.load_log import EventSpan, log_import
from tracker.warehouse.loader import RawTable, load


@dataclass(kw_only=True)
class ImportRun:
    """What every import's summary holds: whose data it loaded, under which run id (its rows' `_run_id`).

    The base of this module's `ImportSummary` (one entity from export files: Netflix, Spotify, YouTube) and
    of the Fitbit export's (fourteen tables, heart-rate readings and timings): their counters differ because
    one loads one table and the other many."""

    person_id: str
    run_id: str


@dataclass(kw_only=True)
class ImportSummary(ImportRun):
    """What one import did: records read, imported (inserted/updated/unchanged), skipped, quarantined."""

    source: str
    entity: str
    files: list[str]
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0  # includes keys repeated within the import (the last occurrence is kept)
    skipped: Counter[str] = field(default_factory=Counter)
    quarantined: Counter[str] = field(default_factory=Counter)
    quarantine_rewritten: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.inserted + self.updated + self.unchanged


def new_run_id(source: str) -> str:
    return f"import__{source}__{datetime.now(UTC):%Y%m%dT%H%M%SZ}__{uuid.uuid4().hex[:6]}"


class _Spool:
    """One file's rejects on disk (memory stays flat), with an order-independent digest of their content."""

    def __init__(self) -> None:
        self.fh = tempfile.SpooledTemporaryFile(max_size=1 << 20)  # noqa: SIM115 - closed in run_import
        self.count, self.digest = 0, 0

    def add(self, rejected: Rejected) -> None:
        r = rejected.quarantined()
        row = (r.locator, _clean(r.reason), _clean(r.raw_text), r.record_at.isoformat() if r.record_at else None)
        self.fh.write(orjson.dumps(row) + b"\n")
        self.count += 1
        self.digest = (self.digest + _row_hash(row)) % (1 << 64)

    def rejected(self) -> Iterator[quarantine.Rejected]:
        self.fh.seek(0)
        for line in self.fh:
            locator, reason, raw_text, at = orjson.loads(line)
            yield quarantine.Rejected(locator, reason, raw_text, datetime.fromisoformat(at) if at else None)


def _clean(text: str) -> str:
    return printable(text)


def _row_hash(row: Sequence[Any]) -> int:
    return int.from_bytes(hashlib.blake2b(orjson.dumps(row), digest_size=8).digest(), "big")


def _stored_digest(conn: psycopg.Connection, scope: dict[str, str]) -> tuple[int, int]:
    """(count, digest) of the quarantine rows already stored for one file, computed like `_Spool`'s."""
    count, digest = 0, 0
    with conn.cursor() as cur:
        for locator, reason, raw_text, at in cur.stream(
                "select locator, reason, raw_text, record_at from raw.quarantine where person_id = %(person_id)s"
                " and source = %(source)s and entity = %(entity)s"
                " and starts_with(coalesce(locator, ''), %(prefix)s)", scope):
            count += 1
            digest = (digest + _row_hash((locator, reason, raw_text,
                                          at.astimezone(UTC).isoformat() if at else None))) % (1 << 64)
    return count, digest


def _drop_path_keyed(conn: psycopg.Connection, scope: dict[str, str], name: str) -> None:
    """Quarantine rows an older version keyed by the file's absolute path (`/…/name:line`) are superseded by
    the name-keyed ones (else moving the export, or upgrading, would keep both)."""
    conn.execute("delete from raw.quarantine where person_id = %(person_id)s and source = %(source)s"
                 " and entity = %(entity)s and starts_with(locator, '/')"
                 " and strpos(locator, %(tail)s) > 0", {**scope, "tail": f"/{name}:"})


def run_import(conn: psycopg.Connection, *, table: RawTable, source: str, entity: str, person_id: str,
               files: Sequence[Path], parse: Callable[[Path], Iterable[Any]], to_row: Callable[[Any, str], tuple],
               skip: Callable[[Any], str | None] = lambda record: None, run_id: str | None = None) -> ImportSummary:
    """Import files into table for one person (see the module docstring).

    `parse(file)` yields records or `Rejected`; `to_row(record, file)` gives the table row; `skip(record)`
    gives a reason to leave a record out (counted in the summary, not quarantined).
    """
    run_id = run_id or new_run_id(source)
    # a file is named by its name alone (in source_file and the quarantine's locators), so moving or
    # renaming the export folder changes nothing on a re-import
    names = [f.name for f in files]
    if len(set(names)) != len(names):
        twice = sorted(n for n, k in Counter(names).items() if k > 1)
        raise FormatError(f"{len(twice)} file name(s) appear more than once (e.g. {twice[0]!r}): import each "
                          "export separately")
    summary = ImportSummary(source=source, entity=entity, person_id=person_id, files=names, run_id=run_id)
    spools = {name: _Spool() for name in names}

    def rows() -> Iterator[tuple]:
        for file, name in zip(files, names, strict=True):
            for item in parse(file):
                summary.read += 1
                if isinstance(item, Rejected):
                    spools[name].add(item)
                    summary.quarantined[item.reason] += 1
                elif reason := skip(item):
                    summary.skipped[reason] += 1
                else:
                    yield to_row(item, name)

    started_at, span = datetime.now(UTC), EventSpan(table)
    try:
        with conn.transaction():  # rows, quarantine and the load log's row commit together
            result = load(conn, table, span.watch(rows()), run_id=run_id)
            summary.inserted, summary.updated, summary.unchanged = result.inserted, result.updated, result.unchanged
            for name, spool in spools.items():
                scope = {"person_id": person_id, "source": source, "entity": entity, "prefix": f"{name}:"}
                _drop_path_keyed(conn, scope, name)
                if _stored_digest(conn, scope) != (spool.count, spool.digest):
                    quarantine.replace(conn, person_id=person_id, source=source, entity=entity, run_id=run_id,
                                       rejected=spool.rejected(), locator_prefix=f"{name}:")
                    summary.quarantine_rewritten = True
            log_import(conn, run_id=run_id, source=source, entity=entity, person_id=person_id,
                       window=span.window(started_at),
                       rows=result.staged, inserted=result.inserted, updated=result.updated, deleted=0,
                       quarantined=sum(summary.quarantined.values()), started_at=started_at)
    finally:
        for spool in spools.values():
            spool.fh.close()
    return summary
