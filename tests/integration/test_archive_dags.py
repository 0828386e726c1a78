# ruff: noqa: F401, F811 - pytest fixtures imported from archive_fixtures
"""archive_warehouse and restore_warehouse through dag.test(): the amazon provider's S3Hook on connection
`tracker_s3` pointed at the tests' moto server, the warehouse connection at the archive tests' database."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from archive_fixtures import adb, archive_dsn, bucket, moto_endpoint, s3

pytestmark = pytest.mark.integration


@pytest.fixture()
def connections(monkeypatch, archive_dsn, moto_endpoint, bucket):
    from psycopg.conninfo import conninfo_to_dict

    parts = conninfo_to_dict(archive_dsn)
    monkeypatch.setenv("AIRFLOW_CONN_TRACKER_WAREHOUSE", json.dumps({
        "conn_type": "postgres", "host": parts["host"], "port": int(parts["port"]), "schema": parts["dbname"],
        "login": parts["user"], "password": parts["password"]}))
    monkeypatch.setenv("AIRFLOW_CONN_TRACKER_S3", json.dumps({
        "conn_type": "aws", "login": "test", "password": "test",
        "extra": {"endpoint_url": moto_endpoint, "region_name": "us-east-1", "bucket": bucket, "server": "moto"}}))


def dag_from(path: str, dag_id: str):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=path)
    assert not bag.import_errors, bag.import_errors
    return bag.get_dag(dag_id)


@pytest.mark.parametrize(("run_type", "start", "end", "lookback", "expected"), [
    ("scheduled", datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC), 0, ("2026-10", "2026-10")),
    ("backfill", datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC), 2,
     ("2025-11", "2026-01")),
    ("manual", datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC), 2, (None, None)),
])
def test_months_a_run_archives(run_type, start, end, lookback, expected):
    from tracker.archive.export import months_for_run

    assert months_for_run(run_type, start, end, lookback=lookback) == expected
    assert months_for_run(run_type, start, end, first="2024-01", last="2024-02") == ("2024-01", "2024-02")


def test_archive_dag_archives_one_month_applies_policy_and_restore_dag_brings_it_back(
        adb, s3, bucket, connections, airflow_db):
    from tracker.archive import canonical, store
    from tracker.archive.policy import ArchivePolicy, drift
    from tracker.archive.tables import table

    scrobbles = table("raw.lastfm__scrobbles")
    adb.execute("insert into raw.lastfm__scrobbles (person_id, played_at, artist, track, lastfm_user, record, _run_id)"
                " select 'me', timestamptz '2026-09-20 00:00+00' + i * interval '6 hours', 'artist', 'track ' || i,"
                " 'u', jsonb_build_object('i', i), 'r' from generate_series(1, 200) i")
    months = dict(adb.execute("select to_char(played_at at time zone 'UTC', 'YYYY-MM'), count(*) "
                              "from raw.lastfm__scrobbles group by 1").fetchall())
    assert set(months) == {"2026-09", "2026-10", "2026-11"}
    # WHEN archive_warehouse runs for October (a manual run given the month; scheduled runs pick their interval's)
    run = dag_from("dags/archive_warehouse.py", "archive_warehouse").test(
        run_conf={"from_month": "2026-10", "to_month": "2026-10"})
    assert run.state == "success"
    # THEN exactly October of each table with rows is archived (plus the whole-table partitions), with manifests
    keys = sorted(store.manifest_keys(s3, bucket, "warehouse"))
    monthly = [k for k in keys if "/all/" not in k]
    assert monthly == [f"{store.partition_prefix('warehouse', scrobbles.qualified, '2026-10')}/_manifest.json"], keys
    manifest = store.read_manifest(s3, bucket, monthly[0])
    assert manifest["rows"] == months["2026-10"]
    # AND the bucket carries the policy (read back equal)
    assert drift(s3, bucket, ArchivePolicy.from_env("http://"), server="moto") == []
    # WHEN October is lost and restore_warehouse runs for it
    before = canonical.fingerprint(adb, [scrobbles])
    adb.execute("delete from raw.lastfm__scrobbles where played_at >= '2026-10-01' and played_at < '2026-11-01'")
    restored = dag_from("dags/restore_warehouse.py", "restore_warehouse").test(
        run_conf={"tables": ["raw.lastfm__scrobbles"], "from_month": "2026-10", "to_month": "2026-10"})
    assert restored.state == "success"
    # THEN the table is identical again
    assert canonical.fingerprint(adb, [scrobbles]) == before
