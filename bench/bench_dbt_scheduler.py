"""dbt under the real scheduler: the dbt_warehouse DAG run by Airflow's scheduler, executor and triggerer vs a
plain `dbt build` of the same project on the same data, in the same run.

Usage: python bench/bench_dbt_scheduler.py [--days 14] [--runs 2] [--home CHECKOUT] [--keep]

A private stack of its own (state folder under /var/tmp, free ports: never a person's running stack) runs
`tracker demo --people 1 --days D` (it loads the demo's data and builds everything once, warming caches), then
times, each from empty silver/gold and `--runs` times:
  (a) a plain `dbt build` of the project (profiles.yml, its threads);
  (b) a dbt_warehouse run triggered through Airflow's REST API, as Airflow records it (queued → done), with its
      parts: the producer's one `dbt build`, the last model task's end after it (the tail the per-model tasks
      add), and its side task (refresh_report, after the models);
with the CPU seconds each part of the stack spent during (a) and (b) (where the gap goes: two cores are shared),
and prints (b)/(a) (target ≤ 1.5). Source freshness is in neither (check_freshness checks it hourly).
`bench_dbt_airflow.py` measures the same through `dag.test()` (one task at a time, no scheduler). --home runs
another checkout's DAGs, plugins and dbt project (e.g. `git worktree add /var/tmp/base main~1`) to compare a
change with its base on the same machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

TRACKER = str(Path(sys.executable).with_name("tracker"))
PRODUCER = "dbt_producer_watcher"
SIDE_TASKS = ("refresh_report",)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tracker(env: dict[str, str], *args: str, timeout: float = 3600) -> subprocess.CompletedProcess:
    return subprocess.run([TRACKER, *args], env=env, capture_output=True, text=True, timeout=timeout)


def drop_dbt_relations() -> None:
    """Empty silver/gold (the schemas and their grants stay): every timed build starts from the same state."""
    import psycopg
    from psycopg import sql
    from tracker import settings

    with psycopg.connect(settings.warehouse_dsn(), autocommit=True) as conn:
        relations = conn.execute("select table_schema, table_name, table_type from information_schema.tables "
                                 "where table_schema in ('silver', 'gold')").fetchall()
        for schema, name, kind in relations:
            conn.execute(sql.SQL("drop {} if exists {} cascade").format(
                sql.SQL("view" if kind == "VIEW" else "table"), sql.Identifier(schema, name)))


def plain_dbt(target: Path, *command: str) -> float:
    from tracker import settings
    from tracker.stack.env import stack_env

    env = os.environ | stack_env(demo=True) | {"DBT_TARGET_PATH": str(target), "DBT_LOG_PATH": str(target / "logs")}
    began = time.perf_counter()
    done = subprocess.run([str(Path(sys.executable).with_name("dbt")), *command],
                          cwd=settings.repo_root() / "dbt_project", env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - began
    if done.returncode and command == ("build",):
        raise SystemExit(f"plain dbt build failed:\n{done.stdout[-4000:]}{done.stderr[-2000:]}")
    return seconds


def role(proc) -> str:
    """What a process of the stack is, from its command line. A task runs in a process forked from a
    LocalExecutor worker, which keeps the worker's title: tasks count as "task processes"."""
    cmd = " ".join(proc.cmdline())
    if proc.name().startswith("postgres") or "postgres:" in cmd:
        return "postgres"
    for needle, name in (("dbt build", "dbt build"), ("source freshness", "dbt source freshness"),
                         ("scheduler", "scheduler"), ("triggerer", "triggerer"), ("dag-processor", "dag-processor"),
                         ("api_server", "api-server"), ("api-server", "api-server"),
                         ("LocalExecutor", "task processes")):
        if needle in cmd:
            return name
    return "other"


class CpuSampler:
    """CPU seconds per process role while a run goes on: every process's user+system time, sampled every
    0.25 s (a process that ends between samples loses at most that much)."""

    def __init__(self) -> None:
        import psutil

        self.psutil, self.seen, self.stop = psutil, {}, threading.Event()
        self.base = {p.pid: self._cpu(p) for p in psutil.process_iter()}
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    @staticmethod
    def _cpu(proc) -> float:
        try:
            t = proc.cpu_times()
            return t.user + t.system
        except Exception:
            return 0.0

    def _loop(self) -> None:
        while not self.stop.wait(0.25):
            for proc in self.psutil.process_iter():
                try:
                    key = (proc.pid, proc.create_time())
                    if key not in self.seen:
                        self.seen[key] = [role(proc), 0.0, self.base.get(proc.pid, 0.0)]
                    self.seen[key][1] = self._cpu(proc)
                except Exception:
                    continue

    def result(self) -> dict[str, float]:
        self.stop.set()
        self.thread.join()
        by_role: dict[str, float] = {}
        for name, cpu, base in self.seen.values():
            by_role[name] = by_role.get(name, 0.0) + max(cpu - base, 0.0)
        by_role.pop("other", None)
        return dict(sorted(by_role.items(), key=lambda kv: -kv[1]))


