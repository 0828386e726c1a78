"""What every command shares: the console, one way to fail, one person picker, one warehouse connection."""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    import psycopg

    from tracker.config import Person, TrackerConfig

console = Console(highlight=False)


def fail(message: str, code: int = 2) -> NoReturn:
    """One line on the console (`error: …`, markup in `message` escaped) and exit `code`."""
    console.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


def config() -> TrackerConfig:
    """The configured people (tracker.config.load_config), or one line saying why it cannot be read."""
    from tracker.config import load_config

    try:
        return load_config()
    except (OSError, ValueError) as exc:
        fail(f"cannot read the config: {exc}")


def pick_people(cfg: TrackerConfig, person_id: str | None) -> list[Person]:
    """Everyone configured, or only `person_id` (an unknown id fails naming the configured ones)."""
    try:
        return cfg.choose(person_id)
    except ValueError as exc:
        fail(str(exc))


def pick_person(cfg: TrackerConfig, person_id: str | None) -> Person:
    """`person_id`, or the only configured person when none is given."""
    try:
        return cfg.choose(person_id, only_one=True)[0]
    except ValueError as exc:
        fail(str(exc))


def connect_warehouse(**kwargs) -> psycopg.Connection:  # noqa: ANN003 - psycopg.connect's options
    """A connection to the warehouse (tracker.settings.loader_dsn()), or one line saying how to reach it."""
    import psycopg

    from tracker import settings

    try:
        return psycopg.connect(settings.loader_dsn(), **kwargs)
    except psycopg.OperationalError as exc:
        unreachable(exc)


def unreachable(exc: Exception) -> NoReturn:
    fail(f"cannot reach the warehouse ({str(exc).strip()}): run `tracker up`, or set TRACKER_WAREHOUSE_DSN")
