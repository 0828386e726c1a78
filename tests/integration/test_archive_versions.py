# ruff: noqa: F401, F811 - pytest fixtures imported from archive_fixtures
"""Idempotence and versions against real PostgreSQL + moto: a second archive uploads nothing; late rows make
exactly one new version (and manifest) of their month; an emptied warehouse never overwrites the archive."""

from __future__ import annotations

import pytest
from archive_fixtures import adb, archive_dsn, bucket, create_edge_table, edge_table, moto_endpoint, s3

pytestmark = pytest.mark.integration


def versions(s3, bucket) -> dict[str, int]:
    out: dict[str, int] = {}
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for v in page.get("Versions", []):
            out[v["Key"]] = out.get(v["Key"], 0) + 1
    return out


def test_second_archive_uploads_nothing_and_late_rows_make_one_new_version(adb, s3, bucket):
    from archive_fixtures import EDGE_ROWS
    from tracker.archive import export, store

    create_edge_table(adb)
    adb.execute("truncate raw.archive_test__edge_values")
    adb.execute(EDGE_ROWS)
    table = edge_table()
    # GIVEN the table archived once (months 2026-03, 2026-10, 2026-11)
    first = export.archive(adb, s3, bucket, tables=[table])
    assert [(r.partition, r.status) for r in first.results] == [
        ("2026-03", "uploaded"), ("2026-10", "uploaded"), ("2026-11", "uploaded")]
    after_first = versions(s3, bucket)
    assert set(after_first.values()) == {1} and len(after_first) == 6
    # WHEN it is archived again with no change
    second = export.archive(adb, s3, bucket, tables=[table])
    # THEN nothing is uploaded: not one new object version
    assert {r.status for r in second.results} == {"unchanged"}
    assert versions(s3, bucket) == after_first
    # WHEN a late row arrives for October
    adb.execute("insert into raw.archive_test__edge_values (id, ts, label, _run_id) "
                "values (99, '2026-10-15 12:00+00', 'late', 'late-run')")
    third = export.archive(adb, s3, bucket, tables=[table])
    # THEN exactly October gets one new version of its Parquet file and of its manifest
    assert [(r.partition, r.status) for r in third.results] == [
        ("2026-03", "unchanged"), ("2026-10", "uploaded"), ("2026-11", "unchanged")]
    now = versions(s3, bucket)
    october = store.partition_prefix("warehouse", table.qualified, "2026-10")
    assert {k: n for k, n in now.items() if n > 1} == {f"{october}/part-0.parquet": 2, f"{october}/_manifest.json": 2}
    manifest = store.read_manifest(s3, bucket, f"{october}/_manifest.json")
    assert manifest["rows"] == 4 and manifest["previous_manifest_version"]
    old = store.read_manifest(s3, bucket, f"{october}/_manifest.json", manifest["previous_manifest_version"])
    assert old["rows"] == 3 and old["objects"][0]["version_id"] != manifest["objects"][0]["version_id"]


def test_an_emptied_warehouse_is_not_archived_over_the_archive(adb, s3, bucket):
    from tracker.archive import export, first_run
    from tracker.archive.tables import archivable_tables

    adb.execute("insert into raw.lastfm__scrobbles (person_id, played_at, artist, track, lastfm_user, record, _run_id) "
                "values ('me', '2026-10-01 10:00+00', 'a', 't', 'u', '{}', 'r')")
    tables = archivable_tables()
    assert export.archive(adb, s3, bucket, tables=tables).uploaded
    # GIVEN the warehouse lost its rows (the people table is written by every DAG's first task)
    adb.execute("truncate raw.lastfm__scrobbles")
    adb.execute("insert into raw.tracker__people (person_id, timezone, config, _run_id) values "
                "('me', 'UTC', '{}', 'r')")
    # THEN the first-run offer says what a restore brings back, and an archive run refuses to start
    offer = first_run.restore_offer(adb, s3, bucket)
    assert offer is not None and offer.partitions == {"raw.lastfm__scrobbles": 1}
    with pytest.raises(export.WarehouseLooksEmpty, match="restore first"):
        export.archive(adb, s3, bucket, tables=tables)
    # AND with data present again there is no offer
    adb.execute("insert into raw.lastfm__scrobbles (person_id, played_at, artist, track, lastfm_user, record, _run_id) "
                "values ('me', '2026-10-01 10:00+00', 'a', 't', 'u', '{}', 'r')")
    assert first_run.restore_offer(adb, s3, bucket) is None


def test_first_run_offer_asks_and_restores_everything(adb, s3, bucket):
    from tracker.archive import canonical, export, first_run
    from tracker.archive.tables import table

    history = table("raw.trakt__history")
    adb.execute("insert into raw.trakt__history (person_id, history_id, watched_at, action, media_type, record,"
                " _run_id) select 'me', i, timestamptz '2026-10-30 00:00+00' + i * interval '1 day', 'watch', "
                "'movie', '{}', 'r' from generate_series(1, 5) i")
    before = canonical.fingerprint(adb, [history])
    export.archive(adb, s3, bucket, tables=[history])
    adb.execute("truncate raw.trakt__history")
    asked, said = [], []
    # WHEN `tracker up` finds the warehouse empty and the person declines
    line = first_run.offer_restore(adb, s3, bucket, ask=lambda q: asked.append(q) or False, log=said.append)
    # THEN it said what the archive holds, asked, and restored nothing
    assert "2 archived partitions of 1 tables" in said[0] and asked and "not restored" in line
    assert adb.execute("select count(*) from raw.trakt__history").fetchone()[0] == 0
    # WHEN the person accepts
    line = first_run.offer_restore(adb, s3, bucket, ask=lambda q: True, log=said.append)
    # THEN everything comes back, and the line says so
    assert line == "archive: restored 5 rows into 2 partitions (2 identical to the archive)"
    assert canonical.fingerprint(adb, [history]) == before
    assert "nothing to offer" in first_run.offer_restore(adb, s3, bucket, ask=lambda q: True)
