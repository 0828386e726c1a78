"""`tracker backfill DAG --from DATE --to DATE`: a backfill through Airflow's REST API, with its runs live."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from tracker.cli.common import console, fail

if TYPE_CHECKING:
    from tracker.airflow_api import AirflowApi

DONE = {"success", "failed"}
STYLE = {"success": "green", "failed": "red", "running": "yellow", "queued": "cyan"}
EXIT_FAILED_RUNS, EXIT_TIMEOUT = 1, 3


def register(app: typer.Typer) -> None:
    app.command("backfill")(backfill)


def parse_when(value: str, option: str) -> datetime:
    """YYYY-MM-DD (midnight UTC) or an ISO date-time (UTC when it has no offset)."""
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r} is not a date (YYYY-MM-DD) or an ISO date-time")
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def backfill(
    dag_id: Annotated[str, typer.Argument(help="The DAG to backfill (e.g. weather_open_meteo).")],
    start: Annotated[str, typer.Option("--from", help="First logical date (YYYY-MM-DD, UTC), included.")],
    end: Annotated[str, typer.Option("--to", help="Last logical date (YYYY-MM-DD, UTC), included.")],
    max_active_runs: Annotated[int, typer.Option(min=1, max=16, help="Runs at a time.")] = 2,
    reprocess: Annotated[str, typer.Option(
        help="Existing runs in the window: completed (re-run them all), failed (re-run failed ones only), "
             "none (keep them).")] = "completed",
    unpause: Annotated[bool, typer.Option("--unpause", help="Unpause the DAG first (a paused DAG's runs never "
                                                             "start).")] = False,
    timeout: Annotated[float, typer.Option(help="Stop watching after this many seconds (the backfill goes "
                                                "on in Airflow; exit 3).")] = 3600,
    poll: Annotated[float, typer.Option(help="Seconds between looks at the runs.", min=0.05)] = 3,
) -> None:
    """Backfill DAG over [--from, --to] through Airflow's REST API, showing every run until all are done.

    Exit 0 when every run succeeded, 1 when any failed, 3 when --timeout passed first, 2 for bad input.
    """
    from tracker.airflow_api import AirflowApi, AirflowRefused, AirflowUnavailable

    first, last = parse_when(start, "--from"), parse_when(end, "--to")
    if last < first:
        fail(f"--to {end} is before --from {start}")
    if reprocess not in ("completed", "failed", "none"):
        fail(f"--reprocess {reprocess!r}: one of completed, failed, none")
    try:
        api = AirflowApi.for_stack()
        known = api.dag_ids()
        if dag_id not in known:
            fail(f"unknown DAG {dag_id!r}; the DAGs: {', '.join(known) or '(none parsed yet)'}")
        if api.dag(dag_id)["is_paused"]:
            if not unpause:
                fail(f"{dag_id} is paused: its backfill runs would never start; unpause it in the UI or add "
                     "--unpause")
            api.unpause(dag_id)
        planned = api.backfill_dry_run(dag_id, first, last, max_active_runs, reprocess)
        if not planned:
            fail(f"nothing to backfill: {dag_id} has no run to create in [{start}, {end}] "
                 f"with --reprocess {reprocess}")
        created = api.backfill(dag_id, first, last, max_active_runs, reprocess)
        console.print(f"backfill {created['id']} of {dag_id}: {len(planned)} run(s), logical dates "
                      f"{planned[0]:%Y-%m-%d %H:%M} … {planned[-1]:%Y-%m-%d %H:%M} UTC, {max_active_runs} at a time")
        states = watch(api, dag_id, created["id"], planned, timeout=timeout, poll=poll)
    except AirflowUnavailable as exc:
        fail(f"{exc}: run `tracker up` (or `make demo`) first")
    except AirflowRefused as exc:
        fail(str(exc))
    failed = [when for when, state in states.items() if state == "failed"]
    unfinished = [when for when, state in states.items() if state not in DONE]
    console.print(f"{sum(s == 'success' for s in states.values())} succeeded, {len(failed)} failed, "
                  f"{len(unfinished)} unfinished of {len(states)}")
    if unfinished:
        fail(f"still running after {timeout:.0f}s; the backfill goes on in Airflow (Browse → Backfills)",
             code=EXIT_TIMEOUT)
    if failed:
        fail(f"{len(failed)} run(s) failed: {', '.join(f'{w:%Y-%m-%d}' for w in failed)}; their logs are in "
             "the Airflow UI", code=EXIT_FAILED_RUNS)


def watch(api: AirflowApi, dag_id: str, backfill_id: int, planned: list[datetime], *, timeout: float,
          poll: float) -> dict[datetime, str]:
    """Poll the runs until the backfill is completed and every planned run is done (or `timeout`): a live
    table on a terminal, a line per state change otherwise. Returns logical date → last state seen."""
    from rich.live import Live

    states: dict[datetime, str] = dict.fromkeys(planned, "planned")
    run_ids: dict[datetime, str] = {}
    deadline = time.monotonic() + timeout
    live = Live(render(dag_id, backfill_id, states, run_ids), console=console, refresh_per_second=4,
                transient=False) if console.is_terminal else None
    try:
        if live:
            live.start()
        while True:
            for run in api.runs_between(dag_id, planned[0], planned[-1]):
                when = datetime.fromisoformat(run["logical_date"]) if run.get("logical_date") else None
                if when in states and run["state"] != states[when]:
                    states[when], run_ids[when] = run["state"], run["dag_run_id"]
                    if not live:
                        console.print(f"  {when:%Y-%m-%d %H:%M}  {run['dag_run_id']}  {run['state']}")
            if live:
                live.update(render(dag_id, backfill_id, states, run_ids))
            completed = api.get_backfill(backfill_id).get("completed_at")
            if completed and all(s in DONE for s in states.values()):
                return states
            if time.monotonic() > deadline:
                return states
            time.sleep(poll)
    finally:
        if live:
            live.stop()


def render(dag_id: str, backfill_id: int, states: dict[datetime, str], run_ids: dict[datetime, str]):  # noqa: ANN201
    from rich.table import Table

    done = sum(s in DONE for s in states.values())
    table = Table("logical date (UTC)", "run", "state",
                  title=f"backfill {backfill_id} of {dag_id}: {done}/{len(states)} done", title_justify="left")
    for when, state in states.items():
        colour = STYLE.get(state, "dim")
        table.add_row(f"{when:%Y-%m-%d %H:%M}", run_ids.get(when, ""), f"[{colour}]{state}[/{colour}]")
    return table
