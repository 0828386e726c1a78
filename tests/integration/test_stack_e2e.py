"""The local stack as a user meets it: `up` (twice), login-only Airflow API, status, a browser walk-through
(tests/integration/browser_walkthrough.py), `down` by PID."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import browser_walkthrough
import pytest
import requests

pytestmark = pytest.mark.integration

TRACKER = str(Path(sys.executable).with_name("tracker"))


def tracker(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([TRACKER, *args], capture_output=True, text=True, timeout=400)
    assert result.returncode == 0, f"tracker {' '.join(args)}: {result.stdout[-3000:]} {result.stderr[-3000:]}"
    return result


def test_up_twice_login_required_status_and_down_leaves_nothing(pg, airflow_db, monkeypatch, tmp_path):
    import socket

    from tracker import settings
    from tracker.stack import local, processes

    # the session's in-process demo API (other tests' fixture) may hold the demo port: give `up` its own
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        monkeypatch.setenv("TRACKER_DEMO_PORT", str(sock.getsockname()[1]))
    # the weather rows this test's DAG runs load are removed afterwards: later tests share the warehouse
    loaded_before = _weather_run_ids()

    try:
        # GIVEN the stack started twice: the second `up` reuses every process
        tracker("up")
        first = local.status()["services"]
        tracker("up")
        assert local.status()["services"] == first
        assert all(first.values()), first
        # THEN the Airflow API refuses anonymous calls and accepts the stored login
        api = settings.airflow_url()
        assert requests.get(f"{api}/api/v2/dags", timeout=10).status_code == 401
        password = settings.Secrets.load_or_create().airflow_admin_password
        token = requests.post(f"{api}/auth/token", json={"username": settings.AIRFLOW_USER, "password": password},
                              timeout=10).json()["access_token"]
        dags = requests.get(f"{api}/api/v2/dags", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert dags.status_code == 200
        assert requests.post(f"{api}/auth/token", json={"username": settings.AIRFLOW_USER, "password": "admin"},
                             timeout=10).status_code in (401, 403)
        # AND the broker, the S3 server (with the bucket) and the docs site answer
        from confluent_kafka.admin import AdminClient

        assert AdminClient({"bootstrap.servers": settings.kafka_bootstrap()}).list_topics(timeout=10) is not None
        import boto3

        secrets = settings.Secrets.load_or_create()
        s3 = boto3.client("s3", endpoint_url=settings.s3_endpoint(), region_name="us-east-1",
                          aws_access_key_id=secrets.s3_access_key, aws_secret_access_key=secrets.s3_secret_key)
        assert settings.BUCKET in [b["Name"] for b in s3.list_buckets()["Buckets"]]
        # (the docs site only with the stack's login)
        assert requests.get(settings.docs_url(), timeout=10).status_code == 401
        docs = requests.get(settings.docs_url(), auth=(settings.AIRFLOW_USER, password), timeout=10)
        assert docs.status_code == 200 and "dbt Docs" in docs.text
        # AND `status --json` names where everything is, without passwords
        printed = tracker("status", "--json").stdout
        status = json.loads(printed)
        for key in ("warehouse_dsn", "airflow_url", "s3_endpoint", "kafka_bootstrap"):
            assert status[key], key
        assert secrets.loader_password not in printed and secrets.analyst_password not in printed
        # AND the stack's and Airflow's log files and folders are the owner's only
        logs = [settings.state_dir() / "logs", settings.state_dir() / "airflow" / "logs"]
        shared = [f"{oct(path.stat().st_mode & 0o777)} {path}" for folder in logs
                  for path in [folder, *folder.rglob("*")] if path.stat().st_mode & 0o077]
        assert not shared, shared
        # AND the demo's runs for another window at the same logical date are replaced (`tracker demo --days 7`
        # after `make demo`'s 30 days), while anyone else's run there is one clear error, never a traceback
        _demo_runs_of_another_window_are_replaced(api, password)
        # AND in a browser (headless Chromium): log in, trigger a DAG with params from its form and see the run
        # succeed, follow a gold model's lineage in the dbt docs to its dashboard, open the report's chart
        if browser_walkthrough.chromium() is None:
            warnings.warn("Debian chromium is not installed: the browser walk-through did not run", stacklevel=1)
        else:
            browser_walkthrough.walk_through(TRACKER, tmp_path)
    finally:
        _remove_rows_loaded_since(loaded_before)
        # WHEN the stack goes down — every service but the session's PostgreSQL, which later tests share
        # (`tracker down` stops it too, with a fast shutdown; restarting it under Airflow's in-process pool
        # is what this test avoids)
        pids = {name: pid for name, pid in local.status()["services"].items() if pid and name != "postgres"}
        for name in reversed(local.SERVICES):
            if name != "postgres":
                processes.stop(name)
    # THEN no process it started is left, not even a child in their process groups
    assert not [pid for pid in pids.values() if processes._group_alive(pid)]
    assert not any(pid for name, pid in local.status()["services"].items() if name != "postgres")


def _weather_run_ids() -> set[str] | None:
    import psycopg
    from tracker import settings

    with psycopg.connect(settings.loader_dsn()) as conn:
        if conn.execute("select to_regclass('raw.open_meteo__hourly')").fetchone()[0] is None:
            return None
        return {r[0] for r in conn.execute("select distinct _run_id from raw.open_meteo__hourly")}


def _remove_rows_loaded_since(run_ids: set[str] | None) -> None:
    import psycopg
    from tracker import settings

    with psycopg.connect(settings.loader_dsn()) as conn:
        if conn.execute("select to_regclass('raw.open_meteo__hourly')").fetchone()[0] is not None:
            conn.execute("delete from raw.open_meteo__hourly where not (_run_id = any(%s))", (list(run_ids or ()),))


def _demo_runs_of_another_window_are_replaced(api_url: str, password: str) -> None:
    from datetime import UTC, datetime, timedelta

    from tracker import settings
    from tracker.airflow_api import AirflowApi, RunConflict

    airflow = AirflowApi(api_url, settings.AIRFLOW_USER, password)
    airflow.wait_for_dag("weather_open_meteo")
    end = datetime(2026, 6, 1, tzinfo=UTC)
    first = airflow.trigger("weather_open_meteo", end - timedelta(days=30), end, run_id="demo__30d",
                            replace_prefix="demo__")
    second = airflow.trigger("weather_open_meteo", end - timedelta(days=7), end, run_id="demo__7d",
                             replace_prefix="demo__")
    runs = airflow._call("GET", "/dags/weather_open_meteo/dagRuns", params={
        "logical_date_gte": end.isoformat(), "logical_date_lte": end.isoformat()})["dag_runs"]
    assert (first, second) == ("demo__30d", "demo__7d")
    assert [(r["dag_run_id"], r["data_interval_start"][:10]) for r in runs] == [("demo__7d", "2026-05-25")]
    with pytest.raises(RunConflict, match="delete that run in the Airflow UI"):
        airflow.trigger("weather_open_meteo", end - timedelta(days=3), end, run_id="someone_elses")


def test_port_clash_names_port_and_variable(pg, monkeypatch):
    import socket

    from tracker.stack import local
    from tracker.stack.processes import StackError

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        monkeypatch.setenv("TRACKER_DOCS_PORT", str(busy.getsockname()[1]))
        with pytest.raises(StackError, match=rf"port {busy.getsockname()[1]} .*TRACKER_DOCS_PORT"):
            local._check_ports(["docs"])
