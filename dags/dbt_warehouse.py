"""
### dbt: raw → silver → gold

Runs the dbt project through astronomer-cosmos in its *watcher* mode whenever any raw table's Asset is
updated: `dbt_producer_watcher` runs **one** `dbt build` of the whole project (models, unit and data tests, in
dbt's own order and threads), and every model keeps its own task in the UI — `<model>_run` succeeds when dbt
built that model and its tests passed (a test of several models counts for the one it is defined on). Those tasks
start with the build and, when it is over and their model built and tested, end in the triggerer (no worker
process each, one DAG parse for all: `tracker_airflow.dbt_watch`); the producer's log shows each model and test
as dbt runs it, the model tasks the outcome once the build is done. A model that fails, or whose tests fail,
fails its own task (on a worker; the notifier names it); the models downstream of it are not built and their
tasks end `skipped` (dbt's word), naming the upstream model; the run fails.
Cosmos renders the tasks from the manifest `tracker up` publishes after `dbt parse`; the lineage is in the dbt docs
site linked from the Airflow menu.

Retries: the producer never runs a second `dbt build` (a retry of it is skipped, Cosmos' rule); a model task
retried after the producer ended builds that model itself (`dbt build --select <model>`: the model and its
tests), so a retry succeeds only if the model really builds and passes its tests. Clearing a whole run
re-runs it that way, model by model (slow): trigger a new run instead. `TRACKER_DBT_MODE=local` renders the
former layout (a `dbt build` process per model).

`refresh_report` (a teardown: it runs whatever the models' outcome and does not decide the run's state)
rewrites the local report (dashboards/*.yml, `tracker report`) once the models are done.

Source freshness is not checked here: a run starts only when a source loaded, so the check would never run
for the source that stopped — `check_freshness` evaluates it every hour.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.sdk import AssetAny, task
from cosmos import ExecutionConfig, ProjectConfig, RenderConfig
from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior
from tracker_airflow.assets import RAW_ASSETS
from tracker_airflow.common import DEFAULT_ARGS, OWNER_LINKS
from tracker_airflow.dbt_dag import DbtDagHashedById, manifest_path, project_dir, warehouse_profile
from tracker_airflow.dbt_watch import report_each_model

PROJECT_DIR, MANIFEST, PROFILE = project_dir(), manifest_path(), warehouse_profile()

# TRACKER_DBT_MODE=local: the former layout (a `dbt build` process per model, its tests inside; tests of several
# models in their own task), ≈ 3× slower — kept for comparison (bench/bench_dbt_airflow.py) and as a fallback
MODE = os.environ.get("TRACKER_DBT_MODE", "watcher")
if MODE not in ("watcher", "local"):
    raise ValueError(f"TRACKER_DBT_MODE={MODE!r}: use watcher (the default) or local")
MODE_CONFIG = {
    # one `dbt build` (the producer) + a sensor per model reading its result and its tests' verdict from XCom
    # (tracker_airflow.dbt_watch): NONE renders no test tasks — a task per model's tests (AFTER_EACH) doubled the
    # tasks the triggerer starts, each a deserialization of the whole DAG, and the build keeps its tests
    # (build_with_tests); a test of several models is reported with one of them (tests_by_owner)
    "watcher": {
        # dbt in its own process (SUBPROCESS): the producer reads its JSON log lines and publishes each node's
        # status while dbt goes on on the other core — in-process (DBT_RUNNER) every status is published from
        # dbt's own threads under one lock, and the build took 1.5× longer (bench/bench_dbt_airflow.py).
        # The producer's retry never runs dbt again (Cosmos: it restores the statuses it had published and is
        # skipped; a model task retried after it runs its own model): no reason to wait a minute for it.
        "execution_config": ExecutionConfig(execution_mode=ExecutionMode.WATCHER,
                                            invocation_mode=InvocationMode.SUBPROCESS,
                                            dbt_executable_path=os.environ.get("DBT_EXECUTABLE")
                                            or str(Path(sys.executable).with_name("dbt")),
                                            setup_operator_args={"retry_delay": timedelta(seconds=5),
                                                                 "retry_exponential_backoff": False}),
        "render_config": RenderConfig(load_method=LoadMode.DBT_MANIFEST, test_behavior=TestBehavior.NONE,
                                      should_detach_multiple_parents_tests=False),
        # a model task on a worker (a retry, `dag.test()`) looks at the producer every second
        "operator_args": {"install_deps": False, "poke_interval": 1},
    },
    "local": {
        "execution_config": ExecutionConfig(invocation_mode=InvocationMode.DBT_RUNNER),
        "render_config": RenderConfig(load_method=LoadMode.DBT_MANIFEST, test_behavior=TestBehavior.BUILD,
                                      should_detach_multiple_parents_tests=True),
        "operator_args": {"install_deps": False},
    },
}[MODE]

dbt_warehouse = DbtDagHashedById(
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
    **MODE_CONFIG,
)

with dbt_warehouse:
    if MODE == "watcher":
        # Every model task starts with the build, in the triggerer, and ends there when the build is over and its
        # model built and tested (no worker process, one DAG parse for all: tracker_airflow.dbt_watch). dbt orders
        # the models; the tasks only report, so none waits for another (a chain would start each only after its
        # upstream task ended, level by level after the build). A model dbt skipped because an upstream model
        # failed (or its tests did) ends `skipped`, naming that model. In `dag.test()` (one task at a time) a task
        # that runs before the build gives its turn back (reschedule) instead of waiting for it.
        # In the triggerer the model tasks of a run share one look at the producer's state every half second (one
        # API request for all of them), and one read of the build's statuses once it ended.
        report_each_model(dbt_warehouse, json.loads(MANIFEST.read_text()), poke_interval=0.5)

    # the local report (dashboards/*.yml over gold) is rewritten after every run, whatever its models' outcome;
    # the stack's docs server serves it at <dbt docs>/report/ (linked from the Airflow menu)
    @task(task_id="refresh_report", retries=2,
          doc_md="Rewrites the local report from gold (`tracker report`); served at <dbt docs>/report/.")
    def refresh_report() -> dict:
        from tracker.dashboards.report import regenerate

        made = regenerate()
        return {"pages": len(made.pages), "unavailable": [str(f) for f in made.failures]}

    # a teardown runs once everything upstream is done, whatever its outcome, and leaves the run's state to the
    # model tasks: a failed model fails the run (an all_done leaf that succeeds would have hidden it)
    model_tasks = list(dbt_warehouse.leaves)
    model_tasks >> refresh_report().as_teardown()
