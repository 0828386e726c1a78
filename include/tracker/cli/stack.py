"""`tracker up|down|status|init-warehouse|demo`: the local stack and the demo."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import typer

from tracker import settings as s
from tracker.cli.common import Steps, config, connect_warehouse, console, fail, json_output, print_json
from tracker.demo.study_config import revoked_ids
from tracker.sources.catalogue import source_dags

app = typer.Typer()  # the commands below; register() adds them to the CLI
SOURCE_DAGS = source_dags()  # every API source's DAG, from the source catalogue
STREAM_DAGS = ("produce_events", "aggregate_events")


def register(cli: typer.Typer) -> None:
    for command in app.registered_commands:
        cli.registered_commands.append(command)


@app.command()
def up(demo: bool = typer.Option(True, help="Point sources at the local demo API server.")) -> None:
    """Start PostgreSQL, Kafka (Tansu), S3 (moto), the demo APIs, Airflow and the dbt docs (idempotent)."""
    started = time.monotonic()
    _start_stack(demo)
    console.print(f"stack up in {time.monotonic() - started:.0f}s")
    _offer_restore()
    _print_where()


def _offer_restore() -> None:
    """On an empty warehouse over a non-empty archive: say what it holds, ask (only on a terminal), restore."""
    import sys

    from botocore.exceptions import BotoCoreError, ClientError

    from tracker.archive import first_run, store

    with connect_warehouse(autocommit=True) as conn:
        try:
            console.print(first_run.offer_restore(
                conn, store.client_from_env(), store.default_bucket(),
                ask=lambda question: sys.stdin.isatty() and typer.confirm(question, default=False), log=_line))
        except (BotoCoreError, ClientError) as exc:  # the stack is up; the archive is only not readable now
            console.print(f"archive: not checked (s3://{store.default_bucket()}: {exc})", soft_wrap=True)


def _start_stack(demo: bool) -> None:
    """local.up with a named step per service; a failure (dbt's or airflow's included) is their error output,
    never a traceback."""
    from tracker.stack import local
    from tracker.stack.processes import StackError

    config()  # the DAGs read the config: an invalid one fails here, one line per problem
    try:
        with Steps() as step:
            local.up(demo=demo, step=step)
    except StackError as exc:
        fail(f"{exc}\n(what started keeps running: `tracker status` shows it, `tracker down` stops it)")


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
    from tracker.warehouse.schema import ensure_warehouse, is_first_run

    with connect_warehouse() as conn:
        first = is_first_run(conn)
        applied = ensure_warehouse(conn)
    console.print(f"first run: {first}; applied: {', '.join(applied) or 'nothing new'}")


@app.command()
def demo(days: int = typer.Option(30, min=1, max=92),
         people: int = typer.Option(0, "--people", min=0, max=500,
                                    help="A demo study: N pseudonymous people (p01, p02, …) with every demo account "
                                         "instead of the config's people (written to <state>/study/people.yml)."),
         revoked: int = typer.Option(0, "--revoked", min=0,
                                     help="With --people: the last N people's Google sign-ins are revoked; their "
                                          "extract fails alone and the demo goes on with everyone else."),
         as_json: bool = typer.Option(False, "--json", help="Print a JSON summary on stdout (progress on stderr).")
         ) -> None:
    """Bring the stack up on demo data and run the pipeline for the last `days` days through Airflow."""
    if revoked and not people:
        fail("--revoked needs --people N (a demo study)", code=2)
    with json_output(as_json):
        result = _demo(days, people, revoked)
    if as_json:
        print_json(result)
    if result.get("unexpected_failures"):
        raise typer.Exit(1)


def _unpause_and_run_once(api, dag_id: str, conf: dict | None = None) -> dict:
    """Unpause `dag_id` (its own schedule goes on from here) and run it once now; its run, or RuntimeError."""
    api.wait_for_dag(dag_id)
    api.unpause(dag_id)
    run_id = api.trigger_now(dag_id, conf=conf)
    if (state := api.wait_for_run(dag_id, run_id, timeout=600)) != "success":
        raise RuntimeError(f"{dag_id} run {run_id} ended {state}: see {s.airflow_url()}")
    return {"run_id": run_id, "state": state}


def _demo(days: int, people: int = 0, revoked: int = 0) -> dict:
    from tracker.airflow_api import AirflowApi, RunConflict
    from tracker.stack import local

    began = time.monotonic()
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days)
    study = _use_study_config(people, revoked, start.date()) if people else None
    _start_stack(demo=True)
    if study:
        from tracker.demo.study_config import seed_sign_ins

        seed_sign_ins(people, revoked)
        console.print(f"study: {people} people ({study}); Google sign-ins seeded"
                      f"{f', revoked: {revoked}' if revoked else ''}", soft_wrap=True)
    result: dict = {"window": {"start": start.isoformat(), "end": end.isoformat()}, "runs": {}}
    import requests

    try:  # each failure is one line (dbt's output for dbt), after the step marked ✗
        with Steps() as step:
            step("demo export files (Netflix, Spotify, YouTube, Fitbit) through the importers")
            from tracker.demo.exports import import_demo_exports  # Netflix / Spotify / YouTube export files
            import_demo_exports(days, echo=_line)
            from tracker.demo.fitbit_export import import_demo_export  # the Fitbit export before the API's window
            import_demo_export(days, echo=_line)
            step("Airflow: waiting for the DAGs to be parsed")
            secrets = s.Secrets.load_or_create()
            api = AirflowApi(s.airflow_url(), s.AIRFLOW_USER, secrets.airflow_admin_password)
            for dag_id in (*SOURCE_DAGS, "dbt_warehouse"):
                api.wait_for_dag(dag_id)
            api.unpause("dbt_warehouse", paused=True)  # one dbt run at the end, not one per source
            stamp = int(time.time())
            try:  # another window's demo run at the same logical date (e.g. `--days 7` after 30) is replaced
                runs = {dag_id: api.trigger(dag_id, start, end, run_id=f"demo__{start:%Y%m%d}_{end:%Y%m%d}_{stamp}",
                                            replace_prefix="demo__") for dag_id in SOURCE_DAGS}
            except RunConflict as exc:
                raise RuntimeError(str(exc)) from None
            for dag_id in SOURCE_DAGS:
                api.unpause(dag_id)  # runs of a paused DAG stay queued
            for dag_id, run_id in runs.items():
                step(f"{dag_id}: run {run_id} for [{start:%Y-%m-%d}, {end:%Y-%m-%d})")
                state = api.wait_for_run(dag_id, run_id, timeout=600 + 30 * people)
                failed = _failed_people(api, dag_id, run_id) if state != "success" else {}
                if state != "success" and not failed:
                    raise RuntimeError(f"{dag_id} run {run_id} ended {state}: see {s.airflow_url()}")
                api.wait_until_idle(dag_id)  # unpausing also scheduled yesterday's run
                result["runs"][dag_id] = {"run_id": run_id, "state": state, "failed_people": failed,
                                          "seconds": api.run_seconds(dag_id, run_id)}
                for person, reason in failed.items():  # a person's failure is theirs: the others' rows are in
                    _line(f"  ✗ {dag_id}: {person} failed alone: {reason or 'see the task log in Airflow'}")
            # one dbt run over everything loaded (while dbt_warehouse was paused, raw Asset events queued nothing);
            # from now on each raw Asset event triggers it
            step("dbt_warehouse: one dbt build of silver and gold (Cosmos, one task per model)")
            api.unpause("dbt_warehouse")
            api.wait_until_idle("dbt_warehouse")
            dbt_run_id = api.trigger_now("dbt_warehouse")
            state = api.wait_for_run("dbt_warehouse", dbt_run_id, timeout=900 + 30 * people)
            if state != "success":
                raise RuntimeError(f"dbt_warehouse run {dbt_run_id} ended {state}: see {s.airflow_url()}")
            result["runs"]["dbt_warehouse"] = {"run_id": dbt_run_id, "state": state,
                                               "seconds": api.run_seconds("dbt_warehouse", dbt_run_id)}
            # source freshness on its own clock (hourly): once now, over what the demo loaded
            step("check_freshness: dbt source freshness of every used source (then every hour)")
            result["runs"]["check_freshness"] = _unpause_and_run_once(api, "check_freshness")
            step("dbt docs generate (the catalog now that the tables exist)")
            local.dbt("docs", "generate")
            step("the local report (dashboards/*.yml over gold)")
            from tracker.dashboards.report import regenerate, report_url

            made = regenerate()
            result["report"] = {"url": report_url(), "unavailable": [str(f) for f in made.failures]}
            # the fast path: raw rows → Kafka → realtime aggregates (the DAGs' own schedules go on from here)
            step("produce_events → aggregate_events: the last two days through Kafka into realtime")
            for dag_id in STREAM_DAGS:
                result["runs"][dag_id] = _unpause_and_run_once(
                    api, dag_id, conf={"idle_seconds": 3} if dag_id == "aggregate_events" else None)
    except (RuntimeError, TimeoutError, requests.RequestException) as exc:  # StackError, RunConflict too
        fail(str(exc))
    import psycopg

    with psycopg.connect(s.warehouse_dsn()) as conn:
        result.update(gold_summary(conn))
        if study:
            result["people"] = study_summary(conn, start.date(), end.date())
    result["seconds"] = round(time.monotonic() - began)
    print_gold_summary(result)
    if study:
        print_study_summary(result["people"])
    expected = set(revoked_ids(people, revoked)) if study else set()
    result["unexpected_failures"] = {dag_id: sorted(set(run.get("failed_people", {})) - expected)
                                     for dag_id, run in result["runs"].items()
                                     if set(run.get("failed_people", {})) - expected}
    for dag_id, ids in result["unexpected_failures"].items():
        console.print(f"[red]✗[/red] {dag_id}: {', '.join(ids)} failed (see above)", soft_wrap=True)
    console.print(f"demo done in {result['seconds']}s")
    _print_where()
    return result


def _use_study_config(people: int, revoked: int, collect_from) -> str:  # noqa: ANN001 - a date
    """Write the study's config, point this process at it, and restart Airflow if it runs with another config
    (the DAGs read the config in Airflow's processes). The warehouse and its rows are untouched."""
    import os

    from tracker.demo.study_config import write_study_config
    from tracker.stack import local

    try:
        path = write_study_config(s.state_dir() / "study" / "people.yml", people, revoked, collect_from)
    except ValueError as exc:
        fail(str(exc))
    os.environ["TRACKER_CONFIG"] = str(path)
    running, current = local.airflow_config()
    if running and current != str(path):
        _line(f"Airflow runs with {current or 'the packaged default config'}: restarting it with {path}")
        local.stop_airflow()
    return str(path)


def _failed_people(api, dag_id: str, run_id: str) -> dict[str, str]:  # noqa: ANN001 - an AirflowApi
    """person → why, for a run whose only failed tasks are mapped per-person extracts; {} when another task
    failed too (then the run's failure is not one person's)."""
    tis = api.task_instances(dag_id, run_id)
    failed = [ti for ti in tis if ti["state"] in ("failed", "upstream_failed")]
    if not failed or any(ti.get("map_index", -1) < 0 for ti in failed):
        return {}
    return {str(ti.get("rendered_map_index") or ti["map_index"]): api.failure_reason(dag_id, run_id, ti)
            for ti in failed}


STUDY_COLUMNS = ("person_id", "days", "health_days", "hr_days_missing", "hr_coverage", "steps", "resting_bpm",
                 "asleep_minutes", "commits", "listened_minutes")


def study_summary(conn, start, end) -> list[dict]:  # noqa: ANN001 - a psycopg connection, dates
    """One row per person over the demo's window: days in gold, days with health data, the completeness
    report's heart-rate days without data and coverage (gold.dim_person_sync), and daily means."""
    cur = conn.execute(
        "select s.person_id, count(*), count(*) filter (where s.has_health_data), max(d.days_without_data),"
        " round(max(d.mean_coverage_on_days_with_data)::numeric, 2), round(avg(s.steps)),"
        " round(avg(s.resting_bpm)::numeric, 1), round(avg(s.asleep_minutes)), round(avg(s.commits)::numeric, 1),"
        " round(avg(s.listened_minutes)) from gold.fct_daily_summary as s left join gold.dim_person_sync as d"
        " on d.person_id = s.person_id and d.source_family = 'heart_rate'"
        " where s.local_date >= %s and s.local_date < %s group by s.person_id order by s.person_id", (start, end))
    return [dict(zip(STUDY_COLUMNS, row, strict=True)) for row in cur]


def print_study_summary(rows: list[dict]) -> None:
    from rich import box
    from rich.table import Table

    table = Table(title="The study, per person (means per day of the window)", title_justify="left",
                  box=box.SIMPLE_HEAD)
    for i, header in enumerate(("person", "days", "health\ndays", "HR days\nmissing", "HR\ncoverage", "steps",
                                "rest\nHR", "sleep\nmin", "commits", "music\nmin")):
        table.add_column(header, justify="left" if i == 0 else "right", no_wrap=True)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row.values()))
    console.print(table if rows else "fct_daily_summary: nobody in the window yet")


