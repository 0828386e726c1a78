"""dbt: the dbt_warehouse DAG (Cosmos, through `dag.test()`) vs a plain `dbt build`, same data, same run.

Usage: python bench/bench_dbt_airflow.py [--days 14] [--no-old-mode]

On a private stack (its own state folder, PostgreSQL cluster with the Airflow metadata database, demo API
server; ports picked free, nothing of the local stack is touched) it loads `days` of the demo's data for the
config's people (the export files through the importers, every API source through its extract against the demo
APIs), publishes the manifest and times, each from empty silver/gold:
  (a) a plain `dbt build` of the project,
  (b) the dbt_warehouse DAG in its current mode (watcher: one `dbt build` + a sensor per model and its tests),
  (c) with --old-mode (default on): the DAG in the former per-model mode (one `dbt build` process per model),
and prints (b)/(a) and (c)/(a) (target (b)/(a) ≤ 1.5). (b) and (c) are the runs' durations as Airflow records
them; `dag.test()` runs one task at a time, so the DAG's side task (refresh_report), which the scheduler runs
beside the models' tasks, is left out of the ratio. (Source freshness is checked by its own DAG, check_freshness.)
Then it loads one more day and runs the DAG again (incremental: int_heart_rate_samples_aggregated_to_minutes
only reads the changed days) and prints that run against the first, with the incremental model's own time from
a plain `dbt build` first vs +1 day.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INCREMENTAL = "model.tracker.int_heart_rate_samples_aggregated_to_minutes"
PORTS = ("TRACKER_PG_PORT", "TRACKER_DEMO_PORT", "TRACKER_AIRFLOW_PORT", "TRACKER_S3_PORT", "TRACKER_KAFKA_PORT",
         "TRACKER_DOCS_PORT")
DBT_SCHEMAS = ("silver", "gold")  # what dbt builds (dbt_project.yml); raw stays
# the DAG's task beside the models: the scheduler runs it in parallel with their tasks, `dag.test()` after them
# (the comparable figure leaves it out)
SIDE_TASKS = ("refresh_report",)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def private_env(state: Path) -> None:
    """The stack env (tracker.stack.local.airflow_env) on a private state folder and free ports; set before
    Airflow is imported (it reads its config at import), as tests/conftest.py does."""
    os.environ["TRACKER_STATE_DIR"] = str(state)
    os.environ["TRACKER_HOME"] = str(ROOT)
    for var in PORTS:
        os.environ[var] = str(free_port())
    from tracker.stack.local import airflow_env

    os.environ.update(airflow_env(demo=True))
    os.environ.pop("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", None)
    os.environ["AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT"] = "120"


def start_warehouse(state: Path):
    """The private cluster: roles, databases, raw tables, Airflow's metadata schema."""
    import psycopg
    from tracker import settings
    from tracker.stack.postgres import Cluster, bootstrap
    from tracker.warehouse.schema import ensure_warehouse

    cluster = Cluster(state / "pg", settings.port("postgres"), name="bench-dbt-airflow-pg", state=state)
    cluster.initdb()
    cluster.start(durable=False)
    bootstrap(cluster, settings.Secrets.load_or_create())
    with psycopg.connect(settings.warehouse_dsn()) as conn:
        ensure_warehouse(conn)
    subprocess.run([str(Path(sys.executable).with_name("airflow")), "db", "migrate"], check=True,
                   capture_output=True, env=os.environ.copy())
    return cluster


def start_demo_api() -> None:
    from tracker import settings
    from tracker.demo.server import make_server

    server = make_server(port=settings.port("demo"))
    threading.Thread(target=server.serve_forever, daemon=True).start()


