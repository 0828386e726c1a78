"""`tracker up|down|status|init-warehouse|demo`: the local stack and the demo."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import typer

from tracker import settings as s
from tracker.cli.common import console, fail
from tracker.sources.catalogue import source_dags

app = typer.Typer()  # the commands below; register() adds them to the CLI
SOURCE_DAGS = source_dags()  # every API source's DAG, from the source catalogue


def register(cli: typer.Typer) -> None:
    for command in app.registered_commands:
        cli.registered_commands.append(command)


@app.command()
def up(demo: bool = typer.Option(True, help="Point sources at the local demo API server.")) -> None:
    """Start PostgreSQL, Kafka (Tansu), S3 (moto), the demo APIs, Airflow and the dbt docs (idempotent)."""
    from tracker.stack import local
    from tracker.stack.processes import StackError

    started = time.monotonic()
    try:
        local.up(demo=demo)
    except StackError as exc:
        fail(str(exc))
    console.print(f"stack up in {time.monotonic() - started:.0f}s")
    _print_where()


@app.command()
def down() -> None:
    """Stop exactly what `tracker up` started (by PID)."""
    from tracker.stack import local

    stopped = local.down()
    console.print(f"stopped: {', '.join(stopped) or 'nothing was running'}")


@app.command()
def status(as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
           show_secrets: bool = typer.Option(False, "--show-secrets",
                                             help="Put the passwords into the DSNs (else: see secrets.json).")) -> None:
    """Where everything is, and which services run."""
    from tracker.stack import local

    info = local.status(show_secrets=show_secrets)
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    for name, pid in info["services"].items():
        console.print(f"  {name:24} {'[green]running[/green] pid ' + str(pid) if pid else '[dim]stopped[/dim]'}")
    _print_where()


@app.command("init-warehouse")
def init_warehouse() -> None:
    """Create schemas and raw tables if missing (the DAGs do this on their first run too)."""
    import psycopg

    from tracker.warehouse.schema import ensure_warehouse, is_first_run

    with psycopg.connect(s.loader_dsn()) as conn:
        first = is_first_run(conn)
        applied = ensure_warehouse(conn)
    console.print(f"first run: {first}; applied: {', '.join(applied) or 'nothing new'}")


@app.command()
def demo(days: int = typer.Option(30, min=1, max=92)) -> None:
    """Bring the stack up on demo data and run the pipeline for the last `days` days through Airflow."""
    from tracker.airflow_api import AirflowApi, RunConflict
    from tracker.stack import local

    began = time.monotonic()
    up(demo=True)
    from tracker.demo.exports import import_demo_exports  # Netflix / Spotify / YouTube export files
    import_demo_exports(days, echo=console.print)
    from tracker.demo.fitbit_export import import_demo_export  # the Fitbit export before the API's window
    import_demo_export(days, echo=console.print)
    secrets = s.Secrets.load_or_create()
    api = AirflowApi(s.airflow_url(), s.AIRFLOW_USER, secrets.airflow_admin_password)
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days)
    for dag_id in (*SOURCE_DAGS, "dbt_warehouse"):
        api.wait_for_dag(dag_id)
    api.unpause("dbt_warehouse", paused=True)  # one dbt run at the end, not one per source
    stamp = int(time.time())
    try:  # another window's demo run at the same logical date (e.g. `--days 7` after 30) is replaced
        runs = {dag_id: api.trigger(dag_id, start, end, run_id=f"demo__{start:%Y%m%d}_{end:%Y%m%d}_{stamp}",
                                    replace_prefix="demo__") for dag_id in SOURCE_DAGS}
    except RunConflict as exc:
        fail(str(exc))
    for dag_id in SOURCE_DAGS:
        api.unpause(dag_id)  # runs of a paused DAG stay queued
    for dag_id, run_id in runs.items():
        console.print(f"{dag_id}: run {run_id} for [{start:%Y-%m-%d}, {end:%Y-%m-%d})")
        if (state := api.wait_for_run(dag_id, run_id)) != "success":
            fail(f"{dag_id} run {run_id} ended {state}: see {s.airflow_url()}")
        api.wait_until_idle(dag_id)  # unpausing also scheduled yesterday's run
    # one dbt run over everything loaded (while dbt_warehouse was paused, raw Asset events queued nothing);
    # from now on each raw Asset event triggers it
    api.unpause("dbt_warehouse")
    api.wait_until_idle("dbt_warehouse")
    dbt_run_id = api.trigger_now("dbt_warehouse")
    run = {"dag_run_id": dbt_run_id, "state": api.wait_for_run("dbt_warehouse", dbt_run_id, timeout=900)}
    if run["state"] != "success":
        fail(f"dbt_warehouse run {dbt_run_id} ended {run['state']}: see {s.airflow_url()}")
    console.print(f"dbt_warehouse: run {run['dag_run_id']} {run['state']}")
    local.dbt("docs", "generate")  # refresh the catalog now that the tables exist
    console.print(f"demo done in {time.monotonic() - began:.0f}s")
    _print_where()


def _print_where() -> None:
    console.print(
        f"\n  Airflow      {s.airflow_url()}  (user [bold]{s.AIRFLOW_USER}[/bold], password in "
        f"{s.state_dir() / 'secrets.json'} → airflow_admin_password)\n"
        f"  Warehouse    {s.warehouse_dsn(password='***')}  (loader_password in secrets.json)\n"
        f"  Analyst      {s.warehouse_dsn(s.ANALYST_ROLE, password='***')}  (analyst_password; read-only, "
        "gold only: use it for Metabase)\n"
        f"  dbt docs     {s.docs_url()}  (same login as Airflow)\n"
        f"  S3 (moto)    {s.s3_endpoint()}  bucket {s.BUCKET}\n"
        f"  Kafka        {s.kafka_bootstrap()}\n"
        f"  Demo APIs    {s.demo_url()}\n"
    )
