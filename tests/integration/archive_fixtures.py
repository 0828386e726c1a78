"""Shared by the archive tests (tests/integration/test_archive_*.py, tests/faults/test_archive_faults.py):
a real moto S3 server on a free port, a versioned bucket per test, a warehouse database of the archive tests'
own in the session cluster (they truncate and drop its raw schema), and rows in every archivable table.

Import it as a module (`from archive_fixtures import *` in tests/integration; the fault test loads it by path).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from support import free_port

# a table with every awkward value the archive must give back exactly; partitioned by month of `ts`
EDGE_DDL = """
create table if not exists raw.archive_test__edge_values (
    id integer primary key,
    ts timestamptz not null,
    label text,
    doc jsonb,
    amount numeric,
    ratio real,
    precise double precision,
    flag boolean,
    day date,
    local_time timestamp,
    _run_id text not null,
    _loaded_at timestamptz not null default now()
)"""
EDGE_ROWS = """
insert into raw.archive_test__edge_values values
 (1, '2026-03-29 00:59:59.999999+00', null, null, null, null, null, null, null, null, 'r1', '2026-03-30 10:00+00'),
 (2, '2026-03-29 01:00:00+00', '', '{}', 'NaN', 'NaN', 'NaN', true, '2026-03-29', '2026-03-29 02:30', 'r1',
     '2026-03-30 10:00+00'),
 (3, '2026-03-29 02:30:00 Europe/Berlin', 'naïve café — 東京 🏃‍♀️ עברית',
     '{"ü": "☃", "n": 1.50, "deep": {"a": [1, null, "x\\"y"]}}',
     '123456789012345678901234567890.123456789012345678901234567890', 'Infinity', '-Infinity', false,
     '0001-01-01', '1900-01-01 00:00:00.000001', 'r1', '2026-03-30 10:00:00.123456+00'),
 (4, '2026-10-25 00:30:00+00', 'comma, "quote"' || E'\\nnewline\\ttab \\\\ backslash \\\\N', '[1, 2.5e-10, "\\u00e9"]',
     '-0.000000000000000000000000000001', '1.17549435e-38', '5e-324', null, '9999-12-31', null, 'r2',
     '2026-10-26 08:00+00'),
 (5, '2026-10-25 01:30:00+00', 'NULL', '"just a string"', '-0', '-0', '-0', true, null, '2026-10-25 02:30', 'r2',
     '2026-10-26 08:00+00'),
 (6, '2026-10-31 23:59:59.999999+00', ' leading and trailing ', 'null', 'Infinity', '3.4028235e38',
     '1.7976931348623157e308', false, '2026-10-31', '2026-10-31 23:59:59.999999', 'r2', '2026-11-01 00:00+00'),
 (7, '2026-11-01 00:00:00+00', repeat('long ', 2000), '{"big": 12345678901234567890123456789}', '-Infinity',
     '0.1', '0.1', true, '2026-11-01', '2026-11-01 00:00', 'r3', '2026-11-02 00:00+00')
"""


SMALL_PART = 256 * 1024


@pytest.fixture(scope="session")
def moto_endpoint():
    """A moto S3 server of the archive tests' own (127.0.0.1, free port), stopped at the end."""
    port = free_port()
    exe = Path(sys.executable).with_name("moto_server")
    # parts down to 256 KiB (S3's minimum is 5 MiB): the fault tests exercise multipart uploads with small data
    env = {**os.environ, "S3_UPLOAD_PART_MIN_SIZE": str(SMALL_PART)}
    proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 30
    while True:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError("moto_server did not start")
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)


def make_client(endpoint: str):
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test", config=Config(retries={"max_attempts": 1}))


@pytest.fixture()
def s3(moto_endpoint):
    return make_client(moto_endpoint)


@pytest.fixture()
def bucket(s3):
    """A fresh versioned bucket per test."""
    name = f"archive-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


@pytest.fixture(scope="session")
def archive_dsn(pg):
    """A warehouse database of the archive tests' own (the loader role owns it), with Tracker's raw tables."""
    import psycopg
    from psycopg import sql
    from tracker import settings
    from tracker.warehouse.schema import ensure_warehouse

    db = f"archive_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg.superuser_dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("create database {} owner {}").format(sql.Identifier(db),
                                                                   sql.Identifier(settings.LOADER_ROLE)))
    dsn = settings.warehouse_dsn(db=db)
    with psycopg.connect(dsn) as conn:
        ensure_warehouse(conn)
    yield dsn
    with psycopg.connect(pg.superuser_dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(db)))