def when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def dag_run(api, index: int) -> dict:
    """One dbt_warehouse run through the scheduler; its duration as Airflow records it and its parts."""
    cpu = CpuSampler()
    run_id = api.trigger_now("dbt_warehouse", note=f"bench_dbt_scheduler run {index}")
    state = api.wait_for_run("dbt_warehouse", run_id, timeout=1800)
    cpu_seconds = cpu.result()
    run = api.run("dbt_warehouse", run_id)
    tis = api.task_instances("dbt_warehouse", run_id)
    spans = {ti["task_id"]: (when(ti.get("start_date")), when(ti.get("end_date"))) for ti in tis}
    began = when(run.get("queued_at")) or when(run["start_date"])
    producer_start, producer_end = spans[PRODUCER]
    model_ends = [end for task_id, (_, end) in spans.items()
                  if end and task_id != PRODUCER and task_id not in SIDE_TASKS]
    report_start, report_end = spans.get("refresh_report", (None, None))
    return {"state": state, "tasks": len(tis), "seconds": (when(run["end_date"]) - began).total_seconds(),
            "to_producer": (producer_start - began).total_seconds(),
            "producer": (producer_end - producer_start).total_seconds(),
            "tail": (max(model_ends) - producer_end).total_seconds() if model_ends else 0.0,
            "report": (report_end - report_start).total_seconds() if report_start and report_end else 0.0,
            "cpu": cpu_seconds,
            "states": {s: sum(1 for ti in tis if ti.get("state") == s) for s in {ti.get("state") for ti in tis}}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="leave the private stack's state folder")
    parser.add_argument("--home", type=Path, help="the checkout whose dags/, plugins/, dbt_project/ run")
    args = parser.parse_args()
    state = Path(f"/var/tmp/tracker-bench-dbt-scheduler-{os.getpid()}")
    from tracker.stack.env import private_stack_env

    env = private_stack_env(state, free_port)
    if args.home:
        env["TRACKER_HOME"] = str(args.home.resolve())
    try:
        began = time.monotonic()
        demo = tracker(env, "demo", "--people", "1", "--days", str(args.days), "--json")
        if demo.returncode != 0:
            raise SystemExit(f"tracker demo failed ({demo.returncode}):\n{demo.stderr[-4000:]}")
        print(f"private stack up, {args.days} demo days loaded and built once in {time.monotonic() - began:.0f}s",
              flush=True)
        os.environ.update(env)
        from tracker.airflow_api import AirflowApi

        api = AirflowApi.for_stack()
        # the demo left check_freshness unpaused (hourly): its run must not land in one of the timed windows
        api.unpause("check_freshness", paused=True)
        plain, runs = [], []
        # the plain build reads dbt's partial-parse file as the producer does (Cosmos' cache): parse once, untimed
        plain_dbt(state / "plain", "parse")
        for index in range(1, args.runs + 1):
            drop_dbt_relations()
            cpu = CpuSampler()
            plain.append(plain_dbt(state / "plain", "build"))
            plain_cpu = cpu.result()
            drop_dbt_relations()
            runs.append(dag_run(api, index))
            r = runs[-1]
            print(f"run {index}: plain dbt build {plain[-1]:.1f}s; "
                  f"dbt_warehouse {r['seconds']:.1f}s ({r['state']}, {r['tasks']} tasks {r['states']}): "
                  f"queued→producer {r['to_producer']:.1f}s, producer {r['producer']:.1f}s, model tasks' tail "
                  f"after it {r['tail']:.1f}s, refresh_report {r['report']:.1f}s", flush=True)
            print("  CPU s during the plain build: " + ", ".join(f"{k} {v:.1f}" for k, v in plain_cpu.items()))
            print("  CPU s during the run: " + ", ".join(f"{k} {v:.1f}" for k, v in r["cpu"].items()), flush=True)
    finally:
        down = tracker(env, "down", timeout=300)
        if down.returncode != 0:
            print(f"tracker down: {down.stderr[-2000:]}")
        if not args.keep:
            shutil.rmtree(state, ignore_errors=True)
    build = statistics.median(plain)
    run = statistics.median(r["seconds"] for r in runs)
    each = ", ".join(f"{r['seconds']:.1f}" for r in runs)
    print(f"\nmedian of {len(runs)}: plain dbt build {build:.1f}s; dbt_warehouse through the scheduler {run:.1f}s "
          f"(runs {each})")
    print(f"ratio run / plain build {run / build:4.2f} (target ≤ 1.50 — {'met' if run / build <= 1.5 else 'NOT met'})")


if __name__ == "__main__":
    main()
