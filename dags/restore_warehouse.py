"""
### Restore the warehouse from the S3 archive

Plans the restore (objects, bytes, storage classes, expected wait and cost per retrieval tier — printed in the
`plan` task's log), asks S3 to restore objects in GLACIER / DEEP_ARCHIVE, waits for them in **reschedule mode**
(no worker slot is held while S3 works: hours for Standard, up to 48 h for Deep Archive Bulk), then loads every
partition through a staging table and verifies rows and checksums against its manifest. Rows the warehouse
already holds are never overwritten; running it twice changes nothing. `dry_run` stops after the plan.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, task
from tracker_airflow.common import DEFAULT_ARGS, OWNER_LINKS

MONTH = r"^$|^\d{4}-(0[1-9]|1[0-2])$"


@dag(
    dag_id="restore_warehouse",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    owner_links=OWNER_LINKS,
    default_args={**DEFAULT_ARGS, "execution_timeout": timedelta(hours=6)},
    params={
        "tables": Param([], type="array", items={"type": "string"},
                        description="schema.table names; empty: every archived table"),
        "from_month": Param("", type="string", pattern=MONTH, description="first month (YYYY-MM); empty: all"),
        "to_month": Param("", type="string", pattern=MONTH, description="last month (YYYY-MM), inclusive"),
        "tier": Param("Standard", type="string", enum=["Standard", "Bulk", "Expedited"],
                      description="retrieval tier for GLACIER / DEEP_ARCHIVE objects"),
        "restore_days": Param(7, type="integer", minimum=1, maximum=30,
                              description="days S3 keeps the restored copies"),
        "dry_run": Param(False, type="boolean", description="print the plan only"),
    },
    tags=["platform", "archive", "s3"],
    doc_md=__doc__,
)
def restore_warehouse():
    def _plan(params, keys=None):
        from tracker.archive import restore
        from tracker.archive.tables import table
        from tracker_airflow.s3 import ArchiveS3

        s3 = ArchiveS3()
        tables = [table(t).qualified for t in params["tables"]] or None
        return s3, restore.plan_restore(s3.client(), s3.bucket, tables=tables, first=params["from_month"] or None,
                                        last=params["to_month"] or None, keys=keys)

    @task()
    def plan(params=None) -> list[str]:
        from tracker.archive import restore

        s3, p = _plan(params)
        print(p.describe())
        restore.check_tier(p, params["tier"])
        return [item.manifest_key for item in p.items]

    @task()
    def request_archived(keys: list[str], params=None) -> int:
        from tracker.archive import restore

        if params["dry_run"]:
            return 0
        s3, p = _plan(params, keys)
        asked = restore.request_restores(s3.client(), p, params["tier"], params["restore_days"])
        print(f"requested {asked} archived objects ({params['tier']})")
        return asked

    @task.sensor(poke_interval=300, timeout=3 * 24 * 3600, mode="reschedule")
    def archived_objects_readable(keys: list[str], params=None) -> bool:
        from tracker.archive import restore

        if params["dry_run"]:
            return True
        s3, p = _plan(params, keys)
        pending = restore.refresh(s3.client(), p)
        print(f"{len(pending)} objects still being restored by S3")
        return not pending

    @task()
    def load_and_verify(keys: list[str], params=None) -> dict:
        from tracker.archive import restore
        from tracker.warehouse.schema import ensure_warehouse
        from tracker_airflow.hooks import WarehouseHook

        if params["dry_run"]:
            return {"dry_run": True}
        s3, p = _plan(params, keys)
        with WarehouseHook().connect() as conn:
            conn.autocommit = True
            ensure_warehouse(conn)
            results = [restore.load_partition(conn, s3.client(), item, s3.bucket) for item in p.items]
        for r in results:
            print(r.line())
        return {"partitions": len(results), "inserted": sum(r.inserted for r in results),
                "differs": [f"{r.table} {r.partition}" for r in results if r.status != "identical"]}

    keys = plan()
    request_archived(keys) >> archived_objects_readable(keys) >> load_and_verify(keys)


restore_warehouse()
