"""`tracker import …`: export files → raw tables (commands in import_consumption.py and import_fitbit.py)."""

from __future__ import annotations

import typer

import_app = typer.Typer(no_args_is_help=True, help="Import export files (idempotent: re-importing changes nothing).")


def register(app: typer.Typer) -> None:
    from tracker.cli import import_consumption, import_fitbit  # noqa: F401 - their commands join import_app

    app.add_typer(import_app, name="import")
