"""
### Google Health API (Fitbit devices) → `raw.fitbit__*` (source `google_health_api`)

Heart rate, steps, time in heart-rate zones, resting heart rate, HRV, SpO2, respiratory rate, zone limits,
sleep with stages and workouts of each person with `accounts.google_health` in the config. Each run reads
its data interval (one UTC day) **plus the 3 days before it**: phones sync late and sleep stages are
computed after waking, so those days are read again and replaced. Reruns and backfills of any window leave
the same rows; points failing validation go to `raw.quarantine`.

Connection `google_health`: login = OAuth client id, password = client secret, extras `base_url`,
`token_url`. Tokens live in the warehouse (`auth.oauth_tokens`, written by `tracker auth google-health`,
refreshed in place under a lock); a revoked or expired sign-in (`invalid_grant`) fails the task at once
with the command to run — no retries.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import CronDataIntervalTimetable, dag, task
from tracker_airflow.assets import RAW_FITBIT_HEALTH
from tracker_airflow.common import DEFAULT_ARGS, SOURCE_RETRY_POLICY, warehouse_ready


@dag(
    dag_id="google_health",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["source", "fitbit", "health"],
    doc_md=__doc__,
)
def google_health():
    @task(outlets=[RAW_FITBIT_HEALTH], retry_policy=SOURCE_RETRY_POLICY)
    def extract_load_health(data_interval_start=None, data_interval_end=None, dag_run=None, run_id=None):
        from tracker.config import load_config
        from tracker.sources.accounts import people_with_account
        from tracker.sources.google_health.extract import ACCOUNT, extract_and_load
        from tracker.windows import window_for_run
        from tracker_airflow.hooks import GoogleHealthHook, WarehouseHook

        window = window_for_run(data_interval_start, data_interval_end, dag_run.run_after)
        loads = {}
        with WarehouseHook().connect() as conn:
            for person, account in people_with_account(load_config(), ACCOUNT):
                client = GoogleHealthHook().get_client(account)
                loads[person.id] = extract_and_load(conn, client, person, window, run_id).as_dict()
        return loads

    warehouse_ready() >> extract_load_health()


google_health()
