"""
### GitHub activity → `raw.github__{commits,pull_requests,reviews,issues,contributions_daily}`

For every person with `accounts.github` in the config (`TRACKER_CONFIG`): commits they authored (with line
counts), pull requests and issues they opened, reviews they submitted, and the contribution calendar. One task
per entity, each loading exactly the run's data interval (one UTC day) on its table's time column; a rerun or
backfill leaves the same rows, and records failing validation go to `raw.quarantine`. Connection `github`:
password = token, extras `rest_url` / `graphql_url` for GitHub Enterprise Server or the demo server. Bad
credentials fail at once (no retries) with a message naming the connection; rate limits are waited out or
retried.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import CronDataIntervalTimetable, dag
from tracker_airflow.assets import RAW_GITHUB
from tracker_airflow.common import (
    DEFAULT_ARGS,
    OWNER_LINKS,
    choose_people,
    extract_per_person,
    source_params,
    warehouse_ready,
)


@dag(
    dag_id="github_activity",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=2,
    default_args=DEFAULT_ARGS,
    owner_links=OWNER_LINKS,
    params=source_params("github"),
    tags=["source", "github", "activity"],
    doc_md=__doc__,
)
def github_activity():
    ready, people = warehouse_ready(), choose_people("github")
    ready >> people
    for entity, asset in RAW_GITHUB.items():
        extract_per_person("github", people, task_id=f"extract_load_{entity}", outlets=[asset],
                           options={"entities": [entity]})


github_activity()
