"""Restore archived partitions into the warehouse, and the restore plan that says what that takes.

plan → (for GLACIER / DEEP_ARCHIVE objects) request a temporary restored copy → wait until S3 has made it →
load → verify. Loading streams each Parquet file as CSV into a staging table under the table loads' advisory
lock (the same lock as `tracker.warehouse.loader.load`), checks that the staged rows' canonical digest equals
the manifest's (proof that the bytes decoded to exactly the rows archived), then inserts the rows whose key the
warehouse does not hold — with their archived `_loaded_at` and `_run_id`, so a restored warehouse is identical
to the one archived. A row the warehouse already holds is never overwritten (it is at least as new as the
archive); it is counted, and the partition is reported as `differs` rather than `identical`. Restoring twice
changes nothing.
"""

from __future__ import annotations

import io
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from tracker.archive import canonical, store
from tracker.archive.tables import ArchiveTable

ARCHIVED = {"GLACIER", "DEEP_ARCHIVE"}
TIERS = ("Expedited", "Standard", "Bulk")
# AWS's published retrieval times and us-east-1 list prices (USD per GB, per 1,000 requests); check your region
RETRIEVAL = {
    "GLACIER": {"Expedited": ("1-5 minutes", 0.03, 10.00), "Standard": ("3-5 hours", 0.01, 0.05),
                "Bulk": ("5-12 hours", 0.0, 0.025)},
    "DEEP_ARCHIVE": {"Standard": ("within 12 hours", 0.02, 0.10), "Bulk": ("within 48 hours", 0.0025, 0.025)},
}


@dataclass
class ObjectState:
    key: str
    version_id: str | None
    size: int
    storage_class: str           # STANDARD | GLACIER | DEEP_ARCHIVE | …
    restore: str | None          # S3's x-amz-restore header: None, ongoing-request="true"|"false", …

    @property
    def readable(self) -> bool:
        return self.storage_class not in ARCHIVED or bool(self.restore and 'ongoing-request="false"' in self.restore)

    @property
    def restoring(self) -> bool:
        return bool(self.restore and 'ongoing-request="true"' in self.restore)


@dataclass
class PlanItem:
    manifest_key: str
    manifest: dict[str, Any]
    objects: list[ObjectState]

    @property
    def table(self) -> ArchiveTable:
        schema, name = self.manifest["table"].split(".")
        return ArchiveTable(schema, name, tuple(self.manifest["key"]), self.manifest.get("event_column"),
                            self.manifest.get("event_type"))

    @property
    def partition(self) -> str:
        return self.manifest["partition"]


@dataclass
class RestorePlan:
    bucket: str
    items: list[PlanItem] = field(default_factory=list)

    @property
    def objects(self) -> list[ObjectState]:
        return [o for item in self.items for o in item.objects]

    @property
    def to_request(self) -> list[ObjectState]:
        return [o for o in self.objects if not o.readable and not o.restoring]

    @property
    def pending(self) -> list[ObjectState]:
        return [o for o in self.objects if not o.readable]

    def describe(self) -> str:
        """The dry run: objects, bytes, storage classes, rows, and per tier the expected wait and cost."""
        lines = [f"restore plan: {len(self.items)} partitions, {sum(i.manifest['rows'] for i in self.items):,} rows, "
                 f"{len(self.objects)} objects, {_size(sum(o.size for o in self.objects))} from s3://{self.bucket}"]
        per_table: dict[str, list[PlanItem]] = defaultdict(list)
        for item in self.items:
            per_table[item.manifest["table"]].append(item)
        for table, items in per_table.items():
            parts = sorted(i.partition for i in items)
            span = parts[0] if len(parts) == 1 else f"{parts[0]} .. {parts[-1]}"
            lines.append(f"  {table}: {len(items)} partitions ({span}), {sum(i.manifest['rows'] for i in items):,} "
                         f"rows, {_size(sum(o.size for i in items for o in i.objects))}")
        by_class: dict[str, list[ObjectState]] = defaultdict(list)
        for o in self.objects:
            by_class[o.storage_class].append(o)
        lines.append("storage classes:")
        for cls, objs in sorted(by_class.items()):
            ready = sum(o.readable for o in objs)
            lines.append(f"  {cls}: {len(objs)} objects, {_size(sum(o.size for o in objs))}"
                         + (f" ({ready} already restored, {sum(o.restoring for o in objs)} restoring)"
                            if cls in ARCHIVED else ""))
        archived = [o for o in self.to_request]
        if not archived:
            lines.append("no archived-tier objects to request: every object can be read now (no wait, no "
                         "retrieval fee)")
            return "\n".join(lines)
        lines.append("retrieval of the archived objects, per tier (AWS published times; us-east-1 list prices):")
        for tier in TIERS:
            waits, cost, possible = [], 0.0, True
            for cls in ARCHIVED:
                objs = [o for o in archived if o.storage_class == cls]
                if not objs:
                    continue
                if tier not in RETRIEVAL[cls]:
                    possible = False
                    continue
                wait, per_gb, per_1000 = RETRIEVAL[cls][tier]
                waits.append(f"{cls} {wait}")
                cost += sum(o.size for o in objs) / 1e9 * per_gb + len(objs) / 1000 * per_1000
            if possible:
                lines.append(f"  {tier}: {', '.join(waits)}; about ${cost:.4f}")
            else:
                lines.append(f"  {tier}: not offered for DEEP_ARCHIVE objects")
        return "\n".join(lines)


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"


