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
    dag_id="trakt_history",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=3,
    default_args=DEFAULT_ARGS,
    owner_links=OWNER_LINKS,
    params=source_params("trakt"),
    tags=["source", "trakt", "consumption"],
    doc_md=__doc__,
)
def trakt_history():
    ready, people = warehouse_ready(), choose_people("trakt")
    ready >> people
    extract_per_person("trakt", people, task_id="extract_load_history", outlets=source_assets("trakt"))


trakt_history()
