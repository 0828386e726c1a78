"""Intraday heart rate, partitioned (ddl/065_partition_intraday.sql) vs the plain table it replaced: load
rate, one-person one-day and all-people one-day read times, and the in-place migration's rate.

Usage: python bench/bench_partitioned_heart_rate.py [--people 10] [--days 365] [--queries 40] [--repeat 2]
A throwaway PostgreSQL cluster of its own (free port). One sample a minute per person (10 people × 365 days
≈ 5.3 M rows), loaded person by person in time order (as the export importer and the API extract write:
one person's file-days at a time) by binary COPY of a pre-built stream (the Python row encoding is not
timed). Three tables of the same columns:
  plain        the old raw.fitbit__heart_rate: BRIN (observed_at), BRIN (_loaded_at)
  partitioned  raw.fitbit__heart_rate as 065 makes it: monthly partitions + default, BRIN (observed_at),
               BRIN (_loaded_at), BRIN (person_id, observed_at)
  +btree       partitioned plus a B-tree (person_id, observed_at) in every partition (not in the DDL)
Loads are interleaved and repeated, the best of --repeat counts. Reads are warm (after `vacuum analyze`),
the median of --queries random (person, day) pairs.
Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import time
from datetime import UTC, date, datetime, timedelta

import psycopg
from tracker.stack.postgres import throwaway_cluster

START = datetime(2025, 1, 1, tzinfo=UTC)
COLUMNS = "person_id, observed_at, bpm, confidence, source, source_file, _run_id"
GENERATE = """
copy (
    select %(person)s, t,
           (60 + 30 * sin(extract(epoch from t) / 5400.0) + (extract(epoch from t)::bigint %% 7))::smallint,
           2::smallint, 'fitbit_export', 'heart_rate-' || to_char(t at time zone 'UTC', 'YYYY-MM-DD') || '.json',
           'bench'
    from generate_series(%(start)s::timestamptz, %(end)s::timestamptz - interval '1 minute', interval '1 minute') t
) to stdout (format binary)
"""
TABLES = {
    "plain": "bench.hr_plain",
    "partitioned": "raw.fitbit__heart_rate",
    "+btree": "bench.hr_btree",
}


def make_tables(conn: psycopg.Connection) -> None:
    conn.execute("create schema bench")
    # the table as 020_fitbit.sql + 025_fitbit_activity.sql created it before 065
    conn.execute("create table bench.hr_plain (like raw.fitbit__heart_rate including defaults)")
    conn.execute("create index on bench.hr_plain using brin (observed_at) with (autosummarize = on)")
    conn.execute("create index on bench.hr_plain using brin (_loaded_at) with (autosummarize = on)")
    # the partitioned one with a B-tree too: made like the plain one, then converted by 065's own function
    conn.execute("create table bench.hr_btree (like bench.hr_plain including all)")
    conn.execute("select raw.partition_by_range('bench.hr_btree', 'observed_at', %s, interval '1 month')", (START,))
    conn.execute("create index on bench.hr_btree using brin (person_id, observed_at) with (autosummarize = on)")
    conn.execute("create index on bench.hr_btree (person_id, observed_at)")


def streams(conn: psycopg.Connection, people: int, days: int) -> list[bytes]:
    """One binary COPY stream per person (built once, loaded into each table)."""
    out = []
    end = START + timedelta(days=days)
    for p in range(people):
        buf = bytearray()
        with conn.cursor().copy(GENERATE, {"person": f"p{p:02d}", "start": START, "end": end}) as copy:
            for chunk in copy:
                buf += chunk
        out.append(bytes(buf))
    return out


def load(conn: psycopg.Connection, table: str, data: list[bytes]) -> float:
    t0 = time.perf_counter()
    for stream in data:
        with conn.transaction(), conn.cursor().copy(f"copy {table} ({COLUMNS}) from stdin (format binary)") as copy:
            for i in range(0, len(stream), 1 << 20):
                copy.write(stream[i:i + (1 << 20)])
    return time.perf_counter() - t0


def median_ms(conn: psycopg.Connection, query: str, params: list[dict]) -> float:
    conn.execute(query, params[0]).fetchall()  # plan caches, catalog warm
    times = []
    for p in params:
        t0 = time.perf_counter()
        conn.execute(query, p).fetchall()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    rows = args.people * args.days * 1440
    rng = random.Random(13)
    picks = [{"person": f"p{rng.randrange(args.people):02d}",
              "day": START + timedelta(days=rng.randrange(args.days))} for _ in range(args.queries)]
    one_person = ("select count(*), avg(bpm) from {t} where person_id = %(person)s"
                  " and observed_at >= %(day)s and observed_at < %(day)s + interval '1 day'")
    everyone = ("select person_id, count(*), avg(bpm) from {t}"
                " where observed_at >= %(day)s and observed_at < %(day)s + interval '1 day' group by person_id")
    results: dict[str, dict[str, float]] = {}
    with throwaway_cluster() as dsn, psycopg.connect(dsn, autocommit=True) as conn:
        make_tables(conn)
        t0 = time.perf_counter()
        data = streams(conn, args.people, args.days)
        print(f"{rows:,} rows ({args.people} people × {args.days} days × 1440 minutes), "
              f"{sum(map(len, data)) / 1e6:.0f} MB of COPY stream, built in {time.perf_counter() - t0:.1f} s"
              " (not timed)")
        # loads interleaved and repeated (the best of --repeat counts): the machine's other work shifts them
        best = dict.fromkeys(TABLES, float("inf"))
        for rep in range(args.repeat):
            for name, table in TABLES.items():
                if rep:
                    conn.execute(f"truncate {table}")
                best[name] = min(best[name], load(conn, table, data))
        for name, table in TABLES.items():
            seconds = best[name]
            conn.execute(f"vacuum analyze {table}")
            size = conn.execute("select coalesce((select sum(pg_total_relation_size(relid)) from"
                                " pg_partition_tree(%s::regclass)), pg_total_relation_size(%s::regclass))",
                                (table, table)).fetchone()[0]
            results[name] = {
                "load_s": seconds, "rows_s": rows / seconds, "mb": float(size) / 1e6,
                "person_day_ms": median_ms(conn, one_person.format(t=table), picks),
                "all_day_ms": median_ms(conn, everyone.format(t=table), picks),
            }
            assert conn.execute(f"select count(*) from {table}").fetchone()[0] == rows
        plan = conn.execute("explain " + one_person.format(t="raw.fitbit__heart_rate"),
                            {"person": "p00", "day": START + timedelta(days=40)}).fetchall()
        scanned = sorted({m for (line,) in plan for m in re.findall(r"fitbit__heart_rate_(?:p\d{6}|default)", line)})
        # the in-place migration, on the plain table full of rows
        t0 = time.perf_counter()
        moved = conn.execute("select raw.partition_by_range('bench.hr_plain', 'observed_at', %s, interval '1 month')",
                             (START,)).fetchone()[0]
        migrate_s = time.perf_counter() - t0
        assert moved == rows
        parts = conn.execute("select count(*) from pg_partition_tree('raw.fitbit__heart_rate'::regclass)"
                             " where isleaf").fetchone()[0]

    print(f"{'table':<12} {'load s':>7} {'rows/s':>10} {'MB':>6} {'1 person-day ms':>16} {'all people, 1 day ms':>21}")
    for name, r in results.items():
        print(f"{name:<12} {r['load_s']:7.1f} {r['rows_s']:10,.0f} {r['mb']:6.0f} {r['person_day_ms']:16.2f} "
              f"{r['all_day_ms']:21.2f}")
    base = results["plain"]
    for name in ("partitioned", "+btree"):
        r = results[name]
        print(f"{name} / plain: load time ×{r['load_s'] / base['load_s']:.2f}, one person-day ×"
              f"{r['person_day_ms'] / base['person_day_ms']:.2f}, all people one day ×"
              f"{r['all_day_ms'] / base['all_day_ms']:.2f}")
    print(f"one person-day plan of raw.fitbit__heart_rate ({parts} leaf partitions) scans: {', '.join(scanned)}")
    print(f"in-place migration of the plain table: {rows:,} rows in {migrate_s:.1f} s "
          f"({rows / migrate_s:,.0f} rows/s, indexes rebuilt, one transaction)")
    print(f"measured {date.today()}")


if __name__ == "__main__":
    main()
