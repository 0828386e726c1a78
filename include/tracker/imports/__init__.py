"""File imports (`tracker import …`): streaming parsers of export files → raw tables, idempotent."""

from __future__ import annotations

import typer

import_app = typer.Typer(no_args_is_help=True, help="Import export files (idempotent: re-importing changes nothing).")
