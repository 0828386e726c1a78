"""Archive raw tables to Parquet on S3, one partition (month of the event time, or `all`) at a time.

Per partition: one `COPY (canonical query) TO STDOUT (FORMAT csv)` is streamed through a SHA-256 (the rows'
canonical content, see canonical.py) into pyarrow's CSV reader and a zstd ParquetWriter on a temporary file —
memory stays bounded by a row group whatever the partition's size. When the content digest equals the latest
manifest's, nothing is uploaded. Otherwise the file is uploaded (multipart when big), read back and verified,
and only then is the manifest written (and read back): a partition without a manifest is not archived.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from tracker.archive import canonical, store
from tracker.archive.tables import ArchiveTable, archivable_tables

FORMAT_VERSION = 1
ROW_GROUP_ROWS = 256 * 1024
CSV_BLOCK = 2 * 1024 * 1024


def arrow_type(pg_type: str) -> Any:
    """The Arrow type a PostgreSQL column is stored as; anything without an exact Arrow twin (text, jsonb,
    numeric, uuid, …) is kept as PostgreSQL's text rendering, which reloads exactly."""
    import pyarrow as pa

    base = pg_type.split("(")[0].strip()
    return {"smallint": pa.int16(), "integer": pa.int32(), "bigint": pa.int64(), "real": pa.float32(),
            "double precision": pa.float64(), "boolean": pa.bool_(), "date": pa.date32(),
            "timestamp with time zone": pa.timestamp("us", tz="UTC"),
            "timestamp without time zone": pa.timestamp("us")}.get(base, pa.string())


