"""
### Trakt watch history → `raw.trakt__history`

Movies and episodes watched (`GET /sync/history`, extended=full) by the person with `accounts.trakt` in the
config (`TRACKER_CONFIG`; a Trakt token belongs to one user, so one person per connection). Each run loads
exactly its data interval (one UTC day); a rerun or backfill leaves the same rows, and entries failing
validation go to `raw.quarantine`. Connection `trakt`: login = client id, password = access token, extra
`base_url` for the demo server. A bad token fails at once (no retries) naming the connection.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import CronDataIntervalTimetable, dag, task
from tracker_airflow.assets import RAW_TRAKT_HISTORY
from tracker_airflow.common import DEFAULT_ARGS, SOURCE_RETRY_POLICY, warehouse_ready


@dag(
    dag_id="trakt_history",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=3,
    default_args=DEFAULT_ARGS,
    tags=["source", "trakt", "consumption"],
    doc_md=__doc__,
)
def trakt_history():
    @task(outlets=[RAW_TRAKT_HISTORY], retry_policy=SOURCE_RETRY_POLICY)
    def extract_load_history(data_interval_start=None, data_interval_end=None, dag_run=None, run_id=None):
        from tracker.config import load_config
        from tracker.sources.trakt.extract import extract_and_load
        from tracker.windows import window_for_run
        from tracker_airflow.hooks import TraktHook, WarehouseHook

        window = window_for_run(data_interval_start, data_interval_end, dag_run.run_after)
        with WarehouseHook().connect() as conn:
            loads = extract_and_load(conn, TraktHook().get_client(), load_config(), window, run_id)
        return {x.person_id: vars(x.result) | {"quarantined": x.quarantined} for x in loads}

    warehouse_ready() >> extract_load_history()


trakt_history()
