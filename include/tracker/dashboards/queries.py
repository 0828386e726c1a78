"""Run a question's SQL where it belongs: gold as the analyst role (read-only, gold only), raw as the loader
role, or Airflow's metadata database — each in a read-only transaction with a statement timeout."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable, Generator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tracker.dashboards.definitions import PARAMETER, Connection, Question

if TYPE_CHECKING:
    import psycopg

STATEMENT_TIMEOUT_MS = 30_000


@dataclass(frozen=True)
class Result:
    columns: list[str]
    rows: list[tuple]

    def records(self) -> list[dict[str, Any]]:
        """Rows as JSON-ready dicts (dates as ISO strings, decimals as floats)."""
        return [{c: _plain(v) for c, v in zip(self.columns, row, strict=True)} for row in self.rows]


def _plain(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, dt.time):
        return value.isoformat()
    return value


def dsn_for(connection: Connection) -> str:
    """Where each connection kind reads. analyst: TRACKER_ANALYST_DSN, else TRACKER_PG_HOST/PORT/DB with
    TRACKER_ANALYST_PASSWORD (docker-compose), else the local stack's; loader: settings.loader_dsn();
    airflow: TRACKER_AIRFLOW_DSN, else Airflow's own AIRFLOW__DATABASE__SQL_ALCHEMY_CONN (driver suffix
    dropped), else the local stack's."""
    import os

    from tracker import settings

    env = os.environ
    if connection == "analyst":
        if env.get("TRACKER_ANALYST_DSN"):
            return env["TRACKER_ANALYST_DSN"]
        if env.get("TRACKER_PG_HOST") and env.get("TRACKER_ANALYST_PASSWORD"):
            return settings.psycopg_conninfo(host=env["TRACKER_PG_HOST"], port=env.get("TRACKER_PG_PORT", "5432"),
                                             user=settings.ANALYST_ROLE, password=env["TRACKER_ANALYST_PASSWORD"],
                                             dbname=env.get("TRACKER_PG_DB", settings.WAREHOUSE_DB))
        return settings.warehouse_dsn(settings.ANALYST_ROLE)
    if connection == "loader":
        return settings.loader_dsn()
    if env.get("TRACKER_AIRFLOW_DSN"):
        return env["TRACKER_AIRFLOW_DSN"]
    alchemy = env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "")
    if alchemy.startswith("postgresql"):
        return "postgresql://" + alchemy.split("://", 1)[1]
    return settings.warehouse_dsn(settings.AIRFLOW_ROLE, db=settings.AIRFLOW_DB)


def bind(sql: str) -> str:
    """`{{person}}` → a psycopg named parameter (`%(person)s`); literal percent signs are escaped."""
    return PARAMETER.sub(lambda m: f"%({m.group(1)})s", sql.replace("%", "%%"))


def run(conn: psycopg.Connection, question: Question, person: str) -> Result:
    """The question's rows, read-only; the connection's role decides what it may read."""
    with conn.transaction():
        conn.execute("set transaction read only")
        conn.execute(f"set local statement_timeout = {STATEMENT_TIMEOUT_MS}")
        cur = conn.execute(bind(question.sql), {"person": person})
        columns = [c.name for c in cur.description]
        return Result(columns, cur.fetchall())


class Connections:
    """One connection per kind, opened on first use; `dsns` overrides the defaults (tests, other stacks)."""

    def __init__(self, dsns: dict[str, str] | None = None,
                 connect: Callable[[str], psycopg.Connection] | None = None) -> None:
        self._dsns = dsns or {}
        self._open: dict[str, psycopg.Connection] = {}
        self._refused: dict[str, Exception] = {}
        self._connect = connect

    def get(self, kind: Connection) -> psycopg.Connection:
        """The open connection of `kind`; a database that refused once is not asked again (the same error)."""
        if kind in self._refused:
            raise self._refused[kind]
        if kind not in self._open:
            import psycopg

            dsn = self._dsns.get(kind) or dsn_for(kind)
            try:
                self._open[kind] = (self._connect or (lambda d: psycopg.connect(d, connect_timeout=10)))(dsn)
            except psycopg.OperationalError as exc:
                self._refused[kind] = exc
                raise
        return self._open[kind]

    def close(self) -> None:
        for conn in self._open.values():
            conn.close()
        self._open.clear()


@contextmanager
def connections(dsns: dict[str, str] | None = None) -> Generator[Connections, None, None]:
    conns = Connections(dsns)
    try:
        yield conns
    finally:
        conns.close()
