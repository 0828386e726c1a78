"""`tracker extract SOURCE --start --end`: run an API source's extract without Airflow.

Credentials come from environment variables (listed in the command's help, from the source catalogue);
`--demo` (or TRACKER_DEMO=1) points every URL at the demo API server and fills in its demo credentials.
"""

from __future__ import annotations

import functools
import os
from datetime import UTC, date, datetime
from typing import Annotated

import typer

from tracker.cli.common import config as load_cli_config
from tracker.cli.common import console, fail, pick_people, unreachable
from tracker.sources.catalogue import Credentials, Source, api_sources, source


def _env_help() -> str:
    lines = []
    for s in api_sources():
        names = ", ".join(f"{var} ({field})" for field, var in s.env.items())
        lines.append(f"{s.id}: {names}")
    return ("Credentials and base URLs come from environment variables — "
            + "; ".join(lines)
            + ". Google Health's tokens are the person's row in auth.oauth_tokens (`tracker auth google-health`). "
            "--demo or TRACKER_DEMO=1 points every URL at the demo API server (tracker.settings.demo_url()) "
            "with its demo credentials. The warehouse is TRACKER_WAREHOUSE_DSN, else the local stack's.")


def _day(value: str, option: str) -> datetime:
    try:
        return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
    except ValueError:
        fail(f"{option} {value!r} is not a date (YYYY-MM-DD)")


def credentials(src: Source, *, demo: bool, warehouse) -> Credentials:  # noqa: ANN001 - a connect callable
    """The source's credentials from the environment (over the demo connection's, with `demo`)."""
    from tracker import settings

    base = src.demo_connection(settings.demo_url()) if demo else {}
    values = {"login": base.get("login", ""), "secret": base.get("password", ""), **base.get("extra", {})}
    for field, var in src.env.items():
        if os.environ.get(var):
            values[field] = os.environ[var]
    missing = [src.env[field] for field in src.required if not values.get(field)]
    if missing:
        raise ValueError(f"needs {' and '.join(missing)} (or --demo)")
    secrets = [var for field, var in src.env.items() if field in ("login", "secret")]
    label = (f"environment variable{'s' if len(secrets) > 1 else ''} {'/'.join(secrets)}" if secrets
             else f"the {src.id} URL settings")
    if demo and not any(os.environ.get(v) for v in secrets):
        label = f"the demo credentials of {src.id}"
    return Credentials(login=values.pop("login"), secret=values.pop("secret"), settings=values, label=label,
                       warehouse=warehouse)


def extract(
    source_id: Annotated[str, typer.Argument(metavar="SOURCE", help="An API source of the catalogue: "
                                             + ", ".join(s.id for s in api_sources()))],
    start: Annotated[str, typer.Option("--start", help="First day (YYYY-MM-DD, UTC).")],
    end: Annotated[str, typer.Option("--end", help="Day after the last (YYYY-MM-DD, UTC): [start, end).")],
    person: Annotated[str | None, typer.Option("--person", help="Only this person of the config.")] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Use the demo API server (also TRACKER_DEMO=1).")] = False,
) -> None:
    """Load [START, END) of one API source into the warehouse, as its DAG would; one line per load."""
    import psycopg

    from tracker import settings
    from tracker.http import SourceError
    from tracker.warehouse.people import PersonConflict, register_people
    from tracker.warehouse.schema import ensure_warehouse
    from tracker.windows import ExtractWindow

    try:
        src = source(source_id)
    except ValueError as exc:
        fail(str(exc))
    if src.kind != "api":
        fail(f"{src.id} is read from export files: use `tracker import {src.id.replace('_', '-')}`")
    window_start, window_end = _day(start, "--start"), _day(end, "--end")
    if window_end <= window_start:
        fail(f"--end {end} must be after --start {start}")
    demo = demo or os.environ.get("TRACKER_DEMO") == "1"
    config = load_cli_config()
    config = config.model_copy(update={"people": pick_people(config, person)})
    dsn = settings.loader_dsn()
    run_id = f"extract__{src.id}__{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    try:
        creds = credentials(src, demo=demo, warehouse=lambda: psycopg.connect(dsn))
        with psycopg.connect(dsn) as conn:
            ensure_warehouse(conn)
            register_people(conn, config.people, run_id)  # a shell's config never changes a stored person
            clients = functools.partial(src.client, creds)  # account → client
            loads = src.extract_function()(conn, clients, config, ExtractWindow(window_start, window_end), run_id)
    except psycopg.OperationalError as exc:
        unreachable(exc)
    except (SourceError, PersonConflict, ValueError, OSError, psycopg.Error) as exc:
        fail(f"{src.id}: {str(exc).strip()}")
    for load in loads:
        console.print(str(load), soft_wrap=True)
    if not loads:
        console.print(f"{src.id}: nobody in the config has a {src.account or 'location'} for it: nothing loaded")


def register(app: typer.Typer) -> None:
    """Add `tracker extract` to the CLI."""
    app.command("extract", epilog=_env_help())(extract)
