"""The first run on an empty warehouse (seed 004: "populate the tables with data from S3").

`restore_offer` says what a restore would bring back when the bucket holds manifests and the warehouse's raw
tables hold no data. The people and quarantine tables do not count: the first task of every DAG writes the
configured people, so they are never empty after a first run.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from tracker.archive import canonical, store
from tracker.archive.tables import ArchiveTable, archivable_tables


@dataclass(frozen=True)
class RestoreOffer:
    bucket: str
    prefix: str
    partitions: dict[str, int]      # table → archived partitions (manifests)

    def summary(self) -> str:
        total = sum(self.partitions.values())
        return f"{total} archived partitions of {len(self.partitions)} tables"


def warehouse_is_empty(conn: psycopg.Connection, extra: list[ArchiveTable] | None = None) -> bool:
    """No archivable table partitioned by event time (nor any of `extra`) holds a row (missing tables count as
    empty)."""
    for t in [*archivable_tables(), *(extra or [])]:
        if not t.monthly or not canonical.columns(conn, t.schema, t.name):
            continue
        if conn.execute(sql.SQL("select exists (select 1 from {})").format(sql.Identifier(t.schema, t.name))
                        ).fetchone()[0]:
            return False
    return True


def restore_offer(conn: psycopg.Connection, s3: Any, bucket: str, *, prefix: str | None = None,
                  tables: list[ArchiveTable] | None = None) -> RestoreOffer | None:
    """What restoring everything would bring back, when the warehouse is empty and the archive is not; else None.
    (`tables`: more tables that count, besides the archivable ones.)"""
    prefix = prefix or store.default_prefix()
    if not warehouse_is_empty(conn, tables):
        return None
    counts = Counter(key[len(prefix) + 1:].split("/")[0] for key in store.manifest_keys(s3, bucket, prefix))
    return RestoreOffer(bucket, prefix, dict(sorted(counts.items()))) if counts else None


def offer_restore(conn: psycopg.Connection, s3: Any, bucket: str, *, ask: Any, log: Any = print,
                  prefix: str | None = None) -> str:
    """For `tracker up` on an empty warehouse: say what the archive holds, `ask(question) -> bool`, and restore
    everything readable now (objects in an archived tier go through `tracker restore --all`, which waits for
    S3). Returns one line saying what was done."""
    from tracker.archive import restore

    offer = restore_offer(conn, s3, bucket, prefix=prefix)
    if offer is None:
        return "archive: nothing to offer (the warehouse holds data, or the archive is empty)"
    log(f"the warehouse is empty; s3://{bucket}/{offer.prefix}/ holds {offer.summary()}")
    if not ask("restore everything from the archive now?"):
        return "archive: not restored (run `tracker restore --all` when you want it)"
    plan = restore.plan_restore(s3, bucket, prefix=prefix)
    if plan.to_request or plan.pending:
        return (f"archive: {len(plan.pending)} objects are in an archived tier: run `tracker restore --all "
                "--dry-run` to see the wait and cost, then `tracker restore --all`")
    results = restore.restore(conn, s3, plan, log=log)
    return (f"archive: restored {sum(r.inserted for r in results):,} rows into {len(results)} partitions "
            f"({sum(r.status == 'identical' for r in results)} identical to the archive)")
