"""The cross-process request limiter on the real PostgreSQL: several processes with several threads each, one
budget; no window of the quota's length ever admits more than its limit, and nothing is admitted unrecorded."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
import uuid

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

WORKER = textwrap.dedent("""
    import sys, threading, psycopg
    from datetime import timedelta
    from tracker.sources.quota import Limit, PostgresRateLimiter

    dsn, api, limit, window_s, threads, each = sys.argv[1], sys.argv[2], *map(float, sys.argv[3:7])
    def work():
        limiter = PostgresRateLimiter(lambda: psycopg.connect(dsn), api,
                                      [Limit("user:shared", int(limit), timedelta(seconds=window_s))])
        for _ in range(int(each)):
            limiter.acquire()
        limiter.close()
    ts = [threading.Thread(target=work) for _ in range(int(threads))]
    [t.start() for t in ts]
    [t.join() for t in ts]
""")


def counted(conn, api: str, subject: str) -> dict[int, int]:
    """Admissions per second (epoch) as the limiter counted them."""
    return dict(conn.execute(
        "select extract(epoch from second)::int8, requests from quota.request_counts where api = %s"
        " and subject = %s", (api, subject)).fetchall())


def busiest_window(per_second: dict[int, int], window: int) -> int:
    """The most admissions in any `window` + 1 consecutive seconds: every sliding window of `window` seconds
    lies within such a run, so no window (calendar or sliding) held more."""
    return max(sum(per_second.get(k - i, 0) for i in range(window + 1)) for k in per_second)


def test_processes_and_threads_share_one_budget(warehouse):
    from tracker import settings

    api, limit, window, processes, threads, each = f"test_{uuid.uuid4().hex[:8]}", 10, 2, 3, 2, 8
    total = processes * threads * each
    # WHEN 3 processes × 2 threads each send 8 requests through their own limiters of one shared quota
    started = time.monotonic()
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, settings.warehouse_dsn(), api, str(limit),
                                 str(window), str(threads), str(each)]) for _ in range(processes)]
    assert [w.wait(timeout=120) for w in workers] == [0] * processes
    elapsed = time.monotonic() - started
    # THEN every request was admitted and counted once
    per_second = counted(warehouse, api, "user:shared")
    assert sum(per_second.values()) == total
    # AND no 2-second window (sliding, so no calendar one either) admitted more than the limit
    assert busiest_window(per_second, window) <= limit, per_second
    # AND the budget was really the bottleneck: 48 requests at 10 per 2 s take at least 4 windows after the first
    assert elapsed >= (total / limit - 1) * window, elapsed
    warehouse.execute("delete from quota.request_counts where api = %s", (api,))


def test_google_health_limits_wait_for_the_oldest_request_to_leave_the_minute(warehouse):
    import psycopg
    from tracker import settings
    from tracker.sources.quota import google_health_limiter

    account = f"test_{uuid.uuid4().hex[:8]}"
    slept: list[float] = []

    class Stop(Exception):
        pass

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        raise Stop

    limiter = google_health_limiter(lambda: psycopg.connect(settings.warehouse_dsn()), account, "demo-client")
    limiter._sleep = sleep
    # GIVEN the user's 300 requests of this minute spent
    for _ in range(300):
        assert limiter.acquire() == 0
    # WHEN one more is asked for, THEN the limiter waits until the first second's requests leave the window
    # (about a minute: the window is 60 s, plus the current second, plus the 1-s margin against arrival jitter)
    with pytest.raises(Stop):
        limiter.acquire()
    assert 50 < slept[0] <= 62.01, slept
    # AND the refused request spent nothing: still 300 for the user and 300 for the project
    rows = dict(warehouse.execute("select subject, sum(requests) from quota.request_counts"
                                  " where api = 'google_health'"
                                  " and subject = any(%s) group by subject",
                                  ([f"user:{account}", "project:demo-client"],)).fetchall())
    assert rows == {f"user:{account}": 300, "project:demo-client": 300}
    # AND another user of the same project is not held back by the first one's quota
    other = google_health_limiter(lambda: psycopg.connect(settings.warehouse_dsn()), account + "_b", "demo-client")
    assert other.acquire() == 0
    limiter.close()
    other.close()
    warehouse.execute("delete from quota.request_counts where api = 'google_health' and subject = any(%s)",
                      ([f"user:{account}", f"user:{account}_b", "project:demo-client"],))


def test_pools_are_sized_from_the_published_limits():
    from tracker.sources.quota import pool_specs

    pools = {p.name: p for p in pool_specs()}
    assert pools["api_google_health"].slots == 120_000 // 300   # project cap ÷ one user's full speed
    assert pools["api_github"].slots == 1                       # 5,000/h ≈ 83/min: under one task's pace
    assert pools["api_lastfm"].slots == 2 and pools["api_weather"].slots == 5
    assert "300 requests per minute per user" in pools["api_google_health"].description
    assert {p.slots for p in pool_specs(max_slots=4)} <= {1, 2, 4}
    assert all(p.as_dict()["include_deferred"] is False for p in pools.values())


def test_airflow_imports_the_pools_file(airflow_db, tmp_path):
    """The file the stack hands to `airflow pools import` creates every pool the source DAGs' tasks use."""
    import json
    import os
    import subprocess
    from pathlib import Path

    from tracker.sources.quota import QUOTAS, pool_name, pools_json

    path = tmp_path / "pools.json"
    path.write_text(pools_json(max_slots=4))
    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow, "pools", "import", str(path)], check=True, capture_output=True, env=os.environ.copy())
    listed = subprocess.run([airflow, "pools", "list", "--output", "json"], check=True, capture_output=True,
                            text=True, env=os.environ.copy()).stdout
    pools = {p["pool"]: int(p["slots"]) for p in json.loads(listed[listed.index("["):])}
    assert {pool_name(s) for s in QUOTAS} <= set(pools), pools
    assert pools["api_google_health"] == 4 and pools["api_github"] == 1