def _line(message: str) -> None:
    console.print(message, soft_wrap=True)  # one line each, also in a log (no wrapping at 80 columns)


SUMMARY_COLUMNS = ("person_id", "local_date", "steps", "resting_bpm", "asleep_minutes", "commits",
                   "listened_minutes", "watched_minutes", "temperature_mean_c")


def gold_summary(conn, schema: str = "gold", days: int = 7) -> dict:  # noqa: ANN001 - a psycopg connection
    """Rows per gold table, and the last `days` days of fct_daily_summary (the columns that fit a terminal)."""
    from psycopg import sql

    tables = [r[0] for r in conn.execute(
        "select table_name from information_schema.tables where table_schema = %s order by table_name",
        (schema,))]
    rows = {t: conn.execute(sql.SQL("select count(*) from {}").format(sql.Identifier(schema, t))).fetchone()[0]
            for t in tables}
    daily: list[dict] = []
    if "fct_daily_summary" in tables:
        cur = conn.execute(sql.SQL(
            "select {cols} from {table} where local_date > (select max(local_date) from {table}) - %s "
            "order by person_id, local_date").format(
                cols=sql.SQL(", ").join(map(sql.Identifier, SUMMARY_COLUMNS)),
                table=sql.Identifier(schema, "fct_daily_summary")), (days,))
        daily = [dict(zip(SUMMARY_COLUMNS, r, strict=True)) for r in cur]
    return {"gold_rows": rows, "daily_summary": daily}


