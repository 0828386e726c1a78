"""
### Last.fm scrobbles → `raw.lastfm__scrobbles`

Every finished play (`user.getRecentTracks`) of each person with `accounts.lastfm` in the config
(`TRACKER_CONFIG`). Each run loads exactly its data interval (one UTC day); a rerun or backfill leaves the same
rows, and scrobbles failing validation go to `raw.quarantine`. Connection `lastfm`: password = API key, extra
`base_url` for the demo server. A bad or suspended key fails at once (no retries) naming the connection.
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
    dag_id="lastfm_scrobbles",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=3,
    default_args=DEFAULT_ARGS,
    owner_links=OWNER_LINKS,
    params=source_params("lastfm"),
    tags=["source", "lastfm", "consumption"],
    doc_md=__doc__,
)
def lastfm_scrobbles():
    ready, people = warehouse_ready(), choose_people("lastfm")
    ready >> people
    extract_per_person("lastfm", people, task_id="extract_load_scrobbles", outlets=source_assets("lastfm"))


lastfm_scrobbles()
