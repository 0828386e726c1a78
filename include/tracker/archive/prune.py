"""Prune (off by default): delete raw rows older than a retention, only where the archive provably holds them.

For each month before `before` that still has rows: its manifest must exist; its objects must be readable now
(STANDARD, or restored — an archived tier is never pruned against unread bytes); they are downloaded, checked
against their sha256, loaded into a staging table and must give the manifest's rows and content digest; and
the warehouse's rows of that month, under the table's load lock in the deleting transaction, must have that
very digest (a late row or a change since the archive stops the prune: archive again first). Only then are the
month's rows deleted, and the count logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from tracker.archive import canonical, export, restore, store
from tracker.archive.tables import ArchiveTable, archivable_tables


@dataclass
class PruneResult:
    table: str
    partition: str
    deleted: int = 0
    skipped: str = ""          # why nothing was deleted

    def line(self) -> str:
        return (f"{self.table} {self.partition}: deleted {self.deleted:,} rows" if not self.skipped
                else f"{self.table} {self.partition}: kept ({self.skipped})")


def prune(conn: psycopg.Connection, s3: Any, bucket: str, *, before: str, tables: list[ArchiveTable] | None = None,
          prefix: str | None = None, dry_run: bool = False, log: Any = None) -> list[PruneResult]:
    """Delete the rows of every month < `before` (YYYY-MM) that the archive verifiably holds (see module doc)."""
    prefix = prefix or store.default_prefix()
    results = []
    for table in tables or archivable_tables():
        if not table.monthly or not canonical.columns(conn, table.schema, table.name):
            continue
        for month in export.months(conn, table):
            if month >= before:
                continue
            result = _prune_month(conn, s3, bucket, table, month, prefix, dry_run)
            results.append(result)
            if log:
                log(result.line())
    return results


def _prune_month(conn: psycopg.Connection, s3: Any, bucket: str, table: ArchiveTable, month: str, prefix: str,
                 dry_run: bool) -> PruneResult:
    result = PruneResult(table.qualified, month)
    key = f"{store.partition_prefix(prefix, table.qualified, month)}/{store.MANIFEST}"
    manifest = store.read_manifest(s3, bucket, key)
    if manifest is None:
        result.skipped = "no manifest: not archived"
        return result
    for obj in manifest["objects"]:
        head = s3.head_object(Bucket=bucket, Key=obj["key"], **store._version(obj.get("version_id")))  # noqa: SLF001
        state = restore.ObjectState(obj["key"], obj.get("version_id"), obj["size"],
                                    head.get("StorageClass") or "STANDARD", head.get("Restore"))
        if not state.readable:
            result.skipped = f"{state.storage_class} object not restored: cannot re-read it before deleting"
            return result
    cols = [canonical.Column(c["name"], c["type"]) for c in manifest["columns"]]
    target = sql.Identifier(table.schema, table.name)
    try:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("select pg_advisory_xact_lock(hashtext(%s))", (table.qualified,))
            restore.stage_manifest(conn, cur, s3, bucket, manifest, sql.Identifier(f"_prune_{table.name}"[:63]))
            here = canonical.partition_digest(conn, target, table, cols, month)
            if here != (manifest["rows"], manifest["content_sha256"]):
                result.skipped = (f"the warehouse's {here[0]:,} rows differ from the archive's {manifest['rows']:,}:"
                                  " archive this month again first")
                return result
            if dry_run:
                result.skipped = f"dry run: would delete {here[0]:,} rows"
                return result
            cur.execute(sql.SQL("delete from {} where {}").format(target, canonical.partition_filter(table, month)))
            result.deleted = cur.rowcount
            if result.deleted != manifest["rows"]:
                raise restore.RestoreVerificationError(
                    f"{table.qualified} {month}: would delete {result.deleted} rows, archive holds {manifest['rows']}")
    except (store.VerificationError, restore.RestoreVerificationError) as exc:
        result.deleted, result.skipped = 0, f"archive does not verify: {exc}"
    return result
