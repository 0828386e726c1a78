"""`tracker import fitbit-export PATH`: the whole Fitbit / Google Takeout export → raw tables (idempotent)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from tracker.cli.common import config, connect_warehouse, console, fail, json_output, print_json, unreachable
from tracker.cli.imports import JsonOpt, RefreshOpt, import_app, jsonable, refresh_gold


class HrTimezone(StrEnum):
    auto = "auto"
    utc = "utc"
    local = "local"


PathArg = Annotated[Path, typer.Argument(exists=True, help="Takeout zip, Takeout/Fitbit folder or MyFitbitData.")]
PersonOpt = Annotated[str | None, typer.Option("--person", help="Configured person id (default: the only one).")]
HrTimezoneOpt = Annotated[HrTimezone, typer.Option(
    "--hr-timezone", case_sensitive=False,
    help="How heart_rate-*.json times are read: auto (per file, see sources/fitbit_export/timezones.py), utc, "
         "or local.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Reload heart-rate files even when unchanged.")]
WorkersOpt = Annotated[int, typer.Option(min=1, max=8, help="Parallel heart-rate load connections.")]


@import_app.command("fitbit-export")
def fitbit_export(path: PathArg, person: PersonOpt = None, hr_timezone: HrTimezoneOpt = HrTimezone.auto,
                  force: ForceOpt = False, workers: WorkersOpt = 2, as_json: JsonOpt = False,
                  refresh: RefreshOpt = True) -> None:
    """Import a Fitbit export: heart rate, resting HR, HR zones, sleep, HRV, SpO2, sleep scores."""
    with json_output(as_json):
        summary = _import(path, person, hr_timezone, force, workers)
        print_summary(console, summary)
        changed = {name: s.inserted + s.updated + s.deleted for name, s in summary.tables.items()
                   if s.inserted + s.updated + s.deleted}
        gold = refresh_gold(changed, summary.run_id, "tracker import fitbit-export") if refresh else None
    if as_json:
        print_json({**jsonable(summary), "gold_refresh": gold})
    if summary.damaged:
        listed = "; ".join(f"{d.path} ({d.reason})" for d in summary.damaged[:5])
        more = f"; … {len(summary.damaged) - 5} more" if len(summary.damaged) > 5 else ""
        with json_output(as_json):
            fail(f"{len(summary.damaged)} file(s) could not be read and were not imported: {listed + more} — rows "
                 "loaded from them earlier are kept as before (raw.quarantine has one row per file)", code=1)


def _import(path: Path, person: str | None, hr_timezone: HrTimezone, force: bool, workers: int):  # noqa: ANN202
    import psycopg
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from tracker import settings
    from tracker.sources.fitbit_export import import_export
    from tracker.sources.fitbit_export.layout import LayoutError

    cfg = config()  # an invalid config: one line per problem
    dsn = settings.loader_dsn()
    connect_warehouse().close()  # an unreachable warehouse or a malformed DSN: one line, before any work
    with Progress(TextColumn("[bold]{task.description:<20}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=False) as bar:
        task = bar.add_task("scanning export", total=None)

        def on_layout(layout) -> None:
            bar.update(task, total=sum(layout.counts().values()), description="importing")

        def on_file(kind: str, f) -> None:
            bar.update(task, advance=1, description=kind)

        try:
            summary = import_export(path, dsn=dsn, person_id=person, config=cfg, hr_timezone=hr_timezone.value,
                                    force=force,
                                    workers=workers, progress=on_file, on_layout=on_layout)
        except (LayoutError, ValueError, OSError) as exc:
            fail(str(exc))
        except psycopg.OperationalError as exc:
            unreachable(exc)
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            fail(f"the warehouse refused a load ({type(exc).__name__}: {first}); each file is committed on its "
                 "own: re-run the import once fixed")
        bar.update(task, description="done")
    return summary


def print_summary(console, summary) -> None:
    from rich.markup import escape
    from rich.table import Table

    console.print(f"\nFitbit export [bold]{summary.source}[/bold] → person [bold]{summary.person_id}[/bold] "
                  f"({summary.time_zone}), run {summary.run_id}, {summary.seconds:.1f}s")
    files = Table(title="Files", title_justify="left")
    files.add_column("kind")
    files.add_column("files", justify="right")
    for kind, n in sorted(summary.files.items()):
        files.add_row(kind, f"{n:,}")
    files.add_row("[dim]ignored *_GoogleData[/dim]", f"{summary.ignored_google_data:,}")
    files.add_row("[dim]unrecognised[/dim]", f"{len(summary.unrecognised_files):,}")
    console.print(files)

    rows = Table(title="Rows", title_justify="left")
    for col in ("table", "rows read", "inserted", "updated", "replaced/deleted"):
        rows.add_column(col, justify="left" if col == "table" else "right")
    for name, stats in sorted(summary.tables.items()):
        rows.add_row(name, f"{stats.rows:,}", f"{stats.inserted:,}", f"{stats.updated:,}", f"{stats.deleted:,}")
    console.print(rows)

    readings = Table(title="Heart-rate files: time reading", title_justify="left")
    readings.add_column("reading")
    readings.add_column("decided by")
    readings.add_column("files", justify="right")
    for (reading, basis), n in sorted(summary.hr_readings.items()):
        readings.add_row(reading, basis, f"{n:,}")
    if summary.hr_readings:
        console.print(readings)
    if summary.hr_unchanged_files:
        console.print(f"heart-rate files unchanged since their last import (skipped): "
                      f"{summary.hr_unchanged_files:,} ({summary.hr_unchanged_rows:,} rows)")
    if summary.activity_reading:
        console.print(f"steps and exercise times read as {summary.activity_reading} (like the heart-rate files)")
    if summary.google_crosscheck:
        console.print("GoogleData cross-check of decided files: " +
                      ", ".join(f"{k} {v}" for k, v in sorted(summary.google_crosscheck.items())))

    for title, counter in (("Skipped (not loaded, by design)", summary.skipped),
                           ("Quarantined (raw.quarantine)", summary.quarantined)):
        if not counter:
            console.print(f"{title}: none")
            continue
        table = Table(title=title, title_justify="left")
        table.add_column("table / entity")
        table.add_column("reason")
        table.add_column("rows", justify="right")
        for (where, reason), n in sorted(counter.items()):
            table.add_row(where, reason, f"{n:,}")
        console.print(table)

    for d in summary.damaged:
        console.print(f"damaged, not imported: {escape(d.path)}: {escape(d.reason)} — {d.outcome}", soft_wrap=True)
    if summary.skipped_links:
        shown = ", ".join(summary.skipped_links[:10]) + (" …" if len(summary.skipped_links) > 10 else "")
        console.print(f"symlinks skipped (not followed): {len(summary.skipped_links)}: {escape(shown)}",
                      soft_wrap=True)

    if summary.unrecognised:
        table = Table(title="Unrecognised files (not imported)", title_justify="left")
        table.add_column("name pattern")
        table.add_column("files", justify="right")
        for pattern, n in summary.unrecognised.most_common(25):
            table.add_row(pattern, f"{n:,}")
        if len(summary.unrecognised) > 25:
            table.add_row(f"… {len(summary.unrecognised) - 25} more patterns", "")
        console.print(table)
