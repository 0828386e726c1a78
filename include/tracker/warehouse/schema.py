"""Create schemas and raw tables idempotently; tell whether this is the warehouse's very first run."""

from __future__ import annotations

import hashlib
from importlib import resources

import psycopg

from tracker import settings as s


def ddl_files() -> list[tuple[str, str]]:
    folder = resources.files(__package__).joinpath("ddl")
    return sorted((f.name, f.read_text()) for f in folder.iterdir() if f.name.endswith(".sql"))


def is_first_run(conn: psycopg.Connection) -> bool:
    """True when the warehouse has never been initialised (no migrations table yet)."""
    return conn.execute("select to_regclass('raw._schema_migrations') is null").fetchone()[0]


def _checksum(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _recorded(conn: psycopg.Connection) -> dict[str, str | None]:
    """name → checksum of every applied DDL file (None: applied before checksums were recorded)."""
    if is_first_run(conn):
        return {}
    has_checksum = conn.execute("select 1 from information_schema.columns where table_schema = 'raw'"
                                " and table_name = '_schema_migrations' and column_name = 'checksum'").fetchone()
    sql = "select name, checksum from raw._schema_migrations" if has_checksum else \
        "select name, null from raw._schema_migrations"
    return dict(conn.execute(sql).fetchall())


def ensure_warehouse(conn: psycopg.Connection) -> list[str]:
    """Apply the ddl/*.sql files that are new or changed (each is idempotent); return the newly recorded ones.

    Once the schema is current this runs no DDL at all — no grants, no `alter table`, no lock — so the
    first task of every DAG and every import never waits on (or collides with) dbt swapping a gold table
    or a dashboard reading one. A file is re-applied when its text changes (its sha256 is recorded).
    """
    files = [(name, text, _checksum(text)) for name, text in ddl_files()]
    if all(_recorded(conn).get(name) == digest for name, _, digest in files):
        return []
    first = is_first_run(conn)
    applied: list[str] = []
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('tracker.ensure_warehouse'))")
        if first and conn.execute("select 1 from pg_roles where rolname = %s", (s.ANALYST_ROLE,)).fetchone() \
                is None:
            raise RuntimeError(f"role {s.ANALYST_ROLE!r} is missing: run `tracker up` (or the compose init)")
        recorded = _recorded(conn)  # again, under the lock: another process may have just applied them
        for name, text, digest in files:
            if recorded.get(name) == digest:
                continue
            conn.execute(text)
            row = conn.execute("insert into raw._schema_migrations (name, checksum) values (%s, %s) "
                               "on conflict (name) do update set checksum = excluded.checksum "
                               "returning (xmax = 0) as inserted", (name, digest)).fetchone()
            if row[0]:
                applied.append(name)
    return applied
