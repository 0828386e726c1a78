"""Google Health backfill: the requests one person's year costs with the current client, counted at the demo API.

Usage: python bench/bench_backfill_requests.py [--years 1,2] [--daily-runs 28] [--dsn DSN]
A throwaway PostgreSQL cluster (or --dsn) and the demo API in this process (today pinned to 2026-11-30); the real
`extract_person` of one seeded demo person (`demo-access-bench-…`) with the real client, no rate limit (counting,
not waiting). The demo server counts every request it answers by data type and endpoint. Two ways to backfill:

- range: one extract over the whole window (`tracker extract google_health --start … --end …`): range filters,
  pageSize 10,000 (25 for sleep/exercise), dailyRollUp in 90-day parts — the minimum is one request per full
  page plus the final `{}` page the API sends (as observed on the real API) for each list;
- daily runs: what an Airflow backfill of the daily DAG runs, one run per UTC day, each reading its day plus the
  3 days before (DEFAULT_REPULL): measured over --daily-runs days and scaled to a year.
Prints, per data type, requests/year (client vs the minimum), requests per person-day, and the minutes two years
take at Google's 300 requests/min per user (the limiter admits 300 per 61 s). Goal (issue 13): < 60 minutes.
The demo person has one heart-rate sample a minute; a real watch sends one every ~1–5 s: the last lines scale the
heart-rate pages to that. Not a test: only the request counts are exact, the times depend on the machine.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import time
from collections.abc import Generator
from datetime import UTC, date, datetime, timedelta

import psycopg
from tracker.config import TrackerConfig
from tracker.demo import google_health_api
from tracker.demo.server import DemoRequest, DemoResponse, RequestCounter, default_routes, serve_in_thread
from tracker.http import HttpClient
from tracker.sources.google_health.client import (
    MAX_PAGE_SIZE,
    ROLLUP_DEFAULT_MAX_DAYS,
    SESSION_PAGE_SIZE,
    GoogleHealthClient,
    RateLimiter,
)
from tracker.sources.google_health.extract import DEFAULT_REPULL, extract_person
from tracker.stack.postgres import throwaway_cluster
from tracker.windows import ExtractWindow

TODAY = date(2026, 11, 30)
END = datetime(2026, 11, 29, tzinfo=UTC)  # the last whole UTC day the pinned demo has
QUOTA_PER_MINUTE = 300
ADMITTED_PER_MINUTE = 300 * 60 / 61  # the limiter's per-second cover: 300 per 61 s
KEY = "bench"
ROLLUPS = {"steps", "time-in-heart-rate-zone"}  # read by dailyRollUp


class ByType:
    """The demo's Google Health data route, counting requests and returned points per (data type, endpoint)."""

    def __init__(self, route) -> None:  # noqa: ANN001 - a demo Route
        self.route, self.counter, self.points = route, RequestCounter(), {}
        self.demo_counted = route.demo_counted  # the server still counts it per user

    def __call__(self, req: DemoRequest) -> DemoResponse:
        resp = self.route(req)
        kind = req.subpath.strip("/").split("/")[0] + (":" + req.subpath.rsplit(":", 1)[1] if ":" in req.subpath
                                                       else "")
        self.counter.count("by_type", kind)
        body = resp.body if isinstance(resp.body, dict) else {}
        self.points[kind] = self.points.get(kind, 0) + len(body.get("dataPoints") or body.get("rollupDataPoints")
                                                           or [])
        return resp

    def requests(self) -> dict[str, int]:
        return {k: sum(v.values()) for k, v in self.counter.per_second("by_type").items()}

    def reset(self) -> None:
        self.counter.reset()
        self.points = {}


def minimum(kind: str, points: int, days: int) -> int:
    """The fewest requests the API allows for `points` of `kind` over `days`."""
    data_type = kind.split(":")[0]
    if kind.endswith(":dailyRollUp"):
        return math.ceil(days / ROLLUP_DEFAULT_MAX_DAYS)
    size = SESSION_PAGE_SIZE if data_type in ("sleep", "exercise") else MAX_PAGE_SIZE
    return math.ceil(points / size) + 1  # full pages, then the final `{}`


@contextlib.contextmanager
def warehouse(dsn: str | None) -> Generator[str, None, None]:
    if dsn:
        yield dsn
    else:
        with throwaway_cluster() as made:
            yield made


def clean(conn: psycopg.Connection) -> None:
    for table in conn.execute("select table_name from information_schema.tables where table_schema = 'raw'"
                              " and table_name like 'fitbit\\_\\_%%'").fetchall():
        conn.execute(f'delete from raw."{table[0]}" where person_id = %s', (KEY,))


