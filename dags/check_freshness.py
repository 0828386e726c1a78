"""
### dbt source freshness, every hour

`dbt source freshness` of every used source: the rules in `models/staging/**/_*__sources.yml` (e.g. weather:
warn after 36 h, error after 72 h without a load). A warning is logged and the run succeeds; an error fails it
(the failure notifier names the stale source; a retry would find it as stale, so none is made).

On a clock, not on loads: `dbt_warehouse` runs when a source has loaded, so a check there never ran for the
source that stopped — the one it is for. Sources only an API DAG writes that nobody in the config uses are
left out (their empty tables would always be "stale"). dbt reads the partial-parse file of `dbt_warehouse`'s
last build (Cosmos' cache): it parses only what changed since, not the whole project.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, CronTriggerTimetable, ExceptionRetryPolicy, RetryAction, RetryRule
from cosmos.constants import InvocationMode
from cosmos.operators.local import DbtSourceLocalOperator
from tracker_airflow.common import DEFAULT_ARGS, OWNER_LINKS, freshness_exclusions
from tracker_airflow.dbt_dag import partial_parse_cache, project_dir, warehouse_profile

with DAG(
    dag_id="check_freshness",
    schedule=CronTriggerTimetable("17 * * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS | {"retries": 2},
    owner_links=OWNER_LINKS,
    tags=["dbt", "platform", "freshness"],
    doc_md=__doc__,
):
    unused = freshness_exclusions()
    DbtSourceLocalOperator(task_id="source_freshness", project_dir=project_dir(), profile_config=warehouse_profile(),
                           invocation_mode=InvocationMode.DBT_RUNNER, install_deps=False,
                           cache_dir=partial_parse_cache("dbt_warehouse"),
                           # a stale source stays stale for minutes: fail at once (the next hour checks again)
                           retry_policy=ExceptionRetryPolicy(rules=[RetryRule(
                               exception="cosmos.exceptions.CosmosDbtRunError", action=RetryAction.FAIL,
                               reason="dbt source freshness found a source past error_after")]),
                           dbt_cmd_flags=["--exclude", *unused] if unused else None,
                           doc_md="`dbt source freshness` of every used source: warn passes, error fails.")