def plan_restore(s3: Any, bucket: str, *, tables: list[str] | None = None, first: str | None = None,
                 last: str | None = None, prefix: str | None = None, keys: list[str] | None = None) -> RestorePlan:
    """Every latest manifest of `tables` (qualified names; default all) whose month is in [first, last]
    (tables archived whole are always included), with the storage class and restore state of its objects.
    `keys`: exactly these manifests (a plan made earlier, e.g. by the DAG's first task)."""
    prefix = prefix or store.default_prefix()
    plan = RestorePlan(bucket)
    if keys is None:
        keys = [k for t in tables for k in store.manifest_keys(s3, bucket, prefix, t)] if tables else \
            list(store.manifest_keys(s3, bucket, prefix))
    for key in sorted(keys):
        partition = store.partition_of_key(key)
        if partition is None or (partition != "all" and ((first and partition < first) or (last and partition > last))):
            continue
        manifest = store.read_manifest(s3, bucket, key)
        if manifest is None:
            continue
        states = []
        for obj in manifest["objects"]:
            head = s3.head_object(Bucket=bucket, Key=obj["key"], **store._version(obj.get("version_id")))  # noqa: SLF001
            states.append(ObjectState(obj["key"], obj.get("version_id"), obj["size"],
                                      head.get("StorageClass") or "STANDARD", head.get("Restore")))
        plan.items.append(PlanItem(key, manifest, states))
    return plan


def check_tier(plan: RestorePlan, tier: str) -> None:
    if tier not in TIERS:
        raise ValueError(f"tier {tier!r}: one of {', '.join(TIERS)}")
    if tier == "Expedited" and any(o.storage_class == "DEEP_ARCHIVE" for o in plan.to_request):
        raise ValueError("Expedited retrieval is not offered for DEEP_ARCHIVE objects: use Standard or Bulk")


def request_restores(s3: Any, plan: RestorePlan, tier: str = "Standard", days: int = 7) -> int:
    """Ask S3 for a temporary copy (`days` days) of every archived object not yet restored; returns how many."""
    check_tier(plan, tier)
    asked = 0
    for o in plan.to_request:
        try:
            s3.restore_object(Bucket=plan.bucket, Key=o.key, **store._version(o.version_id),  # noqa: SLF001
                              RestoreRequest={"Days": days, "GlacierJobParameters": {"Tier": tier}})
        except Exception as exc:
            if getattr(exc, "response", {}).get("Error", {}).get("Code") != "RestoreAlreadyInProgress":
                raise
        o.restore = 'ongoing-request="true"'
        asked += 1
    return asked


def refresh(s3: Any, plan: RestorePlan) -> list[ObjectState]:
    """Re-read the restore state of the objects still waiting; returns those still not readable."""
    for o in plan.pending:
        head = s3.head_object(Bucket=plan.bucket, Key=o.key, **store._version(o.version_id))  # noqa: SLF001
        o.storage_class, o.restore = head.get("StorageClass") or "STANDARD", head.get("Restore")
    return plan.pending


@dataclass
class RestoreResult:
    table: str
    partition: str
    rows: int                 # in the manifest
    inserted: int = 0
    identical: int = 0        # already in the warehouse, same values
    kept: int = 0             # already in the warehouse with other values: the warehouse's row kept
    status: str = ""          # identical | differs
    seconds: float = 0.0

    def line(self) -> str:
        return (f"{self.table} {self.partition}: {self.inserted:,} rows inserted, {self.identical:,} already there,"
                f" {self.kept:,} kept (warehouse differs) — {self.status}")


class RestoreVerificationError(RuntimeError):
    """Restored rows do not match their manifest."""


