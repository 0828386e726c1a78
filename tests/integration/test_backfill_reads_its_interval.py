"""A backfill's run of the Google Health extract reads exactly its data interval (the 3-day re-pull is for the
daily schedule), on the real pieces: the DAG's extract task body, the demo API counting requests, the warehouse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
import requests

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

START = datetime(2026, 9, 14, tzinfo=UTC)
END = START + timedelta(days=1)


def test_a_backfill_run_reads_its_day_only_and_a_daily_run_re_pulls(warehouse, demo_api, airflow_db):
    import airflow  # noqa: F401 - initialising Airflow puts the plugins folder (tracker_airflow) on sys.path
    from tracker.stack.local import seed_demo_sign_in
    from tracker_airflow.common import extract_load

    warehouse.execute("delete from auth.oauth_tokens where provider = 'google_health' and account = 'google_health'")
    seed_demo_sign_in()

    def run(run_type: str) -> tuple[list[dict], int]:
        requests.delete(f"{demo_api}/_demo/requests", params={"api": "google_health"}, timeout=10)
        loads = extract_load.function("google_health", "me", None, params={}, data_interval_start=START,
                                      data_interval_end=END, dag_run=SimpleNamespace(run_type=run_type),
                                      run_id=f"test_backfill_interval__{run_type}")
        counts = requests.get(f"{demo_api}/_demo/requests", params={"api": "google_health"}, timeout=10).json()
        return loads, sum(s["total"] for s in counts["subjects"].values())

    daily, daily_requests = run("scheduled")
    backfill, backfill_requests = run("backfill")
    # the scheduled run re-reads the 3 days before its interval; the backfill's run reads its day alone
    # (a load's window is a UTC instant, or a date for the daily types)
    assert {load["start"][:10] for load in daily} == {f"{START - timedelta(days=3):%Y-%m-%d}"}
    assert {load["start"][:10] for load in backfill} == {f"{START:%Y-%m-%d}"}
    assert {load["end"] for load in backfill if "T" in load["end"]} == {END.isoformat()}
    print(f"Google Health requests for one day: scheduled run {daily_requests}, backfill run {backfill_requests}")
    assert backfill_requests < daily_requests, (backfill_requests, daily_requests)
    # AND the day itself is complete either way: one heart-rate sample a minute, none twice
    n, distinct = warehouse.execute(
        "select count(*), count(distinct observed_at) from raw.fitbit__heart_rate where person_id = 'me'"
        " and source = 'google_health_api' and observed_at >= %s and observed_at < %s", (START, END)).fetchone()
    assert n == distinct == 24 * 60