def code_version() -> str:
    """The package version and, in a checkout, its git commit."""
    import subprocess

    from tracker import settings

    try:
        from importlib.metadata import version

        package = version("tracker")
    except Exception:  # noqa: BLE001 - not installed as a distribution
        package = "unknown"
    try:
        commit = subprocess.run(["git", "-C", str(settings.repo_root()), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, timeout=5, check=True).stdout.strip()
    except Exception:  # noqa: BLE001 - no git, not a checkout
        commit = ""
    return f"tracker {package}" + (f" ({commit})" if commit else "")


@dataclass
class PartitionResult:
    table: str
    partition: str
    status: str                 # uploaded | unchanged | empty
    rows: int = 0
    parquet_bytes: int = 0
    csv_bytes: int = 0
    seconds: float = 0.0
    manifest_key: str = ""
    manifest_version: str | None = None

    def line(self) -> str:
        return (f"{self.table} {self.partition}: {self.status}, {self.rows:,} rows, "
                f"{self.parquet_bytes:,} B parquet ({self.csv_bytes:,} B as CSV), {self.seconds:.2f} s")


@dataclass
class ArchiveRun:
    results: list[PartitionResult] = field(default_factory=list)

    @property
    def uploaded(self) -> list[PartitionResult]:
        return [r for r in self.results if r.status == "uploaded"]

    def summary(self) -> str:
        counts = {s: sum(r.status == s for r in self.results) for s in ("uploaded", "unchanged", "empty")}
        rows = sum(r.rows for r in self.uploaded)
        return (f"{len(self.results)} partitions: {counts['uploaded']} uploaded ({rows:,} rows), "
                f"{counts['unchanged']} unchanged, {counts['empty']} empty")


def months(conn: psycopg.Connection, table: ArchiveTable, first: str | None = None, last: str | None = None
           ) -> list[str]:
    """The `YYYY-MM` months (of the UTC event time) in which the table holds rows, within [first, last]."""
    if not table.monthly:
        return ["all"]
    column = sql.Identifier(table.event_column)
    expr = sql.SQL("to_char({} at time zone 'UTC', 'YYYY-MM')" if table.event_type == "timestamptz"
                   else "to_char({}, 'YYYY-MM')").format(column)
    conditions = [sql.SQL("true")]
    if first:
        conditions.append(sql.SQL("{} >= {}").format(column, sql.Literal(
            canonical.month_bounds(first, table.event_type)[0])))
    if last:
        conditions.append(sql.SQL("{} < {}").format(column, sql.Literal(
            canonical.month_bounds(last, table.event_type)[1])))
    # a loose index scan would be faster on huge tables; a month list of a few years is cheap enough
    rows = conn.execute(sql.SQL("select distinct {} from {} where {} order by 1").format(
        expr, sql.Identifier(table.schema, table.name), sql.SQL(" and ").join(conditions))).fetchall()
    return [r[0] for r in rows]


def export_partition(conn: psycopg.Connection, table: ArchiveTable, cols: list[canonical.Column], partition: str,
                     path: Path) -> tuple[int, str, int, dict[str, Any]]:
    """Write one partition to `path` as zstd Parquet; returns (rows, content sha256, CSV bytes, event range)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    schema = pa.schema([pa.field(c.name, arrow_type(c.type)) for c in cols])
    query = canonical.select_rows(sql.Identifier(table.schema, table.name), table, cols, partition)
    import pyarrow.compute as pc

    rows, lo, hi, counted = 0, None, None, []
    event_at = [c.name for c in cols].index(table.event_column) if table.monthly else None
    with conn.transaction(), conn.cursor() as cur, pq.ParquetWriter(path, schema, compression="zstd") as writer:
        stream = canonical.DigestStream(canonical.copy_csv(cur, query, counted))
        first = stream.read(1)
        if first:
            stream._buffer = first + stream._buffer  # noqa: SLF001 - peeked one byte to tell empty from not
            reader = pcsv.open_csv(
                stream,
                read_options=pcsv.ReadOptions(column_names=[c.name for c in cols], block_size=CSV_BLOCK,
                                               use_threads=False),
                parse_options=pcsv.ParseOptions(newlines_in_values=True),
                convert_options=pcsv.ConvertOptions(
                    column_types=schema, true_values=["t"], false_values=["f"], null_values=[""],
                    strings_can_be_null=True, quoted_strings_can_be_null=False))
            pending, pending_rows = [], 0
            for batch in reader:
                if event_at is not None and batch.num_rows:
                    span = pc.min_max(batch.column(event_at)).as_py()
                    lo = span["min"] if lo is None else min(lo, span["min"])
                    hi = span["max"] if hi is None else max(hi, span["max"])
                pending.append(batch)
                pending_rows += batch.num_rows
                if pending_rows >= ROW_GROUP_ROWS:
                    writer.write_table(pa.Table.from_batches(pending, schema))
                    rows += pending_rows
                    pending, pending_rows = [], 0
            if pending:
                writer.write_table(pa.Table.from_batches(pending, schema))
                rows += pending_rows
        stream.drain()
    if counted[0] != rows:
        raise store.VerificationError(f"{table.qualified} {partition}: PostgreSQL sent {counted[0]} rows, "
                                      f"Parquet holds {rows}")
    return rows, stream.sha256.hexdigest(), stream.bytes, {"min": _iso(lo), "max": _iso(hi)}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def archive_partition(conn: psycopg.Connection, s3: Any, bucket: str, table: ArchiveTable, partition: str, *,
                      prefix: str | None = None, part_size: int = store.PART_SIZE, workdir: Path | None = None
                      ) -> PartitionResult:
    """Archive one partition (idempotent: unchanged content uploads nothing)."""
    prefix = prefix or store.default_prefix()
    started = time.monotonic()
    cols = canonical.columns(conn, table.schema, table.name)
    if not cols:
        raise LookupError(f"{table.qualified} does not exist in this warehouse")
    base = store.partition_prefix(prefix, table.qualified, partition)
    manifest_key = f"{base}/{store.MANIFEST}"
    result = PartitionResult(table.qualified, partition, "uploaded", manifest_key=manifest_key)
    with tempfile.TemporaryDirectory(prefix="tracker-archive-", dir=workdir) as tmp:
        path = Path(tmp) / "part-0.parquet"
        rows, content, csv_bytes, event_range = export_partition(conn, table, cols, partition, path)
        result.rows, result.csv_bytes = rows, csv_bytes
        previous = store.read_manifest(s3, bucket, manifest_key)
        if previous is not None and previous.get("content_sha256") == content and previous.get("rows") == rows \
                and previous.get("columns") == [{"name": c.name, "type": c.type} for c in cols]:
            result.status, result.seconds = "unchanged", time.monotonic() - started
            result.parquet_bytes = sum(o["size"] for o in previous.get("objects", []))
            return result
        if rows == 0:
            # nothing in the warehouse for this partition: never overwrite an archive holding rows with nothing
            result.status, result.seconds = "empty", time.monotonic() - started
            return result
        obj = store.upload_file(s3, bucket, f"{base}/part-0.parquet", path, part_size=part_size)
        obj["rows"] = rows
        result.parquet_bytes = obj["size"]
        manifest = {
            "format_version": FORMAT_VERSION,
            "table": table.qualified,
            "partition": partition,
            "event_column": table.event_column,
            "event_type": table.event_type,
            "key": list(table.key),
            "rows": rows,
            "event_time": event_range,
            "columns": [{"name": c.name, "type": c.type} for c in cols],
            "content_sha256": content,
            "content": "sha256 of PostgreSQL's CSV rendering of the rows under the query (tracker.archive.canonical)",
            "query": canonical.select_rows(sql.Identifier(table.schema, table.name), table, cols, partition)
            .as_string(conn),
            "objects": [obj],
            "csv_bytes": csv_bytes,
            "previous_manifest_version": previous.get("_version_id") if previous else None,
            "code_version": code_version(),
            "archived_at": datetime.now(UTC).isoformat(),
        }
        result.manifest_version = store.write_manifest(s3, bucket, manifest_key, manifest)
    result.seconds = time.monotonic() - started
    return result


class WarehouseLooksEmpty(RuntimeError):
    """The raw tables are empty while the bucket holds manifests: restore first instead of archiving."""


def archive(conn: psycopg.Connection, s3: Any, bucket: str, *, tables: list[ArchiveTable] | None = None,
            first: str | None = None, last: str | None = None, prefix: str | None = None,
            part_size: int = store.PART_SIZE, allow_empty: bool = False, log: Any = None) -> ArchiveRun:
    """Archive every partition of `tables` (default: every archivable table) with rows in [first, last]
    (`YYYY-MM`, inclusive; tables archived whole always). Refuses an empty warehouse over a non-empty archive
    (`allow_empty` to override) — the first run after a lost warehouse must restore, not archive."""
    from tracker.archive.first_run import restore_offer

    prefix = prefix or store.default_prefix()
    tables = tables or archivable_tables()
    if not allow_empty and (offer := restore_offer(conn, s3, bucket, prefix=prefix, tables=tables)) is not None:
        raise WarehouseLooksEmpty(f"the raw tables are empty but s3://{bucket}/{prefix}/ holds {offer.summary()}: "
                                  "restore first (tracker restore --all / the restore_warehouse DAG)")
    run = ArchiveRun()
    for table in tables:
        if not canonical.columns(conn, table.schema, table.name):
            continue
        for partition in months(conn, table, first, last):
            result = archive_partition(conn, s3, bucket, table, partition, prefix=prefix, part_size=part_size)
            run.results.append(result)
            if log:
                log(result.line())
    return run


def months_for_run(run_type: str, interval_start: datetime | None, interval_end: datetime | None, *,
                   lookback: int = 2, first: str | None = None, last: str | None = None
                   ) -> tuple[str | None, str | None]:
    """The [first, last] months a DAG run archives: the given ones; else, for scheduled and backfill runs, the
    data interval's months and `lookback` months before them (late rows); else (manual) every month."""
    if first or last or interval_start is None or interval_end is None:
        return first or None, last or None
    if not str(run_type).lower().endswith(("scheduled", "backfill")):
        return None, None
    start = interval_start.astimezone(UTC)
    end = (interval_end - timedelta(microseconds=1)).astimezone(UTC)
    index = start.year * 12 + start.month - 1 - lookback
    return f"{index // 12:04d}-{index % 12 + 1:02d}", f"{end.year:04d}-{end.month:02d}"


def env_part_size() -> int:
    return int(os.environ.get("TRACKER_ARCHIVE_PART_SIZE", store.PART_SIZE))
