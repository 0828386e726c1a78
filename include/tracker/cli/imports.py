"""`tracker import …`: export files → raw tables (commands in import_consumption.py and import_fitbit.py).

After an import changed rows, each changed raw table's Asset gets an event through Airflow's REST API, so the
dbt DAG (scheduled on every raw Asset) refreshes silver and gold; without Airflow the import still succeeds.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Annotated, Any

import typer

from tracker.cli.common import console

import_app = typer.Typer(no_args_is_help=True, help="Import export files (idempotent: re-importing changes nothing).")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout (progress on stderr).")]
RefreshOpt = Annotated[bool, typer.Option("--refresh-gold/--no-refresh-gold",
                                          help="Post an Asset event per changed raw table, so dbt_warehouse "
                                               "runs (needs the stack's Airflow; skipped when it is not up).")]


def register(app: typer.Typer) -> None:
    from tracker.cli import import_consumption, import_fitbit  # noqa: F401 - their commands join import_app

    app.add_typer(import_app, name="import")


def jsonable(value: Any) -> Any:  # noqa: ANN401 - any summary value
    """A summary (dataclasses, Counters, tuple-keyed counters, paths) as plain JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        if any(isinstance(k, tuple) for k in value):  # (table, reason) → rows
            return [{"key": list(k), "count": jsonable(v)} for k, v in sorted(value.items())]
        return {str(k): jsonable(v) for k, v in (value.most_common() if isinstance(value, Counter) else
                                                  value.items())}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def refresh_gold(changed: dict[str, int], run_id: str, command: str) -> dict:
    """Post an Asset event for each raw table in `changed` (qualified name → rows written) so the dbt DAG
    runs. Airflow not up, refusing, or not knowing a table's Asset: one line each, never a failure (the
    import itself worked). Returns what happened, for --json."""
    from tracker import settings
    from tracker.airflow_api import AirflowApi, AirflowRefused, AirflowUnavailable

    result: dict = {"changed_tables": sorted(changed), "asset_events": [], "airflow": None, "unknown_assets": []}
    if not changed:
        result["airflow"] = "not needed"
        console.print("gold: no raw table changed, nothing to refresh")
        return result
    later = "gold refreshes with dbt_warehouse's next run (or run `tracker dbt build` now)"
    if not (settings.state_dir() / "secrets.json").exists():
        result["airflow"] = "not set up"
        console.print(f"[yellow]note:[/yellow] no local stack here ({settings.state_dir()}): {later}",
                      soft_wrap=True)
        return result
    try:
        api = AirflowApi.for_stack(timeout=15)
        ids = api.asset_ids(sorted(changed))
        for name in sorted(changed):
            if name not in ids:
                result["unknown_assets"].append(name)
                continue
            event = api.post_asset_event(ids[name], {"source": command, "run_id": run_id, "rows": changed[name]})
            result["asset_events"].append({"asset": name, "asset_id": ids[name], "event_id": event.get("id")})
    except AirflowUnavailable:
        result["airflow"] = "not up"
        console.print(f"[yellow]note:[/yellow] Airflow is not up ({settings.airflow_url()}): {later}",
                      soft_wrap=True)
        return result
    except AirflowRefused as exc:
        result["airflow"] = f"refused: {exc}"
        console.print(f"[yellow]note:[/yellow] Airflow refused the Asset event ({exc}): {later}", soft_wrap=True)
        return result
    result["airflow"] = "ok"
    if result["asset_events"]:
        console.print("gold: Asset event posted for " + ", ".join(e["asset"] for e in result["asset_events"])
                      + f" → dbt_warehouse runs (see {settings.airflow_url()})", soft_wrap=True)
    if result["unknown_assets"]:
        console.print("[yellow]note:[/yellow] Airflow has no Asset for " + ", ".join(result["unknown_assets"])
                      + f" (no parsed DAG is scheduled on it): {later}", soft_wrap=True)
    return result
