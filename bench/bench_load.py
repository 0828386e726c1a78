"""Load path: Tracker's COPY loader vs pandas `DataFrame.to_sql` on the same synthetic rows.

Usage: python bench/bench_load.py [--rows 1000000] [--dsn DSN]   (default: a throwaway PostgreSQL cluster)
Prints rows/s for each path and the ratio. Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

import psycopg
from tracker.stack.postgres import throwaway_cluster
from tracker.warehouse.loader import RawTable, Window, load, replace_window

TABLE = RawTable(
    schema="bench", name="samples",
    columns={"person_id": "text", "observed_at": "timestamptz", "bpm": "int2", "confidence": "int2"},
    key=("person_id", "observed_at"), window_column="observed_at",
)
DDL = """
drop schema if exists bench cascade;
create schema bench;
create table bench.samples (person_id text not null, observed_at timestamptz not null, bpm int2,
    confidence int2, _run_id text not null, _loaded_at timestamptz not null default now(),
    primary key (person_id, observed_at));
-- intraday-sample layout: no btree, a BRIN index on time (cheap to maintain on append)
create table bench.samples_append (person_id text not null, observed_at timestamptz not null, bpm int2,
    confidence int2, _run_id text not null, _loaded_at timestamptz not null default now());
create index on bench.samples_append using brin (observed_at);
create table bench.samples_to_sql (person_id text, observed_at timestamptz, bpm int2, confidence int2);
"""
START = datetime(2026, 1, 1, tzinfo=UTC)


def rows(n: int):
    step = timedelta(seconds=1)
    for i in range(n):
        yield ("me", START + i * step, 50 + (i * 7919) % 120, i % 4)


def bench_copy(dsn: str, n: int) -> tuple[float, float]:
    window = Window(START, START + timedelta(seconds=n), {"person_id": "me"})
    with psycopg.connect(dsn) as conn:
        t0 = time.perf_counter()
        result = load(conn, TABLE, rows(n), run_id="bench-1", window=window)
        first = time.perf_counter() - t0
        assert result.inserted == n, result
        t0 = time.perf_counter()
        again = load(conn, TABLE, rows(n), run_id="bench-2", window=window)
        rerun = time.perf_counter() - t0
        assert again.inserted == again.updated == again.deleted == 0, again
    return n / first, n / rerun


def bench_replace(dsn: str, n: int) -> float:
    table = RawTable(schema="bench", name="samples_append", columns=TABLE.columns, key=TABLE.key,
                     window_column="observed_at")
    window = Window(START, START + timedelta(seconds=n), {"person_id": "me"})
    with psycopg.connect(dsn) as conn:
        t0 = time.perf_counter()
        result = replace_window(conn, table, rows(n), run_id="bench-1", window=window)
        elapsed = time.perf_counter() - t0
        assert result.inserted == n, result
        again = replace_window(conn, table, rows(n), run_id="bench-2", window=window)
        assert again.deleted == again.inserted == n, again
        assert conn.execute("select count(*) from bench.samples_append").fetchone()[0] == n
    return n / elapsed


def bench_to_sql(dsn: str, n: int) -> float:
    import pandas as pd
    import sqlalchemy

    frame = pd.DataFrame.from_records(list(rows(n)), columns=list(TABLE.columns))
    engine = sqlalchemy.create_engine(dsn.replace("postgresql://", "postgresql+psycopg://"))
    t0 = time.perf_counter()
    frame.to_sql("samples_to_sql", engine, schema="bench", if_exists="append", index=False,
                 method="multi", chunksize=10_000)
    elapsed = time.perf_counter() - t0
    engine.dispose()
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dsn", default=None)
    args = parser.parse_args()
    if args.dsn:
        run(args.dsn, args.rows)
    else:
        with throwaway_cluster() as dsn:
            run(dsn, args.rows)


def run(dsn: str, n_rows: int) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(DDL)
    copy_rate, rerun_rate = bench_copy(dsn, n_rows)
    replace_rate = bench_replace(dsn, n_rows)
    pandas_rate = bench_to_sql(dsn, n_rows)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("drop schema bench cascade")
    print(f"load path, {n_rows:,} rows of (text, timestamptz, int2, int2):")
    print(f"  tracker COPY + keyed merge (first load): {copy_rate:12,.0f} rows/s")
    print(f"  tracker rerun of the same window (no-op): {rerun_rate:12,.0f} rows/s")
    print(f"  tracker replace_window (delete + COPY)  : {replace_rate:12,.0f} rows/s")
    print(f"  pandas to_sql(method='multi')          : {pandas_rate:12,.0f} rows/s")
    print(f"  ratio merge / to_sql                   : {copy_rate / pandas_rate:12.1f}x")
    print(f"  ratio replace_window / to_sql          : {replace_rate / pandas_rate:12.1f}x")


if __name__ == "__main__":
    main()
