"""The rows' canonical content: one definition shared by the archive, the restore check and `tracker fingerprint`.

A partition's content is PostgreSQL's own CSV rendering of its rows (every column, in table order) under fixed
session settings (UTC, ISO dates, shortest exact floats, hex bytea), sorted by the key and then every other
orderable column with text in the "C" collation — so the same rows give the same bytes on any server, and a
digest of those bytes proves a restore gave back exactly what was archived. The stream is read once: it is
hashed and parsed to Arrow at the same time, so the digest is of what went into the Parquet file.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import psycopg
from psycopg import sql

from tracker.archive.tables import ArchiveTable

SESSION = ("set local timezone = 'UTC'", "set local datestyle = 'ISO, YMD'", "set local extra_float_digits = 1",
           "set local intervalstyle = 'postgres'", "set local bytea_output = 'hex'",
           "set local work_mem = '64MB'")  # the sort of a month of samples in memory, not on disk
_UNORDERABLE = {"json", "xml", "point", "line", "lseg", "box", "path", "polygon", "circle"}
_TEXT = {"text", "character varying", "character", "name", "citext"}


@dataclass(frozen=True)
class Column:
    name: str
    type: str           # format_type(): "timestamp with time zone", "numeric(12,4)", "jsonb", …
    identity: bool = False   # generated always as identity: inserts need `overriding system value`

    @property
    def base(self) -> str:
        return self.type.split("(")[0].strip()


def columns(conn: psycopg.Connection, schema: str, name: str) -> list[Column]:
    """The table's columns in table order (load metadata included); [] when the table does not exist."""
    rows = conn.execute(
        "select a.attname, format_type(a.atttypid, a.atttypmod), a.attidentity = 'a' from pg_attribute a"
        " join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = %s and c.relname = %s and a.attnum > 0 and not a.attisdropped order by a.attnum",
        (schema, name)).fetchall()
    return [Column(*r) for r in rows]


def order_by(table: ArchiveTable, cols: list[Column]) -> sql.Composable:
    """Key columns first, then every other orderable column (ties on a keyless table stay deterministic)."""
    by_name = {c.name: c for c in cols}
    names = [k for k in table.key if k in by_name] + [c.name for c in cols if c.name not in table.key]
    parts = []
    for name in names:
        c = by_name[name]
        if c.base in _UNORDERABLE:
            continue
        collate = sql.SQL(' collate "C"') if c.base in _TEXT else sql.SQL("")
        parts.append(sql.SQL("{}{}").format(sql.Identifier(name), collate))
    return sql.SQL(", ").join(parts)


def month_bounds(month: str, kind: str | None) -> tuple[Any, Any]:
    """[first day, first day of next month) of `YYYY-MM`, as UTC instants (timestamptz) or dates."""
    year, mon = int(month[:4]), int(month[5:7])
    lo, hi = date(year, mon, 1), date(year + (mon == 12), mon % 12 + 1, 1)
    if kind == "timestamptz":
        return datetime(lo.year, lo.month, 1, tzinfo=UTC), datetime(hi.year, hi.month, 1, tzinfo=UTC)
    return lo, hi


def partition_filter(table: ArchiveTable, partition: str) -> sql.Composable:
    """The `where` condition of one partition (`YYYY-MM`, or `all`), with literal bounds (COPY takes no
    parameters)."""
    if partition == "all" or not table.monthly:
        return sql.SQL("true")
    lo, hi = month_bounds(partition, table.event_type)
    cast = sql.SQL("timestamptz" if table.event_type == "timestamptz" else "date")
    return sql.SQL("{c} >= {lo}::{t} and {c} < {hi}::{t}").format(
        c=sql.Identifier(table.event_column), lo=sql.Literal(lo.isoformat()), hi=sql.Literal(hi.isoformat()), t=cast)


def select_rows(source: sql.Composable, table: ArchiveTable, cols: list[Column], partition: str) -> sql.Composed:
    """The canonical query of one partition read from `source` (the table, or a restore's stage)."""
    return sql.SQL("select {cols} from {src} where {where} order by {order}").format(
        cols=sql.SQL(", ").join(sql.Identifier(c.name) for c in cols), src=source,
        where=partition_filter(table, partition), order=order_by(table, cols))


def set_session(cur: psycopg.Cursor) -> None:
    for statement in SESSION:
        cur.execute(statement)


