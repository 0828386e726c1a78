"""Archive and restore of intraday heart rate: Parquet MB/s to the local S3 (moto), Parquet vs CSV size, restore
rows/s, peak RSS.

Usage: python bench/bench_archive.py [--rows 10000000]
A throwaway PostgreSQL cluster and a moto server of its own (free ports); `raw.fitbit__heart_rate` filled with
one sample a second (a day's file per UTC day). Goals (issue 10): ≥ 50 MB/s of Parquet written, ≥ 5× smaller than
CSV, restore ≥ 500 k rows/s, archiving 10 M rows within ~300 MB of RSS. Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from tracker.stack.postgres import throwaway_cluster

FILL = """
insert into raw.fitbit__heart_rate (person_id, observed_at, bpm, confidence, source, source_file, _run_id)
select 'me', t, (68 + 25 * sin(i / 900.0) + (i::bigint * 7919) %% 9)::smallint, (i %% 4)::smallint, 'google_health_api',
       'heart_rate-' || to_char(t at time zone 'UTC', 'YYYY-MM-DD') || '.json', 'bench'
from generate_series(0, %s - 1) i, lateral (select timestamptz '2026-01-01 00:00+00' + i * interval '1 second') s(t)
"""


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def moto() -> tuple[subprocess.Popen, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return proc, f"http://127.0.0.1:{port}"
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("moto_server did not start")


def warm_up() -> None:
    import tempfile

    import pyarrow as pa
    import pyarrow.compute  # noqa: F401
    import pyarrow.csv  # noqa: F401
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory() as tmp:
        pq.write_table(pa.table({"a": [1]}), f"{tmp}/warm.parquet")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    args = parser.parse_args()
    import boto3
    from tracker.archive import export, restore
    from tracker.archive.tables import table

    hr = table("raw.fitbit__heart_rate")
    t0 = time.perf_counter()
    warm_up()
    print(f"one-time imports (pyarrow; its Parquet writer imports pandas): {time.perf_counter() - t0:.1f} s, excluded")
    server, endpoint = moto()
    try:
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bench",
                          aws_secret_access_key="bench")
        s3.create_bucket(Bucket="bench-archive")
        s3.put_bucket_versioning(Bucket="bench-archive", VersioningConfiguration={"Status": "Enabled"})
        with throwaway_cluster() as dsn, psycopg.connect(dsn, autocommit=True) as conn:
            t0 = time.perf_counter()
            conn.execute(FILL, (args.rows,))
            conn.execute("vacuum analyze raw.fitbit__heart_rate")
            print(f"generated {args.rows:,} heart-rate rows in {time.perf_counter() - t0:.1f} s")
            base_rss = rss_mb()
            t0 = time.perf_counter()
            run = export.archive(conn, s3, "bench-archive", tables=[hr], prefix="bench")
            archive_s = time.perf_counter() - t0
            archive_rss = rss_mb()
            parquet = sum(r.parquet_bytes for r in run.results)
            csv = sum(r.csv_bytes for r in run.results)
            rows = sum(r.rows for r in run.results)
            assert rows == args.rows, (rows, args.rows)
            t0 = time.perf_counter()
            again = export.archive(conn, s3, "bench-archive", tables=[hr], prefix="bench")
            rerun_s = time.perf_counter() - t0
            assert not again.uploaded
            conn.execute("truncate raw.fitbit__heart_rate")
            plan = restore.plan_restore(s3, "bench-archive", tables=[hr.qualified], prefix="bench")
            t0 = time.perf_counter()
            results = restore.restore(conn, s3, plan)
            restore_s = time.perf_counter() - t0
            assert sum(r.inserted for r in results) == args.rows and {r.status for r in results} == {"identical"}
            restore_rss = rss_mb()
        print(f"archive: {rows:,} rows in {len(run.results)} monthly partitions, {archive_s:.1f} s "
              f"({rows / archive_s:,.0f} rows/s)")
        print(f"  Parquet written: {parquet / 1e6:.1f} MB -> {parquet / 1e6 / archive_s:.1f} MB/s "
              f"(end to end: COPY, hash, parse, compress, upload, read-back check, manifest)")
        print(f"  same rows as CSV (PostgreSQL COPY): {csv / 1e6:.1f} MB -> Parquet is {csv / parquet:.1f}x smaller")
        print(f"  re-archive of unchanged months: {rerun_s:.1f} s, 0 uploads")
        print(f"restore (download, verify, stage, digest, insert, verify): {restore_s:.1f} s -> "
              f"{rows / restore_s:,.0f} rows/s")
        print(f"peak RSS: {base_rss:.0f} MB before, {archive_rss:.0f} MB after archiving, {restore_rss:.0f} MB after "
              f"restoring (this process; PostgreSQL's own memory not included)")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    os.environ.setdefault("TRACKER_ARCHIVE_PREFIX", "bench")
    main()
