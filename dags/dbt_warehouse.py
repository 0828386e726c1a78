"""
### dbt: raw → silver → gold

Runs the dbt project through astronomer-cosmos (one task per model: `dbt build` of the model with its unit and
data tests; tests spanning several models run in their own task once all their models are built) whenever any
raw table's Asset is updated. Cosmos renders the graph from the manifest `tracker up` publishes after
`dbt parse`; lineage is in the dbt docs site linked from the Airflow menu.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.sdk import AssetAny
from cosmos import DbtDag, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import InvocationMode, LoadMode, TestBehavior
from cosmos.profiles import PostgresUserPasswordProfileMapping
from tracker_airflow.assets import RAW_ASSETS
from tracker_airflow.common import DEFAULT_ARGS

PROJECT_DIR = Path(os.environ.get("DBT_PROJECT_DIR", Path(__file__).parents[1] / "dbt_project"))
# published by `tracker up` (stack.local.publish_manifest), apart from the target folder dbt runs write into
MANIFEST = Path(os.environ.get("TRACKER_DBT_MANIFEST")
                or Path(os.environ.get("DBT_TARGET_PATH", PROJECT_DIR / "target")) / "manifest.json")

dbt_warehouse = DbtDag(
    dag_id="dbt_warehouse",
    schedule=AssetAny(*RAW_ASSETS),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS | {"retries": 2, "retry_delay": timedelta(minutes=1)},
    tags=["dbt", "silver", "gold"],
    doc_md=__doc__,
    project_config=ProjectConfig(dbt_project_path=PROJECT_DIR, manifest_path=MANIFEST,
                                 install_dbt_deps=False),
    profile_config=ProfileConfig(
        profile_name="tracker", target_name="airflow",
        profile_mapping=PostgresUserPasswordProfileMapping(conn_id="tracker_warehouse",
                                                           profile_args={"schema": "silver"})),
    execution_config=ExecutionConfig(invocation_mode=InvocationMode.DBT_RUNNER),
    render_config=RenderConfig(load_method=LoadMode.DBT_MANIFEST, test_behavior=TestBehavior.BUILD,
                               should_detach_multiple_parents_tests=True),
    operator_args={"install_deps": False},
)
