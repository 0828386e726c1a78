"""Create schemas and raw tables idempotently; tell whether this is the warehouse's very first run."""

from __future__ import annotations

from importlib import resources

import psycopg

from tracker import settings as s


def ddl_files() -> list[tuple[str, str]]:
    folder = resources.files(__package__).joinpath("ddl")
    return sorted((f.name, f.read_text()) for f in folder.iterdir() if f.name.endswith(".sql"))


def is_first_run(conn: psycopg.Connection) -> bool:
    """True when the warehouse has never been initialised (no migrations table yet)."""
    return conn.execute("select to_regclass('raw._schema_migrations') is null").fetchone()[0]


def ensure_warehouse(conn: psycopg.Connection) -> list[str]:
    """Apply every ddl/*.sql (each is idempotent) under an advisory lock; return the newly recorded ones.

    Files are re-applied on every call so new tables in an existing file still appear; the migrations
    table records when each file was first applied.
    """
    first = is_first_run(conn)
    applied: list[str] = []
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('tracker.ensure_warehouse'))")
        if first and conn.execute("select 1 from pg_roles where rolname = %s", (s.ANALYST_ROLE,)).fetchone() \
                is None:
            raise RuntimeError(f"role {s.ANALYST_ROLE!r} is missing: run `tracker up` (or the compose init)")
        for name, text in ddl_files():
            conn.execute(text)
            row = conn.execute("insert into raw._schema_migrations (name) values (%s) "
                               "on conflict do nothing returning name", (name,)).fetchone()
            if row:
                applied.append(name)
    return applied
