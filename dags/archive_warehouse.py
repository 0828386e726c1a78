"""
### Archive the warehouse → `s3://<bucket>/<prefix>/<schema>.<table>/year=YYYY/month=MM/part-0.parquet`

Every raw table of the catalogue (plus the quarantine, the people table and the Fitbit file manifest; never the
`auth` schema) as zstd Parquet per month of its event time, with a manifest per partition written only after
every object was read back and verified. Unchanged months upload nothing; late rows make a new version.

- **Scheduled** (1st of the month) and **backfill** runs archive their data interval's month and the
  `lookback_months` before it (late rows); a **manual** run from the UI archives every month, unless
  `from_month` / `to_month` (YYYY-MM) are given.
- First the bucket policy (lifecycle, versioning, public-access block, encryption, TLS-only) is applied and read
  back: any drift fails the run.
- `prune_older_than_months` (0 = off, the default) deletes raw rows of older months only where the archive
  verifies (objects re-read, digests equal to the warehouse's rows), and logs the counts.
- On an empty warehouse over a non-empty archive the run stops and says so; with `restore_empty_warehouse` it
  restores everything instead (objects in STANDARD; archived tiers go through `restore_warehouse`).
S3 through the amazon provider's S3Hook, connection `tracker_s3`.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, CronDataIntervalTimetable, Param, dag, task
from tracker_airflow.common import DEFAULT_ARGS, OWNER_LINKS, warehouse_ready

ARCHIVE_ASSET = Asset(name="tracker-archive", uri="s3://tracker-archive/warehouse/", group="archive")
MONTH = r"^$|^\d{4}-(0[1-9]|1[0-2])$"


@dag(
    dag_id="archive_warehouse",
    schedule=CronDataIntervalTimetable("0 4 1 * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    owner_links=OWNER_LINKS,
    default_args={**DEFAULT_ARGS, "execution_timeout": timedelta(hours=6)},
    params={
        "from_month": Param("", type="string", pattern=MONTH, description="first month (YYYY-MM); empty: see doc"),
        "to_month": Param("", type="string", pattern=MONTH, description="last month (YYYY-MM), inclusive"),
        "tables": Param([], type="array", items={"type": "string"},
                        description="schema.table names; empty: every archivable table"),
        "lookback_months": Param(2, type="integer", minimum=0, maximum=36,
                                 description="scheduled/backfill runs: months before the interval re-checked"),
        "restore_empty_warehouse": Param(False, type="boolean",
                                         description="on an empty warehouse over a non-empty archive: restore it"),
        "prune_older_than_months": Param(0, type="integer", minimum=0,
                                         description="0 (default): off. N: delete raw rows of months older than N "
                                                     "months whose archive verifies (objects re-read first)"),
    },
    tags=["platform", "archive", "s3"],
    doc_md=__doc__,
)
def archive_warehouse():
    @task()
    def apply_bucket_policy() -> None:
        from tracker.archive.policy import apply_policy
        from tracker_airflow.s3 import ArchiveS3

        s3 = ArchiveS3()
        apply_policy(s3.client(), s3.bucket, s3.policy())

    @task()
    def check_bucket_policy() -> list[str]:
        """Read every setting back; PolicyDrift (failing the run) names each difference."""
        from tracker.archive.policy import check_policy
        from tracker_airflow.s3 import ArchiveS3

        s3 = ArchiveS3()
        unchecked = check_policy(s3.client(), s3.bucket, s3.policy(), s3.server)
        print(f"s3://{s3.bucket}: policy read back equal" + (f"; not readable on {s3.server}: {unchecked}"
                                                              if unchecked else ""))
        return unchecked

    @task()
    def first_run(params=None) -> str:
        """An empty warehouse over a non-empty archive: stop (the archive must not be overwritten), or restore."""
        from tracker.archive import first_run as offers
        from tracker.archive import restore
        from tracker_airflow.hooks import WarehouseHook
        from tracker_airflow.s3 import ArchiveS3

        s3 = ArchiveS3()
        with WarehouseHook().connect() as conn:
            conn.autocommit = True
            offer = offers.restore_offer(conn, s3.client(), s3.bucket)
            if offer is None:
                return "warehouse holds data (or the archive is empty): archiving"
            if not params["restore_empty_warehouse"]:
                raise RuntimeError(f"the warehouse is empty and s3://{s3.bucket} holds {offer.summary()}: trigger "
                                   "restore_warehouse, or run this DAG with restore_empty_warehouse=true")
            plan = restore.plan_restore(s3.client(), s3.bucket)
            if plan.pending:
                raise RuntimeError(f"{len(plan.pending)} objects are in an archived tier: trigger restore_warehouse "
                                   "(it requests them and waits without holding a worker)")
            results = restore.restore(conn, s3.client(), plan, log=print)
        return f"restored {sum(r.inserted for r in results):,} rows from {len(results)} partitions"

    @task(outlets=[ARCHIVE_ASSET])
    def archive_months(params=None, dag_run=None, data_interval_start=None, data_interval_end=None) -> dict:
        from tracker.archive import export, tables
        from tracker_airflow.hooks import WarehouseHook
        from tracker_airflow.s3 import ArchiveS3

        first, last = export.months_for_run(dag_run.run_type, data_interval_start, data_interval_end,
                                            lookback=params["lookback_months"], first=params["from_month"],
                                            last=params["to_month"])
        chosen = [tables.table(t) for t in params["tables"]] or None
        s3 = ArchiveS3()
        with WarehouseHook().connect() as conn:
            conn.autocommit = True
            run = export.archive(conn, s3.client(), s3.bucket, tables=chosen, first=first, last=last,
                                 part_size=export.env_part_size(), log=print)
        print(run.summary())
        return {"from": first, "to": last, "uploaded": len(run.uploaded), "partitions": len(run.results),
                "rows_uploaded": sum(r.rows for r in run.uploaded)}

    @task()
    def prune_archived(params=None, run_after=None) -> str:
        from tracker.archive import prune
        from tracker_airflow.hooks import WarehouseHook
        from tracker_airflow.s3 import ArchiveS3

        months = params["prune_older_than_months"]
        if not months:
            return "prune is off (prune_older_than_months = 0)"
        index = run_after.year * 12 + run_after.month - 1 - months
        before = f"{index // 12:04d}-{index % 12 + 1:02d}"
        s3 = ArchiveS3()
        with WarehouseHook().connect() as conn:
            conn.autocommit = True
            results = prune.prune(conn, s3.client(), s3.bucket, before=before, log=print)
        return f"pruned {sum(r.deleted for r in results):,} rows of months before {before}"

    policy = apply_bucket_policy() >> check_bucket_policy()
    [warehouse_ready(), policy] >> first_run() >> archive_months() >> prune_archived()


archive_warehouse()