def load_api_sources(start: datetime, end: datetime, run_id: str) -> dict[str, int]:
    """Every API source's extract over [start, end) against the demo APIs (what its DAG's tasks call)."""
    import functools

    import psycopg
    from tracker import settings
    from tracker.cli.extract import credentials
    from tracker.config import load_config
    from tracker.sources.catalogue import api_sources
    from tracker.warehouse.people import sync_people
    from tracker.windows import ExtractWindow

    config = load_config()
    loaded = {}
    dsn = settings.warehouse_dsn()
    with psycopg.connect(dsn) as conn:
        sync_people(conn, config, run_id)
        for src in api_sources():
            creds = credentials(src, demo=True, warehouse=lambda: psycopg.connect(dsn))
            loads = src.extract_function()(conn, functools.partial(src.client, creds), config,
                                           ExtractWindow(start, end), run_id)
            loaded[src.id] = sum(getattr(load, "inserted", 0) + getattr(load, "updated", 0) for load in loads)
    return loaded


def load_demo(days: int, end: datetime) -> dict[str, int]:
    from tracker.demo.exports import import_demo_exports
    from tracker.demo.fitbit_export import import_demo_export
    from tracker.stack.local import seed_demo_sign_in

    seed_demo_sign_in()
    quiet = lambda line: None  # noqa: E731
    import_demo_exports(days, today=end.date(), echo=quiet)
    import_demo_export(days, today=end.date(), echo=quiet)
    return load_api_sources(end - timedelta(days=days), end, "bench-load")


def drop_dbt_relations() -> None:
    """Back to nothing built: every timed run starts from the same raw tables and empty silver/gold (the
    schemas and their grants, from the warehouse DDL, stay)."""
    import psycopg
    from psycopg import sql
    from tracker import settings

    with psycopg.connect(settings.warehouse_dsn(), autocommit=True) as conn:
        relations = conn.execute("select table_schema, table_name, table_type from information_schema.tables "
                                 "where table_schema = any(%s)", (list(DBT_SCHEMAS),)).fetchall()
        for schema, name, kind in relations:
            conn.execute(sql.SQL("drop {} if exists {} cascade").format(
                sql.SQL("view" if kind == "VIEW" else "table"), sql.Identifier(schema, name)))