SUMMARY_HEADERS = ("person", "date", "steps", "rest\nHR", "sleep\nmin", "commits", "music\nmin", "watch\nmin", "°C")


def print_gold_summary(summary: dict) -> None:
    """Two tables that fit 80 columns (a log file's width too)."""
    from decimal import Decimal

    from rich import box
    from rich.table import Table

    rows = Table("gold table", "rows", title="Gold", title_justify="left", box=box.SIMPLE_HEAD)
    rows.columns[1].justify = "right"
    for table, n in summary["gold_rows"].items():
        rows.add_row(table, f"{n:,}")
    console.print(rows)
    daily = Table(title="fct_daily_summary, last 7 days", title_justify="left", box=box.SIMPLE_HEAD)
    for i, header in enumerate(SUMMARY_HEADERS):
        daily.add_column(header, justify="left" if i < 2 else "right", no_wrap=True)
    for row in summary["daily_summary"]:
        daily.add_row(*("" if v is None else f"{v:,.1f}" if isinstance(v, float | Decimal) else str(v)
                        for v in row.values()))
    console.print(daily if summary["daily_summary"] else "fct_daily_summary: no rows yet")


def _print_where() -> None:
    console.print(
        f"\n  Airflow      {s.airflow_url()}  (user [bold]{s.AIRFLOW_USER}[/bold], password in "
        f"{s.state_dir() / 'secrets.json'} → airflow_admin_password)\n"
        f"  Warehouse    {s.warehouse_dsn(password='***')}  (loader_password in secrets.json)\n"
        f"  Analyst      {s.warehouse_dsn(s.ANALYST_ROLE, password='***')}  (analyst_password; read-only, "
        "gold only: use it for Metabase)\n"
        f"  dbt docs     {s.docs_url()}  (same login as Airflow)\n"
        f"  Report       {s.docs_url()}/report/  (same login; `tracker report` rewrites it)\n"
        f"  S3 (moto)    {s.s3_endpoint()}  bucket {s.BUCKET}\n"
        f"  Kafka        {s.kafka_bootstrap()}\n"
        f"  Demo APIs    {s.demo_url()}\n"
    )
