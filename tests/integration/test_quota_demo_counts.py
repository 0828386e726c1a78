"""The quota proof, seen from the API's side: several concurrent backfill runs — several people, and several runs
of each person — through the DAG's hook (real client, demo OAuth endpoint, the warehouse limiter) against the
demo API. The DEMO API's own per-second counts (`/_demo/requests`) show that no window of the quota's length went
over the quota for any user, that the quota was the bottleneck, and every run loaded its days completely, each
sample once."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
import requests

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

START = datetime(2026, 8, 3, tzinfo=UTC)
PEOPLE = ("quota_a", "quota_b", "quota_c")
RUNS_PER_PERSON = 3  # one day each: days 0, 1, 2
LIMIT, WINDOW = 12, 3  # the user quota scaled down from 300 per 60 s: same mechanism, a test's length


def _clean(warehouse) -> None:
    warehouse.execute("delete from auth.oauth_tokens where provider = 'google_health' and account = any(%s)",
                      (list(PEOPLE),))
    warehouse.execute("delete from quota.request_counts where api = 'google_health' and subject = any(%s)",
                      ([f"user:{p}" for p in PEOPLE],))
    for table in ("fitbit__heart_rate", "fitbit__steps_daily", "fitbit__sleep_sessions", "fitbit__sleep_stages",
                  "fitbit__exercises", "fitbit__resting_heart_rate", "fitbit__hrv_daily", "fitbit__spo2_daily",
                  "fitbit__respiratory_rate_daily", "fitbit__heart_rate_zones_daily",
                  "fitbit__heart_rate_zone_limits"):
        warehouse.execute(f"delete from raw.{table} where person_id = any(%s)", (list(PEOPLE),))


def test_concurrent_backfills_of_several_people_stay_within_each_users_quota_at_the_api(
        warehouse, demo_api, airflow_db, monkeypatch):
    import airflow  # noqa: F401 - initialising Airflow puts the plugins folder (tracker_airflow) on sys.path
    from tracker.config import TrackerConfig
    from tracker.sources import quota
    from tracker.sources.google_health.extract import extract_person
    from tracker.stack.local import seed_demo_sign_in
    from tracker.windows import ExtractWindow
    from tracker_airflow.hooks import GoogleHealthHook, WarehouseHook

    # GIVEN each user's quota scaled down to 12 requests per 3 s, three signed-in demo people (seeded variants,
    # one per refresh token demo-refresh-<key>) and the demo API's counts cleared
    user, project = quota.QUOTAS["google_health"]
    monkeypatch.setitem(quota.QUOTAS, "google_health", (
        quota.Quota("google_health", LIMIT, timedelta(seconds=WINDOW), "user", user.reference), project))
    _clean(warehouse)
    for key in PEOPLE:
        seed_demo_sign_in(key, refresh_token=f"demo-refresh-{key}")
    config = TrackerConfig.model_validate({"people": [
        {"id": key, "timezone": "Europe/Berlin", "accounts": {"google_health": key}} for key in PEOPLE]})
    people = {p.id: p for p in config.people}
    assert requests.delete(f"{demo_api}/_demo/requests", params={"api": "google_health"}, timeout=10).ok
    clients, errors, slept = GoogleHealthHook().clients(), [], {key: [] for key in PEOPLE}

    def backfill_run(key: str, day: int) -> None:  # what one DAG run's mapped extract task does for one person
        try:
            window = ExtractWindow(START + timedelta(days=day), START + timedelta(days=day + 1))
            client = clients(key)
            acquire = client.limiter.acquire  # the real limiter; each call's seconds slept are recorded

            def recorded_acquire() -> float:
                waited = acquire()
                slept[key].append(waited)
                return waited

            client.limiter.acquire = recorded_acquire
            with WarehouseHook().connect() as conn:
                extract_person(conn, client, people[key], window, f"quota-{key}-{day}", repull=timedelta(0))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append((key, day, exc))

    # WHEN nine runs (three people × three days) go at the same time
    began = time.monotonic()
    runs = [threading.Thread(target=backfill_run, args=(key, day)) for key in PEOPLE for day in range(RUNS_PER_PERSON)]
    for t in runs:
        t.start()
    for t in runs:
        t.join()
    took = time.monotonic() - began
    try:
        assert not errors, errors
        # THEN the demo API, counting on its own clock, saw each user's requests and no 3-s window above 12
        counts = requests.get(f"{demo_api}/_demo/requests", params={"api": "google_health", "window": WINDOW},
                              timeout=10).json()
        subjects = {k: v for k, v in counts["subjects"].items() if k in PEOPLE}
        assert set(subjects) == set(PEOPLE), counts["subjects"].keys()
        for key, seen in subjects.items():
            per_second = {int(s): n for s, n in seen["per_second"].items()}
            assert seen["busiest_window"] <= LIMIT, (key, per_second)
            assert all(sum(per_second.get(s + i, 0) for i in range(WINDOW)) <= LIMIT for s in per_second), per_second
            # AND the quota was the bottleneck: each user sent several windows' worth, every one of them through
            # the limiter, which made that user's runs wait, and was spread over at least the time the quota allows
            assert seen["total"] >= 2.5 * LIMIT, (key, seen["total"])
            assert len(slept[key]) == seen["total"], (key, len(slept[key]), seen["total"])
            assert sum(slept[key]) > 0, (key, "the limiter never slept")
            spread = max(per_second) - min(per_second) + 1
            assert spread >= (seen["total"] / LIMIT - 1) * WINDOW, (key, spread, per_second)
        # AND the three users share no budget: together, some window held more than one user's quota
        together: dict[int, int] = {}
        for seen in subjects.values():
            for s, n in seen["per_second"].items():
                together[int(s)] = together.get(int(s), 0) + n
        busiest_together = max(sum(together.get(s + i, 0) for i in range(WINDOW)) for s in together)
        total = sum(s["total"] for s in subjects.values())
        print(f"{len(runs)} runs, {total} requests in {took:.1f} s (busiest {WINDOW} s together: {busiest_together});"
              " per user: " + ", ".join(f"{k} {v['total']} (busiest {WINDOW} s: {v['busiest_window']}, slept"
                                        f" {sum(slept[k]):.1f} s)" for k, v in subjects.items()))
        assert busiest_together > LIMIT, (busiest_together, together)
        # AND each run loaded its whole day: one heart-rate sample a minute, none twice; one steps row a day
        for key in PEOPLE:
            n, distinct = warehouse.execute(
                "select count(*), count(distinct observed_at) from raw.fitbit__heart_rate where person_id = %s"
                " and source = 'google_health_api' and observed_at >= %s and observed_at < %s",
                (key, START, START + timedelta(days=RUNS_PER_PERSON))).fetchone()
            assert n == distinct == RUNS_PER_PERSON * 24 * 60, (key, n, distinct)
            days = warehouse.execute("select date, count(*) from raw.fitbit__steps_daily where person_id = %s"
                                     " group by 1 order by 1", (key,)).fetchall()
            # a UTC day touches two local (Berlin) days; the runs' days overlap by one, still one row each
            assert [d for d, _ in days] == [date(2026, 8, 3) + timedelta(days=i) for i in range(RUNS_PER_PERSON + 1)]
            assert all(c == 1 for _, c in days), days
        # AND the people are different people (seeded by their keys), not one person's copies
        resting = warehouse.execute("select person_id, array_agg(bpm order by date) from raw.fitbit__resting_heart_rate"
                                    " where person_id = any(%s) group by 1", (list(PEOPLE),)).fetchall()
        assert len({tuple(v) for _, v in resting}) == len(PEOPLE), resting
    finally:
        _clean(warehouse)
