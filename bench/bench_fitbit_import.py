"""Fitbit export import, heart-rate path: parse + load rate, memory, and pandas `to_sql` for comparison.

Usage: python bench/bench_fitbit_import.py [--days 30] [--workers 2] [--pandas-rows 200000] [--dsn DSN]
(default: a throwaway PostgreSQL cluster). `--days 365` is a full year (≈ 31.5 M samples, ≈ 3 GB of files).

Generates N days of 1-second heart rate in the export's exact format (`heart_rate-YYYY-MM-DD.json`, one
file per day, 86,400 samples, pretty-printed, UTC-style times of a Europe/Berlin day) into a temp folder,
then imports it with `tracker.sources.fitbit_export.import_export` in fresh child processes — once for a
third of the days and once for all of them — printing rows/s and each child's peak RSS (memory must not
grow with the number of files). It also times parsing alone (scan, and the orjson reference path), and
pandas `to_sql(method="multi")` on a subset of the same rows. Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
from tracker.stack.postgres import throwaway_cluster

ZONE = ZoneInfo("Europe/Berlin")
FIRST_DAY = date(2026, 1, 1)


def write_day(folder: Path, day: date) -> int:
    """heart_rate-D.json: every second of local day D (23/25 h on DST days), UTC-style times."""
    start = datetime(day.year, day.month, day.day, tzinfo=ZONE).astimezone(UTC)
    nxt = day + timedelta(days=1)
    seconds = int((datetime(nxt.year, nxt.month, nxt.day, tzinfo=ZONE).astimezone(UTC) - start).total_seconds())
    base = int(start.timestamp())
    record = '{\n  "dateTime" : "%s",\n  "value" : {\n    "bpm" : %d,\n    "confidence" : %d\n  }\n}'
    stamps = {}
    parts = []
    for i in range(seconds):
        t = base + i
        hour_key = t // 3600
        prefix = stamps.get(hour_key)
        if prefix is None:
            prefix = stamps[hour_key] = datetime.fromtimestamp(hour_key * 3600, UTC).strftime("%m/%d/%y %H:")
        parts.append(record % (f"{prefix}{(t % 3600) // 60:02d}:{t % 60:02d}", 48 + (i * 7919) % 130, i % 4))
    (folder / f"heart_rate-{day:%Y-%m-%d}.json").write_text("[" + ",".join(parts) + "]")
    return seconds


def generate(folder: Path, days: int) -> int:
    target = folder / "Takeout" / "Fitbit" / "Global Export Data"
    target.mkdir(parents=True, exist_ok=True)
    return sum(write_day(target, FIRST_DAY + timedelta(days=d)) for d in range(days))


def subset(source: Path, days: int, into: Path) -> Path:
    """A Takeout folder holding the first `days` files (symlinks)."""
    target = into / "Takeout" / "Fitbit" / "Global Export Data"
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted((source / "Takeout" / "Fitbit" / "Global Export Data").glob("heart_rate-*.json"))[:days]:
        (target / path.name).symlink_to(path)
    return into


def child(args: argparse.Namespace) -> None:
    """One import in a fresh process; prints a JSON line with rows, seconds and peak RSS."""
    from tracker.config import Person, TrackerConfig
    from tracker.sources.fitbit_export import import_export

    config = TrackerConfig(people=[Person(id="bench", timezone="Europe/Berlin")])
    with psycopg.connect(args.dsn, autocommit=True) as conn:
        conn.execute("select 1")
    t0 = time.perf_counter()
    summary = import_export(args.folder, dsn=args.dsn, config=config, workers=args.workers, force=True)
    elapsed = time.perf_counter() - t0
    print(json.dumps({"rows": summary.heart_rate_rows, "seconds": elapsed, "files": summary.files["heart_rate"],
                      "scan_files": summary.hr_scan_files, "json_files": summary.hr_json_files,
                      "timings": dict(summary.timings),
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def parse_only(folder: Path, files: int) -> dict[str, float]:
    """Parse (+ time-zone decision + encode) without a database, scan and orjson paths; in this process."""
    from tracker.sources.fitbit_export import parsers, tables
    from tracker.sources.fitbit_export.timezones import decide_by_span

    paths = sorted((folder / "Takeout" / "Fitbit" / "Global Export Data").glob("heart_rate-*.json"))[:files]
    out = {}
    for label, allow_scan in (("scan", True), ("json", False)):
        rows, t0 = 0, time.perf_counter()
        for path in paths:
            samples = parsers.parse_heart_rate(path.read_bytes(), path.name, allow_scan=allow_scan)
            day = date.fromisoformat(path.stem.split("-", 1)[1])
            decide_by_span(day, int(samples.naive_us.min()), int(samples.naive_us.max()), ZONE)
            tables.encode_heart_rate("bench", "fitbit_export", path.name, "run", samples.naive_us, samples.bpm,
                                     samples.confidence, samples.confidence_null)
            rows += len(samples)
        out[label] = rows / (time.perf_counter() - t0)
    return out


def to_sql_rate(dsn: str, folder: Path, n_rows: int) -> float:
    import pandas as pd
    import sqlalchemy
    from tracker.sources.fitbit_export import parsers

    frames, have = [], 0
    for path in sorted((folder / "Takeout" / "Fitbit" / "Global Export Data").glob("heart_rate-*.json")):
        s = parsers.parse_heart_rate(path.read_bytes(), path.name)
        frames.append(pd.DataFrame({
            "person_id": "bench", "observed_at": pd.to_datetime(s.naive_us, unit="us", utc=True),
            "bpm": s.bpm, "confidence": s.confidence, "source": "fitbit_export", "source_file": path.name,
            "_run_id": "bench"}))
        have += len(s)
        if have >= n_rows:
            break
    frame = pd.concat(frames).iloc[:n_rows]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("create schema if not exists bench; drop table if exists bench.hr_to_sql; "
                     "create table bench.hr_to_sql (like raw.fitbit__heart_rate including defaults)")
    engine = sqlalchemy.create_engine(dsn.replace("postgresql://", "postgresql+psycopg://"))
    t0 = time.perf_counter()
    frame.to_sql("hr_to_sql", engine, schema="bench", if_exists="append", index=False, method="multi",
                 chunksize=5_000)
    elapsed = time.perf_counter() - t0
    engine.dispose()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("drop schema bench cascade")
    return len(frame) / elapsed


def run_child(dsn: str, folder: Path, workers: int) -> dict:
    with psycopg.connect(dsn, autocommit=True) as conn:   # a fresh table each time: a first import
        conn.execute("truncate raw.fitbit__heart_rate, raw.fitbit__heart_rate_files")
        conn.execute("delete from raw.quarantine where person_id = 'bench'")
    result = subprocess.run([sys.executable, __file__, "--child", "--dsn", dsn, "--folder", str(folder),
                             "--workers", str(workers)], capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pandas-rows", type=int, default=200_000,
                        help="rows for to_sql (1,000,000 takes ~2 min at its rate here; default capped)")
    parser.add_argument("--dsn", default=None)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    if args.dsn:
        run(args.dsn, args)
    else:
        with throwaway_cluster() as dsn:
            run(dsn, args)


def run(dsn: str, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="fitbit-bench-") as tmp:
        tmp_path = Path(tmp)
        full = tmp_path / "full"
        t0 = time.perf_counter()
        samples = generate(full, args.days)
        size = sum(p.stat().st_size for p in full.rglob("*.json"))
        print(f"generated {args.days} files, {samples:,} samples, {size / 1e6:,.0f} MB "
              f"in {time.perf_counter() - t0:.0f}s")
        small_days = max(1, args.days // 3)
        small = subset(full, small_days, tmp_path / "small")
        parse = parse_only(full, min(args.days, 5))
        # a new cluster first creates its WAL segment files (zero-filled, 16 MB each): until max_wal_size
        # (1 GB) of WAL exists, loads are slower than on a cluster that recycles segments, as any
        # long-running one does. Measure the first import, warm up to ~1 GB of WAL, then measure again.
        cold = run_child(dsn, full, args.workers)
        for _ in range(max(0, -(-8_000_000 // samples) - 1)):
            run_child(dsn, full, args.workers)
        one_worker = run_child(dsn, small, 1)
        runs = [(small_days, run_child(dsn, small, args.workers)), (args.days, run_child(dsn, full, args.workers))]
        with psycopg.connect(dsn, autocommit=True) as conn:
            loaded = conn.execute("select count(*) from raw.fitbit__heart_rate").fetchone()[0]
            table_mb = conn.execute("select pg_total_relation_size('raw.fitbit__heart_rate')").fetchone()[0] / 1e6
        pandas_rate = to_sql_rate(dsn, full, args.pandas_rows) if args.pandas_rows else None

    print("\nparse only (read + parse + time-zone decision + binary encode, 1 core, first 5 files):")
    print(f"  vectorised scan              : {parse['scan']:12,.0f} rows/s")
    print(f"  orjson reference path        : {parse['json']:12,.0f} rows/s")
    print(f"import (scan + convert + COPY per file, {args.workers} load connections), each in a fresh child process:")
    print(f"  {args.days:4d} files on the new cluster (creating WAL segments): "
          f"{cold['rows'] / cold['seconds']:12,.0f} rows/s ({cold['seconds']:.1f}s)")
    print("  then with WAL segments recycled (steady state):")
    for days, r in runs:
        print(f"  {days:4d} files, {r['rows']:>12,} rows: {r['rows'] / r['seconds']:12,.0f} rows/s "
              f"({r['seconds']:.1f}s), peak RSS {r['peak_rss_mb']:,.0f} MB")
    print(f"  where the time goes ({args.days} files; the main thread parses while the load threads COPY):")
    for what, seconds in sorted(runs[-1][1]["timings"].items(), key=lambda kv: -kv[1]):
        print(f"    {what:40s} {seconds:6.2f}s")
    print(f"  {small_days:4d} files with 1 load connection: {one_worker['rows'] / one_worker['seconds']:12,.0f} rows/s")
    print(f"  table after the full run: {loaded:,} rows, {table_mb:,.0f} MB "
          f"({table_mb * 1e6 / max(1, loaded):.0f} B/row incl. BRIN)")
    if pandas_rate:
        best = runs[-1][1]["rows"] / runs[-1][1]["seconds"]
        capped = " (capped; --pandas-rows 1000000 for the full million)" if args.pandas_rows < 1_000_000 else ""
        print(f"pandas to_sql(method='multi'), {args.pandas_rows:,} rows{capped}: {pandas_rate:12,.0f} rows/s")
        print(f"  ratio import / to_sql                  : {best / pandas_rate:12.1f}x")


if __name__ == "__main__":
    main()
