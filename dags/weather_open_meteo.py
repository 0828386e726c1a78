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
from tracker_airflow.assets import source_assets
from tracker_airflow.common import (
    DEFAULT_ARGS,
    OWNER_LINKS,
    choose_people,
    extract_per_person,
    source_params,
    warehouse_ready,
)


@dag(
    dag_id="weather_open_meteo",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=3,
    default_args=DEFAULT_ARGS,
    owner_links=OWNER_LINKS,
    params=source_params("weather"),
    tags=["source", "weather", "open_meteo"],
    doc_md=__doc__,
)
def weather_open_meteo():
    @task.sensor(poke_interval=60, timeout=30 * 60, mode="reschedule")
    def open_meteo_answers() -> bool:
        from tracker_airflow.hooks import OpenMeteoHook

        return OpenMeteoHook().get_client().ping()

    people = choose_people("weather")
    warehouse_ready() >> open_meteo_answers() >> people
    extract_per_person("weather", people, task_id="extract_load_hourly", outlets=source_assets("weather"))


weather_open_meteo()
