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
from airflow.sdk import CronDataIntervalTimetable, dag
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
    dag_id="google_health_fitness",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    owner_links=OWNER_LINKS,
    params=source_params("google_health"),
    tags=["source", "fitbit", "health"],
    doc_md=__doc__,
)
def google_health():
    ready, people = warehouse_ready(), choose_people("google_health")
    ready >> people
    extract_per_person("google_health", people, task_id="extract_load_health",
                       outlets=source_assets("google_health"))


google_health()
