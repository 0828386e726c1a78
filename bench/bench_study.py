"""Study simulation: 1, 10 and 50 demo people × 14 days through the real DAGs against the demo APIs.

Usage: python bench/bench_study.py [--people 1,10,50] [--days 14] [--keep]
A private stack of its own (state folder under /var/tmp, free ports: never a person's running stack) runs
`tracker demo --people N --days D --json` for each N in turn — the export imports, every source DAG (one mapped
extract per person, in the API pools, through the PostgreSQL limiter), one dbt_warehouse run, the report and
the stream DAGs — and prints per N:

- wall: the whole demo command; extract: first source-DAG start → last source-DAG end (they run at once);
  dbt: the dbt_warehouse run (as Airflow recorded them);
- Google Health requests per person-day and the busiest 60 s of any one user, counted by the demo API itself
  (GET /_demo/requests), against the quota of 300 per user-minute;
- the cost per added person: time(N) / (N × time(1)) for the extract and dbt phases (flat = stays near or
  below 1; parallel extracts make it fall).
Not a test: numbers depend on the machine (2 cores here, Airflow's parallelism 4).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import requests

TRACKER = str(Path(sys.executable).with_name("tracker"))
QUOTA_PER_USER_MINUTE = 300


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tracker(env: dict[str, str], *args: str, timeout: float = 7200) -> subprocess.CompletedProcess:
    return subprocess.run([TRACKER, *args], env=env, capture_output=True, text=True, timeout=timeout)


def demo_requests(demo_url: str, api: str = "google_health") -> dict:
    return requests.get(f"{demo_url}/_demo/requests", params={"api": api}, timeout=30).json()


def reset_requests(demo_url: str) -> None:
    requests.delete(f"{demo_url}/_demo/requests", timeout=30)


def run_spans(env: dict[str, str], runs: dict) -> dict[str, tuple[datetime, datetime]]:
    """DAG id → (start, end) of the demo's runs, from Airflow's API (in this bench's env)."""
    os.environ.update(env)
    from tracker.airflow_api import AirflowApi

    api = AirflowApi.for_stack()
    spans = {}
    for dag_id, run in runs.items():
        details = api.run(dag_id, run["run_id"])
        if details.get("start_date") and details.get("end_date"):
            spans[dag_id] = (datetime.fromisoformat(details["start_date"]),
                             datetime.fromisoformat(details["end_date"]))
    return spans


def measure(env: dict[str, str], people: int, days: int) -> dict:
    demo_url = f"http://127.0.0.1:{env['TRACKER_DEMO_PORT']}"
    try:
        reset_requests(demo_url)
    except requests.RequestException:
        pass  # the first run starts the demo server: nothing counted yet
    began = time.monotonic()
    done = tracker(env, "demo", "--people", str(people), "--days", str(days), "--json")
    wall = time.monotonic() - began
    if done.returncode != 0:
        raise SystemExit(f"tracker demo --people {people} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    result = json.loads(done.stdout)
    spans = run_spans(env, result["runs"])
    sources = [span for dag_id, span in spans.items() if dag_id not in ("dbt_warehouse", "produce_events",
                                                                         "aggregate_events")]
    extract = (max(e for _, e in sources) - min(s for s, _ in sources)).total_seconds()
    dbt = (spans["dbt_warehouse"][1] - spans["dbt_warehouse"][0]).total_seconds()
    counts = demo_requests(demo_url)
    per_user = counts.get("subjects", {})
    total = sum(s.get("total", 0) for s in per_user.values())
    peak = max((s.get("busiest_60s", 0) for s in per_user.values()), default=0)
    filled = [row["person_id"] for row in result.get("people", []) if row.get("health_days")]
    return {"people": people, "wall_s": round(wall, 1), "extract_s": round(extract, 1), "dbt_s": round(dbt, 1),
            "google_requests": total, "requests_per_person_day": round(total / (people * days), 1),
            "peak_user_60s": peak, "people_with_health_gold": len(filled)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", default="1,10,50")
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--keep", action="store_true", help="leave the private stack's state folder")
    args = parser.parse_args()
    sizes = [int(n) for n in args.people.split(",")]
    state = Path(f"/var/tmp/tracker-bench-study-{os.getpid()}")
    from tracker.stack.env import private_stack_env

    env = private_stack_env(state, free_port)
    rows = []
    try:
        for n in sizes:
            print(f"… {n} people × {args.days} days", flush=True)
            rows.append(measure(env, n, args.days))
            print(json.dumps(rows[-1]), flush=True)
    finally:
        down = tracker(env, "down", timeout=300)
        if down.returncode != 0:
            print(f"tracker down: {down.stderr[-2000:]}")
        if not args.keep:
            shutil.rmtree(state, ignore_errors=True)
    print(f"\n{'people':>6} {'wall s':>8} {'extract s':>10} {'dbt s':>7} {'req/person-day':>15} "
          f"{'peak/user-60s':>14} {'with gold':>10}")
    for r in rows:
        print(f"{r['people']:>6} {r['wall_s']:>8} {r['extract_s']:>10} {r['dbt_s']:>7} "
              f"{r['requests_per_person_day']:>15} {r['peak_user_60s']:>14} {r['people_with_health_gold']:>10}")
    one = next((r for r in rows if r["people"] == 1), None)
    for r in rows:
        if one and r["people"] > 1:
            n = r["people"]
            print(f"cost per added person, {n} people: extract {r['extract_s'] / (n * one['extract_s']):.2f}, "
                  f"dbt {r['dbt_s'] / (n * one['dbt_s']):.2f}, wall {r['wall_s'] / (n * one['wall_s']):.2f} "
                  f"(time({n}) / ({n} × time(1)))")
    worst = max((r["peak_user_60s"] for r in rows), default=0)
    print(f"peak requests of one user in any 60 s: {worst} (quota {QUOTA_PER_USER_MINUTE}): "
          f"{'within' if worst <= QUOTA_PER_USER_MINUTE else 'OVER'} the quota")


if __name__ == "__main__":
    main()
