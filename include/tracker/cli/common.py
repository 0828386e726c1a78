"""What every command shares: the console, one way to fail, one person picker, one warehouse connection."""

from __future__ import annotations

import json
import os
import re
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import unquote

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    import psycopg

    from tracker.config import Person, TrackerConfig

console = Console(highlight=False)


def fail(message: str, code: int = 2) -> NoReturn:
    """`error: …` on the console (markup in `message` escaped, every known secret masked) and exit `code`."""
    console.print(f"[red]error:[/red] {escape(redact(message))}", soft_wrap=True)
    raise typer.Exit(code)


_SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY|ACCESS_KEY|JWT", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"://[^:/@\s]*:([^@\s]+)@")
_KV_PASSWORD = re.compile(r"\bpassword\s*=\s*('(?:[^'\\]|\\.)*'|\S+)")


def known_secrets() -> set[str]:
    """Every secret this process could print: the stack's generated secrets (secrets.json, never created
    here), environment variables named like secrets, and the passwords inside DSNs and Airflow connections."""
    from tracker import settings

    found: set[str] = set()
    try:
        stored = json.loads((settings.state_dir() / "secrets.json").read_text())
        found.update(str(v) for v in stored.values() if v)
    except (OSError, ValueError):
        pass
    for name, value in os.environ.items():
        if _SECRET_NAME.search(name) and not name.endswith(("_FILE", "_PATH", "_DIR", "_URL")):
            found.add(value)
        found.update(m.group(1) for m in _URL_PASSWORD.finditer(value))
        found.update(m.group(1).strip("'") for m in _KV_PASSWORD.finditer(value))
        if name.startswith("AIRFLOW_CONN_") and value.startswith("{"):
            try:
                found.add(str(json.loads(value).get("password") or ""))
            except ValueError:
                pass
    found |= {unquote(v) for v in found}
    return {v for v in found if len(v) >= 4}


def redact(text: str) -> str:
    """`text` with every known secret replaced by ***."""
    for secret in sorted(known_secrets(), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def config() -> TrackerConfig:
    """The configured people (tracker.config.load_config), or one line per problem saying why it cannot be
    used (never a traceback)."""
    from tracker.config import ConfigError, load_config

    try:
        return load_config()
    except ConfigError as exc:
        fail(str(exc))
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
    except psycopg.Error as exc:  # OperationalError, and ProgrammingError for a malformed DSN
        unreachable(exc)


def unreachable(exc: Exception) -> NoReturn:
    fail(f"cannot reach the warehouse ({str(exc).strip()}): run `tracker up`, or set TRACKER_WAREHOUSE_DSN")


class Steps:
    """Named steps of a long command: a spinner with the current step's name on a terminal, one line per
    step otherwise (logs and CI stay readable); each finished step prints `✓ name  (Ns)`.

        with Steps() as step:
            step("PostgreSQL")
            ...
    """

    def __init__(self, out: Console | None = None) -> None:
        self.out = out or console
        self.current: str | None = None
        self.started = 0.0
        self.status = None

    def __enter__(self) -> Steps:
        return self

    def __call__(self, name: str) -> None:
        import time

        self._finish()
        self.current, self.started = name, time.monotonic()
        if self.out.is_terminal:
            if self.status is None:
                self.status = self.out.status(escape(name))
                self.status.start()
            else:
                self.status.update(escape(name))
        else:
            self.out.print(f"… {escape(name)}", soft_wrap=True)

    def _finish(self, mark: str = "[green]✓[/green]") -> None:
        import time

        if self.current is not None:
            self.out.print(f"{mark} {escape(self.current)}  [dim]({time.monotonic() - self.started:.0f}s)[/dim]",
                           soft_wrap=True)
            self.current = None

    def __exit__(self, exc_type, exc, tb) -> None:  # noqa: ANN001 - the context manager protocol
        if self.status is not None:
            self.status.stop()
            self.status = None
        ok = exc_type is None or (issubclass(exc_type, typer.Exit) and getattr(exc, "exit_code", 1) == 0)
        self._finish("[green]✓[/green]" if ok else "[red]✗[/red]")


class json_output:  # noqa: N801 - used like a function: `with json_output(as_json):`
    """With `enabled`, the console writes to stderr so stdout carries only the JSON document."""

    def __init__(self, enabled: bool) -> None:
        self.enabled, self.saved = enabled, None

    def __enter__(self) -> None:
        import sys

        if self.enabled:
            self.saved = console._file  # None: rich follows sys.stdout at each write
            console.file = sys.stderr

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            console.file = self.saved


def print_json(data: object) -> None:
    """The JSON document on stdout (secrets masked), even while the console writes to stderr."""
    typer.echo(redact(json.dumps(data, indent=2, default=str)))
