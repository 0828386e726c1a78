"""dbt on a year of 1-second heart rate: full refresh vs the incremental run after one new day.

Usage: python bench/bench_dbt_incremental.py [--days 365] [--dsn DSN]   (default: a throwaway PostgreSQL cluster)

Fills raw.fitbit__heart_rate with `days` days of 1 s samples (86 400 a day, ≈31.5 M a year) straight in SQL
(this measures dbt, not the importer: bench_fitbit_import.py does that), builds the health models with
`--full-refresh`, appends one more day, and runs them again incrementally. Prints both times and the ratio
for the incremental model alone (int_heart_rate_samples_aggregated_to_minutes)
and for it with every health model downstream
(the gold tables are rebuilt from its per-minute rows, ≈0.5 M a year). Target: incremental ≤ 10 % of full.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from tracker.config import Person, TrackerConfig
from tracker.stack.postgres import throwaway_cluster
from tracker.warehouse import changes
from tracker.warehouse.people import sync_people

ROOT = Path(__file__).resolve().parents[1]
MINUTES = "int_heart_rate_samples_aggregated_to_minutes"  # the incremental model measured
START = datetime(2025, 1, 1, tzinfo=UTC)
FILL = """
insert into raw.fitbit__heart_rate (person_id, observed_at, bpm, confidence, source, source_file, _run_id)
select 'me', t,
       (55 + 40 * (0.5 + 0.5 * sin(extract(epoch from t) / 3600.0)) + (extract(epoch from t)::bigint %% 7))::int2,
       3, 'fitbit_export', 'heart_rate-' || to_char(t, 'YYYY-MM-DD') || '.json', 'bench'
from generate_series(%(start)s::timestamptz, %(end)s::timestamptz - interval '1 second', interval '1 second') as t
"""


def dbt_env(dsn: str, target: Path) -> dict[str, str]:
    u = urlsplit(dsn)
    return os.environ | {"TRACKER_PG_HOST": u.hostname, "TRACKER_PG_PORT": str(u.port),
                         "TRACKER_PG_USER": u.username, "TRACKER_PG_PASSWORD": u.password,
                         "TRACKER_PG_DB": u.path.lstrip("/"), "DBT_TARGET_PATH": str(target / "target"),
                         "DBT_LOG_PATH": str(target / "logs"), "DBT_PROFILES_DIR": str(ROOT / "dbt_project")}


def dbt(env: dict[str, str], *args: str) -> float:
    began = time.perf_counter()
    result = subprocess.run([str(Path(sys.executable).with_name("dbt")), *args], cwd=ROOT / "dbt_project", env=env,
                            capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(result.stdout[-4000:] + result.stderr[-2000:])
    return time.perf_counter() - began


def model_seconds(tmp: Path) -> float:
    """Time dbt spent executing the models of the last run (run_results.json), without its own start-up."""
    results = json.loads((tmp / "target" / "run_results.json").read_text())["results"]
    return sum(r["execution_time"] for r in results)


def fill(dsn: str, start: datetime, end: datetime) -> float:
    began = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        day = start
        while day < end:  # a day per statement, like one export file or one API day per load
            stop = min(day + timedelta(days=1), end)
            with conn.transaction():  # a load and its change-log row commit together, as the loaders do
                conn.execute(FILL, {"start": day, "end": stop})
                changes.record(conn, person_id="me", changed_from=day, changed_to=stop, run_id="bench")
            day += timedelta(days=1)
        conn.execute("analyze raw.fitbit__heart_rate")
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--dsn", help="an existing warehouse (default: a throwaway cluster)")
    args = parser.parse_args()
    with (nullcontext(args.dsn) if args.dsn else throwaway_cluster()) as dsn, \
            tempfile.TemporaryDirectory(prefix="tracker-bench-dbt-") as tmp:
        env = dbt_env(dsn, Path(tmp))
        with psycopg.connect(dsn, autocommit=True) as conn:
            sync_people(conn, TrackerConfig(people=[Person(id="me", timezone="Europe/Berlin", max_heart_rate=186)]),
                        "bench")
        end = START + timedelta(days=args.days)
        seconds = fill(dsn, START, end)
        print(f"raw heart rate: {args.days * 86400:,} samples ({args.days} days at 1 s) written in {seconds:.0f}s")
        dbt(env, "parse")
        # everything the measured models read (staging views, people, other sources' models), built once
        dbt(env, "run", "--select", f"@{MINUTES}", "--exclude", f"{MINUTES}+")
        health = [f"{MINUTES}+"]
        results = {}
        for label, select in ((MINUTES, [MINUTES]), ("health chain", health)):
            full = dbt(env, "run", "--select", *select, "--full-refresh")
            full_models = model_seconds(Path(tmp))
            fill(dsn, end, end + timedelta(days=1))
            incremental = dbt(env, "run", "--select", *select)
            incremental_models = model_seconds(Path(tmp))
            with psycopg.connect(dsn, autocommit=True) as conn, conn.transaction():  # the appended day again
                conn.execute("delete from raw.fitbit__heart_rate where observed_at >= %s", (end,))
                changes.record(conn, person_id="me", changed_from=end, changed_to=end + timedelta(days=1))
            results[label] = (full_models, incremental_models)
            print(f"{label}:")
            print(f"  dbt run wall time  full refresh {full:7.1f}s  incremental (+1 day) {incremental:6.1f}s  "
                  f"ratio {incremental / full:6.1%}")
            print(f"  model execution    full refresh {full_models:7.1f}s  incremental (+1 day) "
                  f"{incremental_models:6.1f}s  ratio {incremental_models / full_models:6.1%}")
        print("wall time includes dbt's own start-up and parse (a few seconds, the same for 1 day or 1 year)")
        ratio = results[MINUTES][1] / results[MINUTES][0]
        verdict = "met" if ratio <= 0.10 else "NOT met"
        print(f"target: incremental ≤ 10 % of a full refresh (model execution) — {verdict} ({ratio:.1%})")


if __name__ == "__main__":
    main()
