# ruff: noqa: F401, F811 - pytest fixtures imported from archive_fixtures
"""The WAL-G style round trip on the real PostgreSQL and a real moto S3 server: fingerprint every raw table →
archive → drop the raw schema → restore everything → fingerprint again: identical."""

from __future__ import annotations

import pytest
from archive_fixtures import (
    adb,
    archive_dsn,
    bucket,
    create_edge_table,
    edge_table,
    fill_every_table,
    moto_endpoint,
    s3,
)

pytestmark = pytest.mark.integration


def test_round_trip_gives_back_an_identical_warehouse(adb, s3, bucket):
    from tracker.archive import canonical, export, restore
    from tracker.archive.tables import archivable_tables

    # GIVEN rows in every archivable table and a table of awkward values (NULLs, unicode, jsonb, DST, numerics)
    counts = fill_every_table(adb)
    tables = [*archivable_tables(), edge_table()]
    before = canonical.fingerprint(adb, tables)
    assert all(before[t][0] == n for t, n in counts.items()), before
    # WHEN everything is archived
    run = export.archive(adb, s3, bucket, tables=tables)
    assert run.uploaded and all(r.status == "uploaded" for r in run.results), run.summary()
    assert sum(r.rows for r in run.results) == sum(counts.values())
    # ... the raw schema is lost, and everything is restored into a fresh schema
    adb.execute("drop schema raw cascade")
    from tracker.warehouse.schema import ensure_warehouse

    ensure_warehouse(adb)
    create_edge_table(adb)
    assert all(n == 0 for n, _ in canonical.fingerprint(adb, tables).values())
    plan = restore.plan_restore(s3, bucket)
    assert len(plan.items) == len(run.results)
    results = restore.restore(adb, s3, plan)
    # THEN every table's rows and canonical content (load metadata included) are identical
    assert canonical.fingerprint(adb, tables) == before
    assert {r.status for r in results} == {"identical"}
    assert sum(r.inserted for r in results) == sum(counts.values())
    # AND a second restore changes nothing
    again = restore.restore(adb, s3, restore.plan_restore(s3, bucket))
    assert sum(r.inserted for r in again) == 0 and sum(r.identical for r in again) == sum(counts.values())
    assert canonical.fingerprint(adb, tables) == before
