"""
### dbt: raw → silver → gold

Runs the dbt project through astronomer-cosmos (one task per model: `dbt build` of the model with its unit and
data tests; tests spanning several models run in their own task once all their models are built) whenever any
raw table's Asset is updated. Cosmos renders the graph from the manifest `tracker up` publishes after
`dbt parse`; lineage is in the dbt docs site linked from the Airflow menu.

`refresh_report` rewrites the local report (dashboards/*.yml, `tracker report`) once the models are done.

`source_freshness` runs `dbt source freshness` once for every source, beside the models: the freshness rules
of `models/staging/**/_*__sources.yml` (e.g. weather: warn after 36 h, error after 72 h without a load) are
evaluated on every run. A warning is logged and the task succeeds; an error fails the task (and the run), naming
the stale source — the models are still built. Sources only an API DAG writes that nobody in the config uses
are left out (an empty table is "stale").
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.sdk import AssetAny, ExceptionRetryPolicy, RetryAction, RetryRule, task
from cosmos import DbtDag, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import InvocationMode, LoadMode, TestBehavior
from cosmos.operators.local import DbtSourceLocalOperator
from cosmos.profiles import PostgresUserPasswordProfileMapping
from tracker_airflow.assets import RAW_ASSETS
from tracker_airflow.common import DEFAULT_ARGS, OWNER_LINKS, freshness_exclusions

PROJECT_DIR = Path(os.environ.get("DBT_PROJECT_DIR", Path(__file__).parents[1] / "dbt_project"))
# published by `tracker up` (stack.local.publish_manifest), apart from the target folder dbt runs write into
MANIFEST = Path(os.environ.get("TRACKER_DBT_MANIFEST")
                or Path(os.environ.get("DBT_TARGET_PATH", PROJECT_DIR / "target")) / "manifest.json")

PROFILE = ProfileConfig(
    profile_name="tracker", target_name="airflow",
    profile_mapping=PostgresUserPasswordProfileMapping(conn_id="tracker_warehouse", profile_args={"schema": "silver"}))

dbt_warehouse = DbtDag(
    dag_id="dbt_warehouse",
    schedule=AssetAny(*RAW_ASSETS),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS | {"retries": 2, "retry_delay": timedelta(minutes=1)},
    owner_links=OWNER_LINKS,
    tags=["dbt", "silver", "gold"],
    doc_md=__doc__,
    project_config=ProjectConfig(dbt_project_path=PROJECT_DIR, manifest_path=MANIFEST,
                                 install_dbt_deps=False),
    profile_config=PROFILE,
    execution_config=ExecutionConfig(invocation_mode=InvocationMode.DBT_RUNNER),
    render_config=RenderConfig(load_method=LoadMode.DBT_MANIFEST, test_behavior=TestBehavior.BUILD,
                               should_detach_multiple_parents_tests=True),
    operator_args={"install_deps": False},
)

with dbt_warehouse:
    # sources of API DAGs nobody in the config uses are left out: their empty tables would always be "stale"
    unused = freshness_exclusions()
    DbtSourceLocalOperator(task_id="source_freshness", project_dir=PROJECT_DIR, profile_config=PROFILE,
                           invocation_mode=InvocationMode.DBT_RUNNER, install_deps=False, retries=2,
                           # a stale source stays stale for minutes: fail at once (the next dbt run checks again)
                           retry_policy=ExceptionRetryPolicy(rules=[RetryRule(
                               exception="cosmos.exceptions.CosmosDbtRunError", action=RetryAction.FAIL,
                               reason="dbt source freshness found a source past error_after")]),
                           dbt_cmd_flags=["--exclude", *unused] if unused else None,
                           doc_md="`dbt source freshness` of every used source: warn passes, error fails.")

    # the local report (dashboards/*.yml over gold) is rewritten after every run, whatever its models' outcome;
    # the stack's docs server serves it at <dbt docs>/report/ (linked from the Airflow menu)
    @task(task_id="refresh_report", trigger_rule="all_done", retries=2,
          doc_md="Rewrites the local report from gold (`tracker report`); served at <dbt docs>/report/.")
    def refresh_report() -> dict:
        from tracker.dashboards.report import regenerate

        made = regenerate()
        return {"pages": len(made.pages), "unavailable": [str(f) for f in made.failures]}

    model_tasks = list(dbt_warehouse.leaves)
    model_tasks >> refresh_report()
