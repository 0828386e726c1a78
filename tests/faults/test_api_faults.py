"""Google Health API faults against the real loader and PostgreSQL: the demo API (the real API's format)
behind a route that misbehaves on purpose. A run either completes with exactly the clean answer's rows, or
fails with a clear error; in no case does it lose a row the warehouse held."""

from __future__ import annotations

import copy
import json
import time
from collections import Counter
from datetime import UTC, date, datetime

import psycopg
import pytest
from tracker import settings
from tracker.config import Person
from tracker.demo import google_health_api
from tracker.demo.server import DemoRequest, DemoResponse, serve_in_thread
from tracker.http import HttpClient, MalformedResponseError, TransientSourceError
from tracker.sources.google_health.client import GoogleHealthClient, RateLimiter
from tracker.sources.google_health.extract import extract_person
from tracker.windows import ExtractWindow

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

TODAY = date(2026, 11, 20)
WINDOW = ExtractWindow(datetime(2026, 11, 10, tzinfo=UTC), datetime(2026, 11, 11, tzinfo=UTC))
PERSON = Person(id="gh_faults", timezone="Europe/Berlin", accounts={"google_health": "google_health"})
TABLES = ("raw.fitbit__heart_rate", "raw.fitbit__steps_daily", "raw.fitbit__heart_rate_zones_daily",
          "raw.fitbit__resting_heart_rate", "raw.fitbit__hrv_daily", "raw.fitbit__spo2_daily",
          "raw.fitbit__respiratory_rate_daily", "raw.fitbit__heart_rate_zone_limits", "raw.fitbit__sleep_sessions",
          "raw.fitbit__sleep_stages", "raw.fitbit__exercises")


