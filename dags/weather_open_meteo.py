"""
### Weather (Open-Meteo) → `raw.open_meteo__hourly`

Hourly temperature, apparent temperature, precipitation, humidity, wind, weather code, daylight and sunshine
for every configured location (`TRACKER_CONFIG`). Each run loads exactly its data interval (one UTC day);
a rerun or backfill of any window leaves the same rows. Older days come from the archive API, recent ones
from the forecast API. Connection `open_meteo` (optional) points at a self-hosted or demo Open-Meteo.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import CronDataIntervalTimetable, dag, task
from tracker_airflow.assets import RAW_OPEN_METEO_HOURLY
from tracker_airflow.common import DEFAULT_ARGS, SOURCE_RETRY_POLICY, warehouse_ready


@dag(
    dag_id="weather_open_meteo",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=3,
    default_args=DEFAULT_ARGS,
    tags=["source", "weather", "open_meteo"],
    doc_md=__doc__,
)
def weather_open_meteo():
    @task.sensor(poke_interval=60, timeout=30 * 60, mode="reschedule")
    def open_meteo_answers() -> bool:
        from tracker_airflow.hooks import OpenMeteoHook

        return OpenMeteoHook().get_client().ping()

    @task(outlets=[RAW_OPEN_METEO_HOURLY], retry_policy=SOURCE_RETRY_POLICY)
    def extract_load_hourly(data_interval_start=None, data_interval_end=None, dag_run=None, run_id=None):
        from tracker.config import load_config
        from tracker.sources.open_meteo.extract import extract_and_load
        from tracker.windows import window_for_run
        from tracker_airflow.hooks import OpenMeteoHook, WarehouseHook

        window = window_for_run(data_interval_start, data_interval_end, dag_run.run_after)
        with WarehouseHook().connect() as conn:
            loads = extract_and_load(conn, OpenMeteoHook().get_client(), load_config(), window, run_id)
        return {f"{x.person_id}/{x.location}": vars(x.result) | {"quarantined": x.quarantined} for x in loads}

    warehouse_ready() >> open_meteo_answers() >> extract_load_hourly()


weather_open_meteo()
