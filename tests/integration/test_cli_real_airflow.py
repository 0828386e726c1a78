"""The CLI's Airflow calls against a real Airflow 3 API server (no scheduler): the project's DAGs serialized
into the session's metadata database (`airflow dags reserialize`, which registers their Assets), then
`tracker import` posts real Asset events that queue dbt_warehouse, and `tracker backfill` creates a real
backfill (its runs stay queued without a scheduler: the watch times out with exit 3, as documented)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import typer
from tracker import settings
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
FITBIT = ROOT / "tests" / "fixtures" / "fitbit_export" / "Takeout"
PERSON = "cli_real_airflow"
AIRFLOW = str(Path(sys.executable).with_name("airflow"))


@pytest.fixture(scope="module")
def api_server(pg, airflow_db, dbt_manifest, tmp_path_factory):
    from tracker.private_files import write_private

    password = settings.Secrets.load_or_create().airflow_admin_password
    passwords = tmp_path_factory.mktemp("airflow-auth") / "passwords.json"
    write_private(passwords, json.dumps({settings.AIRFLOW_USER: password}))
    env = {**os.environ, "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords)}
    done = subprocess.run([AIRFLOW, "dags", "reserialize"], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    log = (tmp_path_factory.mktemp("airflow-log") / "api-server.log").open("w")
    server = subprocess.Popen([AIRFLOW, "api-server", "--host", settings.HOST, "--port",
                               str(settings.port("airflow"))], env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{settings.airflow_url()}/api/v2/monitor/health", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            assert server.poll() is None, Path(log.name).read_text()[-3000:]
            time.sleep(1)
        else:
            pytest.fail("the API server did not come up within 180 s")
        yield settings.airflow_url()
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def cli(*args: str, **env: str):
    from tracker.cli import backfill, imports

    app = typer.Typer()
    imports.register(app)
    backfill.register(app)
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200", **env})
    assert "Traceback" not in result.output
    return result


def test_import_posts_real_asset_events_that_queue_dbt_warehouse(api_server, warehouse, tmp_path):
    from tracker.airflow_api import AirflowApi

    config = tmp_path / "people.yml"
    config.write_text(f"people:\n  - id: {PERSON}\n    timezone: Europe/Berlin\n")
    api = AirflowApi.for_stack()
    api.unpause("dbt_warehouse")  # Airflow queues Asset events only for unpaused DAGs (no scheduler runs here)
    try:
        result = cli("import", "fitbit-export", str(FITBIT), "--json", TRACKER_CONFIG=str(config),
                     TRACKER_WAREHOUSE_DSN=settings.warehouse_dsn())
        assert result.exit_code == 0, result.output
        refresh = json.loads(result.stdout)["gold_refresh"]
        assert refresh["airflow"] == "ok", refresh
        posted = {e["asset"] for e in refresh["asset_events"]}
        # the tables the Google Health DAG also writes are Assets dbt_warehouse is scheduled on; export-only
        # tables have no Asset until plugins/tracker_airflow/assets.py lists every source's tables
        from tracker.sources.catalogue import GOOGLE_HEALTH_TABLES

        api_tables = {t.qualified for t in GOOGLE_HEALTH_TABLES}
        assert posted >= api_tables & set(refresh["changed_tables"]) and posted
        assert posted | set(refresh["unknown_assets"]) == set(refresh["changed_tables"])
        assert set(refresh["unknown_assets"]) <= set(refresh["changed_tables"]) - api_tables
        events = api._call("GET", "/assets/events", params={"limit": 100, "order_by": "-timestamp"})["asset_events"]
        assert {e["asset_id"] for e in refresh["asset_events"]} <= {e["asset_id"] for e in events}
        queued = api._call("GET", "/dags/dbt_warehouse/assets/queuedEvents")["queued_events"]
        queued_ids = {q["asset_id"] for q in queued}
        assert {e["asset_id"] for e in refresh["asset_events"]} <= queued_ids
    finally:
        api.unpause("dbt_warehouse", paused=True)
        from tracker.sources.catalogue import raw_tables

        for table in raw_tables():
            if "person_id" in table.columns:
                warehouse.execute(f"delete from {table.qualified} where person_id = %s", (PERSON,))  # noqa: S608
        for table in ("raw.quarantine", "raw.tracker__people"):
            warehouse.execute(f"delete from {table} where person_id = %s", (PERSON,))  # noqa: S608


def test_backfill_against_the_real_api(api_server):
    unknown = cli("backfill", "weather", "--from", "2026-11-10", "--to", "2026-11-11")
    assert unknown.exit_code == 2
    assert unknown.output.startswith("error: unknown DAG 'weather'; the DAGs: ")
    assert "dbt_warehouse, " in unknown.output and len(unknown.output.splitlines()) == 1
    assert "weather_open_meteo" in unknown.output
    # dates no other test uses; the runs are deleted afterwards (the session's metadata DB is shared)
    window = ("--from", "2020-01-01", "--to", "2020-01-02")
    paused = cli("backfill", "weather_open_meteo", *window)
    assert paused.exit_code == 2 and "weather_open_meteo is paused" in paused.output
    from tracker.airflow_api import AirflowApi

    api = AirflowApi.for_stack()
    try:
        started = cli("backfill", "weather_open_meteo", *window, "--unpause", "--timeout", "3", "--poll", "1")
        # no scheduler here: the runs were created and stay queued; the watch gives up with exit 3
        assert started.exit_code == 3, started.output
        assert "2 run(s), logical dates 2020-01-01 00:00 … 2020-01-02 00:00 UTC" in started.output
        assert "0 succeeded, 0 failed, 2 unfinished of 2" in started.output
    finally:
        api.unpause("weather_open_meteo", paused=True)
        for b in api._call("GET", "/backfills", params={"dag_id": "weather_open_meteo"})["backfills"]:
            if not b["completed_at"]:
                api._call("PUT", f"/backfills/{b['id']}/cancel")
        from datetime import UTC, datetime

        for run in api.runs_between("weather_open_meteo", datetime(2020, 1, 1, tzinfo=UTC),
                                    datetime(2020, 1, 2, tzinfo=UTC)):
            api._call("DELETE", f"/dags/weather_open_meteo/dagRuns/{run['dag_run_id']}")