def copy_objects(cur: psycopg.Cursor, s3: Any, bucket: str, m: dict[str, Any], into: sql.Composable) -> int:
    """Download the manifest's objects (each checked against its sha256) and COPY their rows into `into`."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    canonical.set_session(cur)   # UTC: timestamps travel as naive UTC wall-clock text (4x faster to write)
    names = sql.SQL(", ").join(sql.Identifier(c["name"]) for c in m["columns"])
    copied = 0
    with tempfile.TemporaryDirectory(prefix="tracker-restore-") as tmp:
        for n, obj in enumerate(m["objects"]):
            path = Path(tmp) / f"part-{n}.parquet"
            store.download(s3, bucket, obj, path)
            with cur.copy(sql.SQL("copy {} ({}) from stdin (format csv)").format(into, names)) as copy:
                for batch in pq.ParquetFile(path).iter_batches(batch_size=256 * 1024):
                    batch = pa.RecordBatch.from_arrays(
                        [a.cast(pa.timestamp(a.type.unit)) if pa.types.is_timestamp(a.type) and a.type.tz else a
                         for a in batch.columns], names=batch.schema.names)
                    buffer = io.BytesIO()
                    pcsv.write_csv(batch, buffer, write_options=pcsv.WriteOptions(include_header=False))
                    copy.write(buffer.getbuffer())
                    copied += batch.num_rows
            path.unlink()
    return copied


def stage_manifest(conn: psycopg.Connection, cur: psycopg.Cursor, s3: Any, bucket: str, m: dict[str, Any],
                   stage: sql.Identifier) -> int:
    """Create temp table `stage` (the manifest's columns and types, dropped at commit) and COPY the manifest's
    objects into it (each downloaded to a temporary file and checked against its sha256); returns the rows, which
    must equal the manifest's, and whose canonical digest must equal the manifest's."""
    cols = [canonical.Column(c["name"], c["type"]) for c in m["columns"]]
    cur.execute(sql.SQL("create temp table {} ({}) on commit drop").format(stage, sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.type)) for c in cols)))
    staged = copy_objects(cur, s3, bucket, m, stage)
    table = ArchiveTable(*m["table"].split("."), tuple(m["key"]), m.get("event_column"), m.get("event_type"))
    if staged != m["rows"]:
        raise RestoreVerificationError(f"{table.qualified} {m['partition']}: {staged} rows in the objects, "
                                       f"manifest says {m['rows']}")
    # the objects hold the rows in canonical order, so the fresh stage's scan order is that order: hash it as is;
    # only a mismatch pays for the sort (a wrong order can only fail this check, never pass it)
    digest = canonical.scan_digest(conn, stage, cols)
    if digest != m["content_sha256"]:
        rows, digest = canonical.partition_digest(conn, stage, table, cols, m["partition"])
        if (rows, digest) != (m["rows"], m["content_sha256"]):
            raise RestoreVerificationError(
                f"{table.qualified} {m['partition']}: restored rows' digest {digest} ({rows} rows) != manifest "
                f"{m['content_sha256']} ({m['rows']} rows)")
    return staged


def _copy_direct(conn: psycopg.Connection, cur: psycopg.Cursor, s3: Any, bucket: str, m: dict[str, Any],
                 table: ArchiveTable, cols: list[canonical.Column]) -> bool:
    """Into a partition the warehouse holds nothing of: COPY the objects straight into the table (inside a
    savepoint) and check the partition's canonical digest there. False (and nothing written) when a key already
    exists under another month; a digest mismatch raises (and the whole restore of the partition rolls back)."""
    target = sql.Identifier(table.schema, table.name)
    try:
        with conn.transaction():
            copied = copy_objects(cur, s3, bucket, m, target)
            rows, digest = canonical.partition_digest(conn, target, table, cols, m["partition"])
            if copied != m["rows"] or (rows, digest) != (m["rows"], m["content_sha256"]):
                raise RestoreVerificationError(
                    f"{table.qualified} {m['partition']}: restored rows' digest {digest} ({rows} rows, {copied} "
                    f"copied) != manifest {m['content_sha256']} ({m['rows']} rows)")
    except psycopg.errors.UniqueViolation:
        return False
    return True


def load_partition(conn: psycopg.Connection, s3: Any, item: PlanItem, bucket: str) -> RestoreResult:
    """Load one archived partition (see module docstring); raises RestoreVerificationError on any mismatch."""
    from tracker.warehouse import changes

    started = time.monotonic()
    m, table = item.manifest, item.table
    result = RestoreResult(m["table"], m["partition"], m["rows"])
    cols = [canonical.Column(c["name"], c["type"]) for c in m["columns"]]
    target_cols = {c.name: c for c in canonical.columns(conn, table.schema, table.name)}
    if not target_cols:
        raise LookupError(f"{table.qualified} does not exist: run `tracker init-warehouse` (or restore through "
                          "`tracker restore`, which creates the tables first)")
    missing = [c.name for c in cols if c.name not in target_cols]
    if missing:
        raise RestoreVerificationError(f"{table.qualified} has no column {', '.join(missing)} the archive holds")
    target = sql.Identifier(table.schema, table.name)
    stage = sql.Identifier(f"_restore_{table.name}"[:63])
    names = sql.SQL(", ").join(sql.Identifier(c.name) for c in cols)
    key_match = sql.SQL(" and ").join(sql.SQL("s.{0} = t.{0}").format(sql.Identifier(k)) for k in table.key)
    identity = any(target_cols[c.name].identity for c in cols)
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("select pg_advisory_xact_lock(hashtext(%s))", (table.qualified,))
        cur.execute(sql.SQL("select count(*) from {} where {}").format(
            target, canonical.partition_filter(table, m["partition"])))
        already = cur.fetchone()[0]
        override = sql.SQL(" overriding system value" if identity else "")
        direct = already == 0 and _copy_direct(conn, cur, s3, bucket, m, table, cols)
        if direct:
            # the partition was empty: its rows were COPYed straight in and their digest checked in place
            result.inserted = staged = m["rows"]
        else:
            staged = stage_manifest(conn, cur, s3, bucket, m, stage)
        if direct:
            pass
        elif already == 0:
            # a key of this partition is held under another month (its event time changed since): keep the
            # warehouse's row, insert the others
            cur.execute(sql.SQL("insert into {target} ({names}){override} select {names} from {stage} "
                                "on conflict do nothing").format(target=target, names=names, stage=stage,
                                                                 override=override))
            result.inserted = cur.rowcount
            result.kept = staged - result.inserted
        else:
            cur.execute(sql.SQL("select count(*) filter (where row({s}) is not distinct from row({t})), count(*) "
                                "from {stage} s join {target} t on {match}").format(
                s=sql.SQL(", ").join(sql.SQL("s.{}").format(sql.Identifier(c.name)) for c in cols),
                t=sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c.name)) for c in cols),
                stage=stage, target=target, match=key_match))
            result.identical, present = cur.fetchone()
            result.kept = present - result.identical
            cur.execute(sql.SQL("insert into {target} ({names}){override} select {names} from {stage} s "
                                "where not exists (select 1 from {target} t where {match})").format(
                target=target, names=names, stage=stage, match=key_match, override=override))
            result.inserted = cur.rowcount
            if result.inserted + present != staged:
                raise RestoreVerificationError(f"{table.qualified} {m['partition']}: {staged} staged, {present} "
                                               f"present + {result.inserted} inserted")
        for c in cols:
            if target_cols[c.name].identity:
                cur.execute(sql.SQL("select setval(pg_get_serial_sequence({q}, {c}), max({i})) from {t} "
                                    "having max({i}) is not null").format(
                    q=sql.Literal(table.qualified), c=sql.Literal(c.name), i=sql.Identifier(c.name), t=target))
        if table.qualified in changes.LOGGED_TABLES and result.inserted:
            cur.execute(sql.SQL("select person_id, min(observed_at), max(observed_at) from {} where {} group by 1"
                                ).format(target if direct else stage,
                                         canonical.partition_filter(table, m["partition"])))
            for person, lo, hi in cur.fetchall():
                changes.record(cur, person_id=person, changed_from=lo, changed_to=hi,
                               run_id=f"restore:{m['partition']}")
        if already == 0 and result.kept == 0:  # the partition holds exactly the archived, verified rows
            result.status = "identical"
        else:
            after = canonical.partition_digest(conn, target, table, cols, m["partition"])
            result.status = "identical" if after == (m["rows"], m["content_sha256"]) else "differs"
    result.seconds = time.monotonic() - started
    return result


def restore(conn: psycopg.Connection, s3: Any, plan: RestorePlan, *, tier: str = "Standard", days: int = 7,
            wait: Any = None, poll_seconds: float = 60.0, timeout_seconds: float = 3 * 24 * 3600,
            log: Any = None) -> list[RestoreResult]:
    """The whole path for the CLI: create missing tables, request archived objects, wait, load and verify."""
    from tracker.warehouse.schema import ensure_warehouse

    ensure_warehouse(conn)
    if plan.to_request:
        asked = request_restores(s3, plan, tier, days)
        if log:
            log(f"requested {asked} archived objects ({tier} tier); waiting for S3 to restore them")
    deadline = time.monotonic() + timeout_seconds
    while refresh(s3, plan):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(plan.pending)} objects still being restored by S3; run again later")
        (wait or time.sleep)(poll_seconds)
    results = []
    for item in plan.items:
        result = load_partition(conn, s3, item, plan.bucket)
        results.append(result)
        if log:
            log(result.line())
    return results