def copy_csv(cur: psycopg.Cursor, query: sql.Composable, counted: list[int] | None = None) -> Iterator[bytes]:
    """The query's rows as PostgreSQL CSV bytes, streamed in ~1 MiB chunks (call inside a transaction: SESSION is
    `set local`). Rows are read straight from libpq (psycopg's Copy iterator costs a wait per row, half the
    time of a big export); `counted` receives the row count the server reports."""
    from psycopg import pq

    set_session(cur)
    conn = cur.connection
    statement = sql.SQL("copy ({}) to stdout (format csv)").format(query).as_bytes(conn)
    with conn.lock:
        pgconn = conn.pgconn
        pgconn.send_query(statement)
        first = pgconn.get_result()
        if first is None or first.status != pq.ExecStatus.COPY_OUT:
            message = (first.error_message if first is not None else pgconn.error_message).decode(errors="replace")
            while pgconn.get_result() is not None:
                pass
            raise psycopg.DatabaseError(message.strip())
        done = False
        try:
            pending: list[bytes] = []
            size = 0
            while True:
                nbytes, data = pgconn.get_copy_data(0)
                if nbytes <= 0:
                    break
                pending.append(bytes(data))
                size += nbytes
                if size >= 1 << 20:
                    yield b"".join(pending)
                    pending, size = [], 0
            if pending:
                yield b"".join(pending)
            done = True
        finally:
            if not done:  # the consumer gave up: read the rest so the connection stays usable
                while pgconn.get_copy_data(0)[0] > 0:
                    pass
            error, rows = None, -1
            while (result := pgconn.get_result()) is not None:
                if result.status == pq.ExecStatus.FATAL_ERROR:
                    error = result.error_message.decode(errors="replace").strip()
                elif result.command_tuples is not None:
                    rows = result.command_tuples
            if counted is not None:
                counted.append(rows)
            if error and done:
                raise psycopg.DatabaseError(error)


class DigestStream(io.RawIOBase):
    """A read-only file over byte chunks that hashes (sha256) and counts what passes through it."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""
        self.sha256 = hashlib.sha256()
        self.bytes = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while (size < 0 or len(self._buffer) < size) and self._chunks is not None:
            try:
                chunk = next(self._chunks)
            except StopIteration:
                self._chunks = None
                break
            self.sha256.update(chunk)
            self.bytes += len(chunk)
            self._buffer += chunk
        if size < 0:
            out, self._buffer = self._buffer, b""
        else:
            out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out

    def readinto(self, b) -> int:  # noqa: ANN001 - io protocol
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)

    def drain(self) -> None:
        while self.read(1 << 20):
            pass


def partition_digest(conn: psycopg.Connection, source: sql.Composable, table: ArchiveTable, cols: list[Column],
                     partition: str, algorithm: str = "sha256") -> tuple[int, str]:
    """(rows, hex digest) of one partition's canonical content read from `source`."""
    query = select_rows(source, table, cols, partition)
    digest = hashlib.new(algorithm)
    counted: list[int] = []
    with conn.transaction(), conn.cursor() as cur:
        for chunk in copy_csv(cur, query, counted):
            digest.update(chunk)
    return max(counted[0], 0), digest.hexdigest()


def scan_digest(conn: psycopg.Connection, source: sql.Composable, cols: list[Column]) -> str:
    """sha256 of `source`'s rows in scan order (no sort): for a freshly loaded staging table."""
    digest = hashlib.sha256()
    query = sql.SQL("select {} from {}").format(sql.SQL(", ").join(sql.Identifier(c.name) for c in cols), source)
    with conn.transaction(), conn.cursor() as cur:
        for chunk in copy_csv(cur, query):
            digest.update(chunk)
    return digest.hexdigest()


def fingerprint(conn: psycopg.Connection, tables: list[ArchiveTable] | None = None) -> dict[str, tuple[int, str]]:
    """Per table: (rows, md5 of its canonical content, load metadata included) — equal before an archive and
    after dropping the raw schema and restoring everything. A missing table is (0, md5 of nothing)."""
    from tracker.archive.tables import archivable_tables

    out = {}
    for t in tables or archivable_tables():
        cols = columns(conn, t.schema, t.name)
        if not cols:
            out[t.qualified] = (0, hashlib.md5(b"").hexdigest())
            continue
        out[t.qualified] = partition_digest(conn, sql.Identifier(t.schema, t.name), t, cols, "all", "md5")
    return out