def measure(dsn: str, by_type: ByType, client: GoogleHealthClient, windows: list[ExtractWindow],
            repull: timedelta) -> tuple[dict[str, int], dict[str, int], float]:
    person = TrackerConfig.model_validate({"people": [{"id": KEY, "timezone": "Europe/Berlin",
                                                        "accounts": {"google_health": KEY}}]}).people[0]
    with psycopg.connect(dsn, autocommit=True) as conn:
        clean(conn)
        by_type.reset()
        began = time.monotonic()
        for i, window in enumerate(windows):
            extract_person(conn, client, person, window, f"bench-{i}", repull=repull)
        took = time.monotonic() - began
        clean(conn)
    return by_type.requests(), dict(by_type.points), took


def table(title: str, requests: dict[str, int], points: dict[str, int], days: int, scale: float = 1.0) -> int:
    print(f"\n{title}")
    print(f"  {'data type : endpoint':<40} {'points':>9} {'requests':>9} {'minimum':>8}")
    total = 0
    for kind in sorted(requests):
        n = round(requests[kind] * scale)
        total += n
        least = minimum(kind, round(points.get(kind, 0) * scale), days)
        print(f"  {kind:<40} {round(points.get(kind, 0) * scale):>9} {n:>9} {least:>8}")
    print(f"  {'total':<40} {'':>9} {total:>9}")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", default="1,2", help="range backfills to measure, in years (365 days each)")
    parser.add_argument("--daily-runs", type=int, default=28, help="daily DAG runs to measure (0: skip)")
    parser.add_argument("--dsn", help="a warehouse to use instead of a throwaway cluster (rows of person "
                                      f"'{KEY}' are deleted before and after)")
    args = parser.parse_args()
    routes = default_routes(today=TODAY)
    by_type = ByType(routes[google_health_api.DATA])
    routes[google_health_api.DATA] = by_type
    server, base = serve_in_thread(routes=routes)
    client = GoogleHealthClient(f"{base}/google-health", token_provider=lambda: f"demo-access-{KEY}-1",
                                http=HttpClient(max_retries=0), limiter=RateLimiter(10**9, burst=10**6))
    results = {}
    try:
        with warehouse(args.dsn) as dsn:
            for years in (int(y) for y in args.years.split(",") if y):
                days = 365 * years
                window = ExtractWindow(END - timedelta(days=days), END)
                requests, points, took = measure(dsn, by_type, client, [window], timedelta(0))
                total = table(f"range backfill, {years} year(s) = {days} days in one extract ({took:.0f} s here "
                              "at the demo's speed)", requests, points, days)
                seen = sum(server.counter.per_second("google_health").get(KEY, {}).values())
                results[years] = total
                print(f"  requests/year {total / years:.0f}; per person-day {total / days:.3f}; "
                      f"at {QUOTA_PER_MINUTE}/min: {total / ADMITTED_PER_MINUTE:.1f} min "
                      f"(the server counted {seen} for user {KEY!r} in all so far)")
            if args.daily_runs:
                n = args.daily_runs
                first = END - timedelta(days=n)
                windows = [ExtractWindow(first + timedelta(days=i), first + timedelta(days=i + 1)) for i in range(n)]
                requests, points, took = measure(dsn, by_type, client, windows, DEFAULT_REPULL)
                total = table(f"daily DAG runs (+{DEFAULT_REPULL.days}-day re-pull each): {n} runs measured "
                              f"({took:.0f} s), scaled to 365", requests, points, 365, scale=365 / n)
                results["daily"] = total
                print(f"  requests/year {total}; per person-day {total / 365:.2f}; two years at "
                      f"{QUOTA_PER_MINUTE}/min: {2 * total / ADMITTED_PER_MINUTE:.1f} min")
    finally:
        server.shutdown()
        server.server_close()
    print("\nsummary")
    two = results.get(2, 2 * results[1] if 1 in results else None)
    if two is not None:
        minutes = two / ADMITTED_PER_MINUTE
        print(f"  range backfill: {two / 2:.0f} requests/year, {two / 730:.3f} per person-day; two years at "
              f"{QUOTA_PER_MINUTE}/min: {minutes:.1f} min ({'<' if minutes < 60 else '>='} 60)")
        hr_pages = math.ceil(2 * 365 * 24 * 60 / MAX_PAGE_SIZE)
        for per_minute in (12, 60):  # a sample every 5 s / every second
            more = math.ceil(2 * 365 * 24 * 60 * per_minute / MAX_PAGE_SIZE) - hr_pages
            print(f"  with a heart-rate sample every {60 // per_minute} s: {(two + more) / ADMITTED_PER_MINUTE:.1f}"
                  f" min for two years ({two + more} requests)")
    if "daily" in results:
        minutes = 2 * results["daily"] / ADMITTED_PER_MINUTE
        print(f"  daily-run backfill: {results['daily']} requests/year, {results['daily'] / 365:.2f} per "
              f"person-day; two years at {QUOTA_PER_MINUTE}/min: {minutes:.1f} min")


if __name__ == "__main__":
    main()
