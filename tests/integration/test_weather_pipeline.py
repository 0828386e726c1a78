"""Weather end to end on the real stack pieces: demo Open-Meteo → dag.test() → raw → dbt → gold."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

pytestmark = pytest.mark.integration

TABLES = ["raw.open_meteo__hourly", "raw.quarantine", "gold.fct_weather_daily"]


def checksum(conn, table: str) -> tuple[int, str]:
    return conn.execute(f"select count(*), coalesce(md5(string_agg(t::text, '|' order by t::text)), '') "
                        f"from {table} t").fetchone()


def run_weather_dag(start: datetime, end: datetime):
    """dag.test() a run whose data interval is [start, end) (it infers the interval ending at the date)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder="dags/weather_open_meteo.py")
    assert not bag.import_errors, bag.import_errors
    run = bag.get_dag("weather_open_meteo").test(logical_date=end)
    assert (run.data_interval_start, run.data_interval_end) == (start, end)
    return run


def test_weather_dag_loads_window_and_reruns_identically(warehouse, demo_api, airflow_db, dbt_manifest):
    # GIVEN an empty weather table
    warehouse.execute("truncate raw.open_meteo__hourly")
    # WHEN the DAG runs for one daily data interval
    run = run_weather_dag(datetime(2026, 10, 5, tzinfo=UTC), datetime(2026, 10, 6, tzinfo=UTC))
    # THEN 24 hourly rows for the configured location land, all inside the window
    assert run.state == "success"
    n, lo, hi = warehouse.execute("select count(*), min(observed_at), max(observed_at) "
                                  "from raw.open_meteo__hourly").fetchone()
    assert n == 24, n
    assert (lo, hi) == (datetime(2026, 10, 5, tzinfo=UTC), datetime(2026, 10, 5, 23, tzinfo=UTC)), (lo, hi)
    before = {t: checksum(warehouse, t) for t in TABLES[:2]}
    # WHEN the same window runs again
    assert run_weather_dag(datetime(2026, 10, 5, tzinfo=UTC), datetime(2026, 10, 6, tzinfo=UTC)).state == "success"
    # THEN nothing changed, not even load metadata
    assert {t: checksum(warehouse, t) for t in TABLES[:2]} == before


def test_overlapping_window_does_not_duplicate(warehouse, demo_api):
    from tracker.config import load_config
    from tracker.sources.open_meteo import OpenMeteoClient
    from tracker.sources.open_meteo.extract import extract_and_load
    from tracker.windows import ExtractWindow

    client = OpenMeteoClient(archive_url=f"{demo_api}/open-meteo/v1/archive",
                             forecast_url=f"{demo_api}/open-meteo/v1/forecast")
    config = load_config()
    warehouse.execute("truncate raw.open_meteo__hourly")
    # GIVEN one day loaded
    extract_and_load(warehouse, client, config, ExtractWindow(datetime(2026, 9, 1, tzinfo=UTC),
                                                              datetime(2026, 9, 2, tzinfo=UTC)), "run-a")
    first_day = checksum(warehouse, "raw.open_meteo__hourly")
    # WHEN a wider window that overlaps it is loaded
    [load] = extract_and_load(warehouse, client, config, ExtractWindow(datetime(2026, 8, 31, 12, tzinfo=UTC),
                                                                       datetime(2026, 9, 3, tzinfo=UTC)), "run-b")
    # THEN only the new hours are inserted and the overlap is left untouched
    assert (load.inserted, load.updated, load.deleted) == (36, 0, 0)
    n, distinct = warehouse.execute("select count(*), count(distinct (location_name, observed_at)) "
                                    "from raw.open_meteo__hourly").fetchone()
    assert n == distinct == 60
    assert warehouse.execute("select count(*) from raw.open_meteo__hourly where _run_id = 'run-a'").fetchone()[0] == 24
    assert first_day[0] == 24


def test_dbt_builds_gold_weather_and_rebuild_is_identical(warehouse, demo_api, airflow_db, dbt_manifest, tmp_path,
                                                          monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    # GIVEN three days of raw weather loaded by the DAG
    warehouse.execute("truncate raw.open_meteo__hourly")
    for day in (10, 11, 12):
        run_weather_dag(datetime(2026, 10, day, tzinfo=UTC), datetime(2026, 10, day + 1, tzinfo=UTC))
    # WHEN the Cosmos dbt DAG's weather tasks (with everything upstream of them) run: the producer's one
    # `dbt build` of the project, then each weather model's task reporting the model's result and its tests' —
    # the whole DAG runs in the demo and the e2e flow; here its weather slice
    bag = DagBag(dag_folder="dags/dbt_warehouse.py")
    assert not bag.import_errors, bag.import_errors
    full = bag.get_dag("dbt_warehouse")
    dbt_dag = full.partial_subset([t.task_id for t in full.tasks if "weather" in t.task_id or "meteo" in t.task_id],
                                  include_upstream=True)
    # (the singular test assert_weather_daily_matches_hourly_row_count, of fct_weather_daily and the hourly model
    # above it, is fct_weather_daily's)
    assert {t.task_id for t in dbt_dag.tasks} >= {"dbt_producer_watcher", "stg_open_meteo__hourly_run",
                                                  "fct_weather_daily_run"}
    tests_of = dbt_dag.get_task("dbt_producer_watcher").tests_per_model
    assert "test.tracker.assert_weather_daily_matches_hourly_row_count" in tests_of["model.tracker.fct_weather_daily"]
    assert not [t for t in tests_of["model.tracker.stg_open_meteo__hourly"] if "matches_hourly" in t]
    assert dbt_dag.test().state == "success"
    # THEN gold has one row per local (Europe/Berlin) date; the first and last are partial UTC-edge days
    rows = warehouse.execute("select local_date::text, hours_observed, is_complete_day from gold.fct_weather_daily "
                             "order by local_date").fetchall()
    assert rows == [("2026-10-10", 22, False), ("2026-10-11", 24, True), ("2026-10-12", 24, True),
                    ("2026-10-13", 2, False)]
    before = checksum(warehouse, "gold.fct_weather_daily")
    # WHEN the window is re-extracted and dbt runs again, THEN gold is identical
    run_weather_dag(datetime(2026, 10, 11, tzinfo=UTC), datetime(2026, 10, 12, tzinfo=UTC))
    assert dbt_dag.test().state == "success"
    assert checksum(warehouse, "gold.fct_weather_daily") == before
    # AND the analyst role can read gold but not raw
    import psycopg
    from tracker import settings

    with psycopg.connect(settings.warehouse_dsn(settings.ANALYST_ROLE)) as analyst:
        assert analyst.execute("select count(*) from gold.fct_weather_daily").fetchone()[0] == 4
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            analyst.execute("select 1 from raw.open_meteo__hourly")
    # AND the DAG's last task rewrites the local report once every model task is done, whatever their outcome
    # (a teardown: it does not decide the run's state, the model tasks do)
    report = full.get_task("refresh_report")
    assert report.is_teardown and report.trigger_rule == "all_done_setup_success"
    assert [t.task_id for t in full.tasks if not t.downstream_task_ids] == ["refresh_report"]
    assert "fct_weather_daily_run" in report.get_flat_relative_ids(upstream=True)
    monkeypatch.setenv("TRACKER_REPORT_DIR", str(tmp_path / "report"))
    assert full.partial_subset(["refresh_report"], include_upstream=False).test().state == "success"
    page = (tmp_path / "report" / "daily_overview.html").read_text()
    assert "Resting heart rate" in page
