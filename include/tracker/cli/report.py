"""`tracker report` (the local report), `tracker dashboards exposures` (dbt exposures from the definitions) and
`tracker metabase sync` (provision a Metabase from the same definitions)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from tracker.cli.common import config as load_cli_config
from tracker.cli.common import console, fail, pick_person

dashboards_app = typer.Typer(no_args_is_help=True, help="The dashboard definitions (dashboards/*.yml).")
metabase_app = typer.Typer(no_args_is_help=True, help="Provision Metabase from the dashboard definitions.")


def _definitions(folder: Path | None):  # noqa: ANN202 - list[Dashboard]
    from tracker.dashboards.definitions import DefinitionError, load_dashboards

    try:
        return load_dashboards(folder)
    except DefinitionError as exc:
        fail(str(exc))


def report(
    out: Annotated[Path | None, typer.Option(help="Folder to write (default: the stack's, served at "
                                                   "<dbt docs>/report/).")] = None,
    person: Annotated[str | None, typer.Option(help="Person id (default: the only configured person).")] = None,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the report in a browser.")] = False,
    definitions: Annotated[Path | None, typer.Option(help="Folder of dashboard definitions.")] = None,
) -> None:
    """Write the static HTML report: one page per dashboard, every chart drawn from gold."""
    from tracker import settings
    from tracker.dashboards.report import default_report_dir, report_url, write_report

    dashboards = _definitions(definitions)
    person_id = pick_person(load_cli_config(), person).id
    target = out or default_report_dir()
    try:
        made = write_report(target, dashboards, person_id=person_id, docs_url=settings.docs_url() if out is None
                            else None)
    except OSError as exc:
        fail(f"cannot write the report to {target}: {exc.strerror or exc}")
    for failure in made.failures:
        console.print(f"[yellow]not available:[/yellow] {failure}", soft_wrap=True, markup=True)
    index = target / "index.html"
    url = report_url() if out is None else index.resolve().as_uri()
    questions = sum(len(d.questions) for d in dashboards)
    console.print(f"report: {len(dashboards)} dashboards, {questions - len(made.failures)}/{questions} questions "
                  f"answered for {person_id} → {url}", soft_wrap=True)
    if open_browser:
        import webbrowser

        webbrowser.open(index.resolve().as_uri())
    if made.failures:
        raise typer.Exit(1)


@dashboards_app.command("exposures")
def exposures_command(
    check: Annotated[bool, typer.Option("--check", help="Only check that exposures.yml is up to date.")] = False,
    definitions: Annotated[Path | None, typer.Option(help="Folder of dashboard definitions.")] = None,
) -> None:
    """Write dbt_project/models/exposures.yml from the dashboard definitions (dbt docs lineage ends there)."""
    from tracker.dashboards import exposures
    from tracker.dashboards.definitions import DefinitionError

    dashboards = _definitions(definitions)
    try:
        if check:
            path = exposures.exposures_path()
            current = path.read_text(encoding="utf-8") if path.exists() else ""
            if current != exposures.render(dashboards):
                fail(f"{path} is stale: run `tracker dashboards exposures`", code=1)
            console.print(f"{path}: up to date ({len(dashboards)} exposures)")
            return
        path, changed = exposures.write(dashboards)
    except DefinitionError as exc:
        fail(str(exc))
    console.print(f"{path}: {'written' if changed else 'unchanged'} ({len(dashboards)} exposures)")


@metabase_app.command("sync")
def metabase_sync(
    url: Annotated[str, typer.Option(envvar="TRACKER_METABASE_URL", help="Metabase's address.")],
    email: Annotated[str, typer.Option(envvar="TRACKER_METABASE_EMAIL",
                                       help="The admin (created by the first-user setup when Metabase is new).")
                     ] = "tracker@localhost",
    password_env: Annotated[str, typer.Option(help="Environment variable holding the admin's password.")
                            ] = "TRACKER_METABASE_PASSWORD",
    db_host: Annotated[str | None, typer.Option(envvar="TRACKER_METABASE_DB_HOST",
                                                help="Warehouse host as Metabase sees it (default: the stack's).")
                       ] = None,
    db_port: Annotated[int | None, typer.Option(envvar="TRACKER_METABASE_DB_PORT")] = None,
    analyst_password_env: Annotated[str, typer.Option(help="Environment variable with the analyst's password "
                                                           "(default: the local stack's secrets).")
                                    ] = "TRACKER_ANALYST_PASSWORD",
    person: Annotated[str | None, typer.Option(help="Default person of the dashboards' filter.")] = None,
    descriptions: Annotated[bool, typer.Option(help="Push the dbt docs' table and column descriptions "
                                                    "(dbt-metabase).")] = True,
    manifest: Annotated[Path | None, typer.Option(envvar="TRACKER_DBT_MANIFEST",
                                                  help="dbt manifest.json with the descriptions (default: the "
                                                       "one `tracker up` publishes).")] = None,
    definitions: Annotated[Path | None, typer.Option(help="Folder of dashboard definitions.")] = None,
) -> None:
    """Provision Metabase idempotently: first-user setup (setup token), the warehouse as the analyst role, a
    collection, the cards and dashboards. A second sync changes nothing; a changed definition updates in place."""
    from tracker import settings
    from tracker.dashboards import metabase

    dashboards = _definitions(definitions)
    password = os.environ.get(password_env)
    if not password:
        fail(f"set {password_env} to the Metabase admin's password (never passed on the command line)")
    analyst_password = os.environ.get(analyst_password_env) or settings.Secrets.load_or_create().analyst_password
    person_id = pick_person(load_cli_config(), person).id
    database = metabase.WarehouseConnection(host=db_host or settings.HOST, port=db_port or settings.port("postgres"),
                                            dbname=settings.WAREHOUSE_DB, user=settings.ANALYST_ROLE,
                                            password=analyst_password)
    try:
        result = metabase.sync(metabase.MetabaseClient(url), dashboards, admin_email=email, admin_password=password,
                               database=database, person_id=person_id,
                               manifest=_manifest(manifest) if descriptions else None)
    except metabase.MetabaseError as exc:
        fail(str(exc))
    for line in result.lines():
        console.print(line, soft_wrap=True, markup=False)


def _manifest(given: Path | None) -> Path:
    from tracker.stack.env import stack_env

    path = given or Path(stack_env(demo=False)["TRACKER_DBT_MANIFEST"])
    if not path.exists():
        fail(f"no dbt manifest at {path} (run `dbt parse`, or --no-descriptions)")
    return path


def register(app: typer.Typer) -> None:
    app.command("report")(report)
    app.add_typer(dashboards_app, name="dashboards")
    app.add_typer(metabase_app, name="metabase")
