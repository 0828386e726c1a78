"""`tracker import netflix|spotify|youtube PATH [--person ID]`: an export file (or folder) → raw tables."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table

from tracker.cli.common import config, connect_warehouse, console, fail, json_output, pick_person, print_json
from tracker.cli.imports import JsonOpt, RefreshOpt, import_app, jsonable, refresh_gold

if TYPE_CHECKING:
    from tracker.imports.runner import ImportSummary

PathArg = Annotated[Path, typer.Argument(exists=True, readable=True, help="Export file, or a folder holding it.")]
PersonOpt = Annotated[str | None, typer.Option("--person", help="Person id from the config (default: the only "
                                                                   "configured person).")]


def run(source: str, path: Path, person_id: str | None, as_json: bool = False, refresh: bool = True) -> None:
    """Check the files, ensure the warehouse, import with a bytes-read progress bar, print the summary, then
    post the changed raw table's Asset event (dbt_warehouse refreshes gold)."""
    with json_output(as_json):
        summary = _import(source, path, person_id)
        print_summary(summary)
        written = summary.inserted + summary.updated
        from tracker.sources.catalogue import SOURCES

        changed = {t.qualified: written for t in SOURCES[source].tables} if written else {}
        gold = refresh_gold(changed, summary.run_id, f"tracker import {source}") if refresh else None
    if as_json:
        print_json({**jsonable(summary), "gold_refresh": gold})


def _import(source: str, path: Path, person_id: str | None) -> ImportSummary:
    import psycopg

    from tracker.imports.consumption import FINDERS, IMPORTERS
    from tracker.sources.export_files import FormatError
    from tracker.warehouse.people import PersonConflict, register_people
    from tracker.warehouse.schema import ensure_warehouse

    person = pick_person(config(), person_id)
    try:
        total = sum(f.stat().st_size for f in FINDERS[source](path.resolve()))
    except (FormatError, OSError) as exc:
        fail(str(exc))
    with connect_warehouse(autocommit=True) as conn:
        ensure_warehouse(conn)
        # the person's time zone must be in raw.tracker__people for dim_person and the gold models' tests, even
        # when no source DAG has run yet; a stored person is never changed by an import (the DAGs sync changes)
        try:
            register_people(conn, [person], f"import-{source}-people")
        except PersonConflict as exc:
            fail(str(exc))
        columns = (TextColumn(f"{source}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                   TimeRemainingColumn())
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task(source, total=total)
            try:
                summary = IMPORTERS[source](conn, path, person,
                                            on_bytes=lambda n: progress.advance(task, n))
            except (FormatError, OSError) as exc:
                fail(f"{exc} (nothing from this import was loaded)")
            except psycopg.Error as exc:
                fail(f"the warehouse refused the load, nothing from this import was loaded: "
                      f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    return summary


def print_summary(summary: ImportSummary) -> None:
    console.print(f"[bold]{summary.source} import for {summary.person_id}[/bold] ({summary.entity})")
    table = Table("", "rows")
    table.columns[1].justify = "right"
    table.add_row("read", f"{summary.read:,}")
    table.add_row("imported", f"{summary.imported:,}")
    for name in ("inserted", "updated", "unchanged"):
        table.add_row(f"  {name}", f"{getattr(summary, name):,}")
    table.add_row("skipped", f"{summary.skipped.total():,}")
    for reason, n in summary.skipped.most_common():
        table.add_row(f"  {reason}", f"{n:,}")
    table.add_row("quarantined", f"{summary.quarantined.total():,}")
    for reason, n in summary.quarantined.most_common():
        table.add_row(f"  {reason}", f"{n:,}")
    console.print(table)
    for note in summary.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
    if summary.quarantined:
        console.print(f"quarantined rows are in raw.quarantine (source '{summary.source}', locator file:line)")
    for file in summary.files:
        console.print(f"file: {file}", soft_wrap=True)
    console.print(f"run id: {summary.run_id}")


@import_app.command("netflix")
def netflix(path: PathArg, person: PersonOpt = None, as_json: JsonOpt = False,
            refresh_gold: RefreshOpt = True) -> None:
    """Netflix ViewingActivity.csv (account data export) → raw.netflix__viewing_activity."""
    run("netflix", path, person, as_json, refresh_gold)


@import_app.command("spotify")
def spotify(path: PathArg, person: PersonOpt = None, as_json: JsonOpt = False,
            refresh_gold: RefreshOpt = True) -> None:
    """Spotify Extended Streaming History (folder or one Streaming_History_Audio_*/endsong_* file)."""
    run("spotify", path, person, as_json, refresh_gold)


@import_app.command("youtube")
def youtube(path: PathArg, person: PersonOpt = None, as_json: JsonOpt = False,
            refresh_gold: RefreshOpt = True) -> None:
    """YouTube Takeout watch-history.json (or the Takeout folder) → raw.youtube__watch_history."""
    run("youtube", path, person, as_json, refresh_gold)
