"""Concurrent backfill runs of one Google Health user through the DAG's hook (real client, demo API and its
OAuth endpoint, the warehouse): every request passes the shared limiter, no window goes over the user's quota,
and every run still loads its days completely, each sample once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

START = datetime(2026, 9, 7, tzinfo=UTC)


def test_concurrent_runs_of_one_user_share_the_users_quota(warehouse, demo_api, airflow_db, monkeypatch):
    import airflow  # noqa: F401 - initialising Airflow puts the plugins folder (tracker_airflow) on sys.path
    from tracker.config import load_config
    from tracker.sources import quota
    from tracker.sources.google_health.extract import extract_person
    from tracker.stack.local import seed_demo_sign_in
    from tracker.windows import ExtractWindow
    from tracker_airflow.hooks import GoogleHealthHook, WarehouseHook

    # GIVEN the user's quota scaled down to 12 requests per 3 s (the real one is 300 per 60 s: same mechanism)
    user, project = quota.QUOTAS["google_health"]
    monkeypatch.setitem(quota.QUOTAS, "google_health", (
        quota.Quota("google_health", 12, timedelta(seconds=3), "user", user.reference), project))
    warehouse.execute("delete from auth.oauth_tokens")
    seed_demo_sign_in()
    warehouse.execute("delete from quota.request_counts where api = 'google_health'")
    warehouse.execute("delete from raw.fitbit__heart_rate where source = 'google_health_api'")
    person = load_config().choose("me")[0]
    clients, errors = GoogleHealthHook().clients(), []

    def backfill_run(day: int) -> None:  # what one DAG run's extract task does, for its own day
        try:
            window = ExtractWindow(START + timedelta(days=day), START + timedelta(days=day + 1))
            with WarehouseHook().connect() as conn:
                extract_person(conn, clients("google_health"), person, window, f"run-{day}", repull=timedelta(0))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    # WHEN three runs for three days go at the same time
    runs = [threading.Thread(target=backfill_run, args=(day,)) for day in range(3)]
    for t in runs:
        t.start()
    for t in runs:
        t.join()
    assert not errors, errors
    # THEN no 3-second window admitted more than 12 requests for the user, across all runs (any 3-s window lies
    # within 4 consecutive counted seconds)
    per_second = dict(warehouse.execute(
        "select extract(epoch from second)::int8, requests from quota.request_counts where api = 'google_health'"
        " and subject = 'user:google_health'").fetchall())
    assert sum(per_second.values()) > 3 * 12, per_second   # the quota was really the bottleneck
    busiest = max(sum(per_second.get(k - i, 0) for i in range(4)) for k in per_second)
    assert busiest <= 12, per_second
    # AND each run loaded its whole day: one heart-rate sample a minute, none twice
    n, distinct = warehouse.execute(
        "select count(*), count(distinct observed_at) from raw.fitbit__heart_rate where source = 'google_health_api'"
        " and observed_at >= %s and observed_at < %s", (START, START + timedelta(days=3))).fetchone()
    assert n == distinct == 3 * 24 * 60
    warehouse.execute("delete from quota.request_counts where api = 'google_health'")


def test_tracker_extract_builds_the_google_health_client_on_the_shared_limiter(warehouse, demo_api):
    """`tracker extract google_health` (no Airflow) counts its requests in the same warehouse table as the DAGs."""
    import psycopg
    from tracker import settings
    from tracker.cli.extract import credentials
    from tracker.sources.catalogue import source

    warehouse.execute("delete from quota.request_counts where api = 'google_health'")
    src = source("google_health")
    creds = credentials(src, demo=True, warehouse=lambda: psycopg.connect(settings.loader_dsn()))
    client = src.client(creds, "google_health")
    client.limiter.acquire()
    counted = warehouse.execute("select subject, sum(requests) from quota.request_counts where api = 'google_health'"
                                " group by 1 order by 1").fetchall()
    assert counted == [("project:demo-client-id", 1), ("user:google_health", 1)]
