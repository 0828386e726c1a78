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
    warehouse.commit()
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