@pytest.fixture()
def adb(archive_dsn):
    """An autocommit connection to the archive tests' warehouse, every raw table emptied first."""
    import psycopg

    with psycopg.connect(archive_dsn, autocommit=True) as conn:
        truncate_raw(conn)
        yield conn


def truncate_raw(conn) -> None:
    from psycopg import sql

    tables = conn.execute("select schemaname, tablename from pg_tables where schemaname = 'raw' "
                          "and tablename <> '_schema_migrations'").fetchall()
    if tables:
        conn.execute(sql.SQL("truncate {} restart identity").format(
            sql.SQL(", ").join(sql.Identifier(s, t) for s, t in tables)))


def edge_table():
    from tracker.archive.tables import ArchiveTable

    return ArchiveTable("raw", "archive_test__edge_values", ("id",), "ts", "timestamptz")


def create_edge_table(conn) -> None:
    conn.execute(EDGE_DDL)


def fill_every_table(conn, rows: int = 40) -> dict[str, int]:
    """`rows` generated rows in every archivable table (values by column type, NULLs in nullable columns every
    5th row, times spread over Sep–Nov 2026) plus the edge-value table; returns table → rows."""
    from psycopg import sql
    from tracker.archive.tables import archivable_tables

    create_edge_table(conn)
    conn.execute("truncate raw.archive_test__edge_values")
    conn.execute(EDGE_ROWS)
    counts = {"raw.archive_test__edge_values": 7}
    for t in archivable_tables():
        cols = conn.execute(
            "select a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity <> '' "
            "from pg_attribute a where a.attrelid = %s::regclass and a.attnum > 0 and not a.attisdropped "
            "order by a.attnum", (t.qualified,)).fetchall()
        names, exprs = [], []
        for name, kind, not_null, identity in cols:
            if identity:
                continue
            expr = _value(name, kind)
            if not not_null and name not in t.key:
                expr = f"case when i % 5 = 0 then null else {expr} end"
            names.append(sql.Identifier(name))
            exprs.append(sql.SQL(expr))
        conn.execute(sql.SQL("insert into {} ({}) select {} from generate_series(1, {}) i").format(
            sql.Identifier(t.schema, t.name), sql.SQL(", ").join(names), sql.SQL(", ").join(exprs), sql.Literal(rows)))
        counts[t.qualified] = rows
    return counts


def _value(name: str, kind: str) -> str:
    base = kind.split("(")[0]
    return {
        "text": f"'{name} ' || i || case when i % 3 = 0 then ' — ünïcødé ☃' else '' end",
        "smallint": "(i % 120)::smallint", "integer": "i", "bigint": "i::bigint * 1000003",
        "real": "(i / 3.0)::real", "double precision": "(i / 7.0)::float8", "boolean": "i % 2 = 0",
        "numeric": "(i / 3.0)::numeric",
        "date": "date '2026-09-10' + (i * 2)",
        "timestamp with time zone": "timestamptz '2026-09-10 00:00:00+00' + i * interval '1 day 37 minutes 13.5 s'",
        "timestamp without time zone": "timestamp '2026-09-10 00:00:00' + i * interval '1 day 11 minutes'",
        "jsonb": "jsonb_build_object('i', i, 'name', 'value ' || i, 'ü', 'naïve', 'list', jsonb_build_array(i, null))",
    }[base]


BIG_DDL = """
create table if not exists raw.archive_test__big (
    id integer primary key,
    ts timestamptz not null,
    payload text not null,
    _run_id text not null,
    _loaded_at timestamptz not null default '2026-11-01 00:00+00'
)"""


def big_table(conn, rows: int = 60_000):
    """`rows` deterministic rows over October and November 2026 (≈ 1.5 MB of Parquet per month: several parts)."""
    from tracker.archive.tables import ArchiveTable

    conn.execute(BIG_DDL)
    conn.execute("truncate raw.archive_test__big")
    conn.execute("insert into raw.archive_test__big (id, ts, payload, _run_id) select i, "
                 "timestamptz '2026-10-01 00:00+00' + (i - 1) * (interval '61 days' / %s), "
                 "md5(i::text) || md5((i * 7)::text), 'r' from generate_series(1, %s) i", (rows, rows))
    return ArchiveTable("raw", "archive_test__big", ("id",), "ts", "timestamptz")