def plain_dbt_build(target: Path, *command: str) -> tuple[float, dict[str, float]]:
    """`dbt build` (or `command`) of the whole project as a person would run it (profiles.yml, its threads);
    wall seconds and each node's execution time."""
    from tracker.stack.env import stack_env

    env = os.environ | stack_env(demo=True) | {"DBT_TARGET_PATH": str(target), "DBT_LOG_PATH": str(target / "logs")}
    command = command or ("build",)
    began = time.perf_counter()
    result = subprocess.run([str(Path(sys.executable).with_name("dbt")), *command], cwd=ROOT / "dbt_project",
                            env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - began
    if result.returncode and command == ("build",):  # a stale source only makes `source freshness` exit 1
        raise SystemExit(f"plain dbt build failed:\n{result.stdout[-4000:]}{result.stderr[-2000:]}")
    artifact = target / ("run_results.json" if command == ("build",) else "sources.json")
    results = json.loads(artifact.read_text())["results"]
    return seconds, {r["unique_id"]: r.get("execution_time", 0.0) for r in results}


def dag_run(mode: str) -> tuple[float, str, int, dict[str, float]]:
    """The dbt_warehouse DAG in `mode` (TRACKER_DBT_MODE) through `dag.test()`: the run's duration (its start to
    its end, as Airflow shows it; `dag.test()` parses the DAG folder before it), its state, the number of tasks,
    and the seconds of its parts (dbt_producer_watcher, refresh_report, the model tasks)."""
    from airflow.dag_processing.dagbag import DagBag

    os.environ["TRACKER_DBT_MODE"] = mode
    bag = DagBag(dag_folder=str(ROOT / "dags" / "dbt_warehouse.py"))
    if bag.import_errors:
        raise SystemExit(f"dbt_warehouse does not import: {bag.import_errors}")
    dag = bag.get_dag("dbt_warehouse")
    run = dag.test()
    seconds = (run.end_date - run.start_date).total_seconds()
    parts: dict[str, float] = {}
    for ti in run.get_task_instances():
        name = ti.task_id if ti.task_id in SIDE_TASKS + ("dbt_producer_watcher",) else "model tasks"
        parts[name] = parts.get(name, 0.0) + (ti.duration or 0.0)
    return seconds, run.get_state(), len(dag.tasks), parts


def describe(parts: dict[str, float]) -> str:
    return ", ".join(f"{name} {seconds:.1f}s" for name, seconds in sorted(parts.items(), key=lambda p: -p[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--no-old-mode", dest="old_mode", action="store_false",
                        help="skip the former per-model mode (the slowest run)")
    args = parser.parse_args()
    state = Path(tempfile.mkdtemp(prefix="tracker-bench-dbt-airflow-"))
    private_env(state)
    cluster = start_warehouse(state)
    try:
        start_demo_api()
        # the window ends the day before yesterday: the two days added below are still in the past
        end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=2)
        began = time.perf_counter()
        loaded = load_demo(args.days, end)
        print(f"demo data: {args.days} days for the config's people loaded in {time.perf_counter() - began:.0f}s "
              f"(API rows: {', '.join(f'{k} {v:,}' for k, v in loaded.items())})")
        from tracker.stack.local import publish_manifest

        publish_manifest()
        target = state / "plain-dbt"
        plain, nodes = plain_dbt_build(target)
        print(f"(a) plain `dbt build`                       {plain:7.1f}s  ({len(nodes)} nodes)")
        drop_dbt_relations()
        watcher, run_state, tasks, parts = dag_run("watcher")
        models = watcher - sum(parts.get(t, 0.0) for t in SIDE_TASKS)
        print(f"(b) dbt_warehouse run, watcher mode         {watcher:7.1f}s  ({tasks} tasks, run {run_state}; "
              f"{describe(parts)})")
        print(f"    without the side task {', '.join(SIDE_TASKS)}: {models:.1f}s  ratio (b)/(a) {models / plain:4.2f}"
              f"  target ≤ 1.50 — {'met' if models / plain <= 1.5 else 'NOT met'}")
        # one more day of data, then the DAG again: incremental models read only the changed days
        plus = load_api_sources(end, end + timedelta(days=1), "bench-plus-one-day")
        again, again_state, _, again_parts = dag_run("watcher")
        print(f"+1 day ({sum(plus.values()):,} API rows): dbt_warehouse run again {again:7.1f}s (run {again_state}; "
              f"{describe(again_parts)})  vs first {watcher:.1f}s  ratio {again / watcher:4.2f}")
        if args.old_mode:
            drop_dbt_relations()
            old, old_state, old_tasks, old_parts = dag_run("local")
            old_models = old - sum(old_parts.get(t, 0.0) for t in SIDE_TASKS)
            print(f"(c) dbt_warehouse run, old per-model mode   {old:7.1f}s  ({old_tasks} tasks, run {old_state}; "
                  f"{describe(old_parts)})")
            print(f"    without the side task: {old_models:.1f}s  ratio (c)/(a) {old_models / plain:4.2f}  "
                  f"(one more day of data than (a) and (b))")
        drop_dbt_relations()
        full, full_nodes = plain_dbt_build(state / "plain-full")
        load_api_sources(end + timedelta(days=1), end + timedelta(days=2), "bench-plus-another-day")
        incremental, incremental_nodes = plain_dbt_build(state / "plain-incremental")
        print(f"plain `dbt build` from empty {full:.1f}s, after +1 day {incremental:.1f}s "
              f"(ratio {incremental / full:4.2f}); the incremental model alone "
              f"{full_nodes[INCREMENTAL]:.2f}s → {incremental_nodes[INCREMENTAL]:.2f}s "
              f"(ratio {incremental_nodes[INCREMENTAL] / full_nodes[INCREMENTAL]:4.2f}, {args.days + 1} days → +1 day)")
        print("the rest of the project is views and full tables over days of data: its cost is dbt's start-up, "
              "per-node overhead and tests, not the new rows")
    finally:
        if "airflow.settings" in sys.modules:
            sys.modules["airflow.settings"].dispose_orm()
        cluster.stop()
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