class FaultyApi:
    """The demo Google Health API with a switchable fault: `mode`, applied to data requests only."""

    def __init__(self) -> None:
        self.mode, self.seen = "clean", Counter()
        self.routes = google_health_api.routes(TODAY)
        self.data_route = self.routes[google_health_api.DATA]

    def data(self, req: DemoRequest) -> DemoResponse:
        key = (req.method, req.path, json.dumps(req.query, sort_keys=True), req.body)
        self.seen[key] += 1
        first = self.seen[key] == 1
        mode = self.mode
        if mode == "429" and first:
            return DemoResponse(429, {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED"}}, {"Retry-After": "0"})
        if mode == "500" and first:
            return DemoResponse(503, {"error": {"code": 503, "status": "UNAVAILABLE"}})
        if mode == "timeout" and first:
            time.sleep(1.5)  # longer than the client's read timeout
        if mode == "empty":
            return DemoResponse(200, {})
        if mode == "204":
            return DemoResponse(204, b"")
        resp = self.data_route(req)
        if resp.status != 200 or not isinstance(resp.body, dict):
            return resp
        body = copy.deepcopy(resp.body)  # the demo caches its answers: never edit them in place
        if mode == "renamed" and "dataPoints" in body:
            body = {"points": body.pop("dataPoints"), **body}
        if mode in ("unknown", "missing"):
            for point in body.get("dataPoints") or []:
                if mode == "unknown":
                    point["futureField"] = {"nested": [1, 2, 3]}
                elif "heartRate" in point and point["heartRate"].get("beatsPerMinute") is not None:
                    del point["heartRate"]["beatsPerMinute"]
                    break
        text = json.dumps(body).encode()
        if mode == "truncated" or (mode == "truncated-once" and first):
            return DemoResponse(200, text[: len(text) // 2])
        return DemoResponse(200, text)


@pytest.fixture(scope="module")
def api():
    faulty = FaultyApi()
    server, url = serve_in_thread(routes={**faulty.routes, google_health_api.DATA: faulty.data})
    yield faulty, f"{url}{google_health_api.PREFIX}"
    server.shutdown()
    server.server_close()


def client_for(base_url: str) -> GoogleHealthClient:
    http = HttpClient(timeout=(2.0, 1.0), max_retries=2, backoff=0.01, sleep=lambda s: None)
    return GoogleHealthClient(base_url=base_url, token_provider=lambda: "demo-access-token", http=http,
                              limiter=RateLimiter(per_minute=600_000, burst=1000))


def fingerprint(conn: psycopg.Connection, leave_out: tuple[str, ...] = ()) -> dict[str, tuple[int, str]]:
    """Row count and md5 of the person's business columns, per table (load metadata left out)."""
    out = {}
    for table in TABLES:
        cols = [r[0] for r in conn.execute(
            "select column_name from information_schema.columns where table_schema || '.' || table_name = %s"
            " and column_name <> all(%s) order by ordinal_position", (table, ["_loaded_at", "_run_id", *leave_out]))]
        row = "(" + ", ".join(cols) + ")::text"
        out[table] = conn.execute(f"select count(*), coalesce(md5(string_agg({row}, '|' order by {row})), '')"  # noqa: S608
                                  f" from {table} where person_id = %s", (PERSON.id,)).fetchone()
    return out


def rows(fp: dict[str, tuple[int, str]]) -> int:
    return sum(n for n, _ in fp.values())


@pytest.fixture()
def loaded(api, warehouse):
    """The person's window loaded from the clean API; the fingerprint of what the warehouse holds."""
    faulty, url = api
    for table in (*TABLES, "raw.quarantine"):
        warehouse.execute(f"delete from {table} where person_id = %s", (PERSON.id,))  # noqa: S608
    faulty.mode = "clean"
    with psycopg.connect(settings.warehouse_dsn(), autocommit=True) as conn:
        extract_person(conn, client_for(url), PERSON, WINDOW, "clean")
    held = fingerprint(warehouse)
    assert rows(held) > 5000 and all(n > 0 for n, _ in held.values()), held
    yield held
    for table in (*TABLES, "raw.quarantine"):
        warehouse.execute(f"delete from {table} where person_id = %s", (PERSON.id,))  # noqa: S608


def run_with(api, mode: str):
    faulty, url = api
    faulty.mode, faulty.seen = mode, Counter()
    with psycopg.connect(settings.warehouse_dsn(), autocommit=True) as conn:
        return extract_person(conn, client_for(url), PERSON, WINDOW, f"fault-{mode}")


def lost(held: dict, now: dict) -> int:
    """Rows held before that are no longer there (tables whose content changed count all their old rows)."""
    return sum(max(0, held[t][0] - now[t][0]) if held[t][1] != now[t][1] else 0 for t in held)


@pytest.mark.parametrize(("mode", "case"), [
    ("empty", "API answers {} for a window holding data"),
    ("204", "API answers 204 No Content for a window holding data"),
])
def test_empty_answer_keeps_what_the_warehouse_holds(api, loaded, warehouse, mode, case, request):
    fault = _fault(request, case, "run succeeds, nothing deleted, kept rows reported")
    summary = run_with(api, mode)
    now = fingerprint(warehouse)
    kept = sum(t.kept for t in summary)
    fault.record(f"success; kept {kept:,} rows the answer did not cover", before=rows(loaded), after=rows(now),
                 lost=rows(loaded) - rows(now))
    assert now == loaded
    assert kept == rows(loaded) - now["raw.fitbit__sleep_stages"][0]   # stages follow their sessions


@pytest.mark.parametrize(("mode", "error", "case"), [
    ("renamed", MalformedResponseError, "API renames dataPoints"),
    ("truncated", TransientSourceError, "API truncates every JSON body"),
])
def test_broken_answer_fails_clearly_and_keeps_the_rows(api, loaded, warehouse, mode, error, case, request):
    fault = _fault(request, case, "run fails with a clear error, nothing deleted")
    with pytest.raises(error) as caught:
        run_with(api, mode)
    now = fingerprint(warehouse)
    fault.record(f"{type(caught.value).__name__}: {str(caught.value)[:60]}", before=rows(loaded), after=rows(now),
                 lost=lost(loaded, now))
    assert now == loaded


@pytest.mark.parametrize(("mode", "case"), [
    ("429", "429 with Retry-After on every first request"),
    ("500", "503 on every first request"),
    ("timeout", "read timeout on every first request"),
    ("truncated-once", "truncated JSON once per request"),
])
def test_transient_faults_are_retried_to_the_same_rows(api, loaded, warehouse, mode, case, request):
    fault = _fault(request, case, "retried; the same rows as a clean run")
    run_with(api, mode)
    now = fingerprint(warehouse)
    fault.record("success, identical to the clean run" if now == loaded else "differs from the clean run",
                 before=rows(loaded), after=rows(now), lost=lost(loaded, now))
    assert now == loaded


def test_unknown_fields_load_and_are_kept_in_the_raw_json(api, loaded, warehouse, request):
    fault = _fault(request, "unknown fields on every point", "loaded as before; the fields kept in the raw JSON")
    held = fingerprint(warehouse, leave_out=("record",))
    run_with(api, "unknown")
    now = fingerprint(warehouse, leave_out=("record",))
    kept_field = warehouse.execute("select count(*) from raw.fitbit__sleep_sessions where person_id = %s"
                                   " and record ? 'futureField'", (PERSON.id,)).fetchone()[0]
    fault.record(f"success; futureField kept in {kept_field} sleep records", before=rows(held), after=rows(now),
                 lost=lost(held, now))
    assert now == held
    assert kept_field == held["raw.fitbit__sleep_sessions"][0]


def test_a_point_missing_a_field_is_quarantined_and_the_rest_load(api, loaded, warehouse, request):
    fault = _fault(request, "a heart-rate point without beatsPerMinute", "that point quarantined, the rest loaded")
    run_with(api, "missing")
    now = fingerprint(warehouse)
    quarantined = warehouse.execute("select count(*) from raw.quarantine where person_id = %s"
                                    " and entity = 'heart-rate'", (PERSON.id,)).fetchone()[0]
    hr_before, hr_after = loaded["raw.fitbit__heart_rate"][0], now["raw.fitbit__heart_rate"][0]
    fault.record(f"{quarantined} quarantined", before=rows(loaded), after=rows(now),
                 lost=rows(loaded) - rows(now) - quarantined)
    assert (quarantined, hr_after) == (1, hr_before - 1)
    assert {t: v for t, v in now.items() if t != "raw.fitbit__heart_rate"} == \
        {t: v for t, v in loaded.items() if t != "raw.fitbit__heart_rate"}


def test_no_lock_is_held_on_the_table_while_the_api_is_paged(api, loaded, warehouse, request):
    """The answer is read whole before the window's delete, so retries and slow pages never hold row locks."""
    fault = _fault(request, "a slow API while a window is replaced", "no table lock held while paging")
    faulty, url = api
    held_during_paging = []

    def slow_data(req: DemoRequest) -> DemoResponse:
        time.sleep(0.05)
        held_during_paging.append(warehouse.execute(
            "select count(*) from pg_locks l join pg_class c on c.oid = l.relation"
            " where c.relname like 'fitbit\\_\\_%%' and l.pid <> pg_backend_pid() and l.mode <> 'AccessShareLock'"
        ).fetchone()[0])
        return FaultyApi.data(faulty, req)

    server, slow_url = serve_in_thread(routes={**faulty.routes, google_health_api.DATA: slow_data})
    try:
        faulty.mode = "clean"
        with psycopg.connect(settings.warehouse_dsn(), autocommit=True) as conn:
            extract_person(conn, client_for(f"{slow_url}{google_health_api.PREFIX}"), PERSON, WINDOW, "slow")
    finally:
        server.shutdown()
        server.server_close()
    now = fingerprint(warehouse)
    fault.record(f"{sum(1 for n in held_during_paging if n)} of {len(held_during_paging)} requests saw a write lock",
                 before=rows(loaded), after=rows(now), lost=lost(loaded, now))
    assert held_during_paging and not any(held_during_paging)
    assert now == loaded


def _fault(request: pytest.FixtureRequest, case: str, expected: str):
    """The fault-table row of a parametrised case (the marker form needs one case per test function)."""
    request.node.add_marker(pytest.mark.fault(case, expected))
    return request.getfixturevalue("fault")
