"""API quotas held across processes and runs: the published limits, the Airflow pools sized from them, and a
request limiter in PostgreSQL that every task shares.

The in-process token bucket (`google_health.client.RateLimiter`) keeps one client under its rate; it cannot see
the other tasks. A backfill with 3 runs at a time would send 3 × 300 requests a minute for one Google user
against Google's 300/min/user quota. `PostgresRateLimiter` counts in the warehouse every process reaches
(`quota.request_counts`, ddl/055_quota.sql): a request is admitted only while fewer than `limit` were admitted
for the same (api, subject) in the window before it — checked and counted in one transaction under an advisory
lock per subject, per second of the database's clock. It holds for every window of that length, not only for
calendar minutes, so no minute (however it is cut) goes over. Nothing here imports Airflow.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

import psycopg

# ------------------------------------------------------------------------------------------ published limits


@dataclass(frozen=True)
class Quota:
    """One published limit: `limit` requests per `per`, counted per `counted_per` (user, token, key, IP …)."""

    api: str
    limit: int
    per: timedelta
    counted_per: str
    reference: str

    @property
    def per_minute(self) -> float:
        return self.limit * timedelta(minutes=1) / self.per


QUOTAS: dict[str, tuple[Quota, ...]] = {
    "google_health": (
        Quota("google_health", 300, timedelta(minutes=1), "user",
              "Google Health API: 300 requests per minute per user"),
        Quota("google_health", 120_000, timedelta(minutes=1), "project",
              "Google Health API: 120,000 requests per minute per project (OAuth client)"),
    ),
    "github": (Quota("github", 5_000, timedelta(hours=1), "token",
                     "GitHub REST/GraphQL: 5,000 requests (points) per hour per token"),),
    "lastfm": (Quota("lastfm", 5 * 300, timedelta(minutes=5), "key",
                     "Last.fm API terms: at most 5 requests per second per key/IP, averaged over 5 minutes"),),
    "trakt": (Quota("trakt", 1_000, timedelta(minutes=5), "user",
                    "Trakt API: 1,000 authorized GET calls per 5 minutes per user"),),
    "weather": (Quota("weather", 600, timedelta(minutes=1), "ip",
                      "Open-Meteo free API: 600 calls per minute (5,000/h, 10,000/day) per IP"),),
}

# One extract task sends its requests one after another: about 2 a second against a real API (latency plus
# parsing). A quota shared by every task (one token, key or IP) is spent by this many tasks at once; more
# tasks would only queue at the limit.
TASK_REQUESTS_PER_MINUTE = 120


@dataclass(frozen=True)
class PoolSpec:
    name: str
    slots: int
    description: str

    def as_dict(self) -> dict[str, object]:
        """The shape `airflow pools import FILE` reads (a JSON object of these, keyed by name)."""
        return {"slots": self.slots, "description": self.description, "include_deferred": False}


def pool_name(source_id: str) -> str:
    return f"api_{source_id}"


def _slots(quotas: Sequence[Quota]) -> tuple[int, str]:
    """Concurrent extract tasks (one person each) a source's quotas carry at full speed, and why."""
    per_user = [q for q in quotas if q.counted_per == "user"]
    shared = [q for q in quotas if q.counted_per != "user"]
    if per_user and shared:   # each task spends its own user's budget; the project's caps how many at once
        user, cap = min(q.per_minute for q in per_user), min(q.per_minute for q in shared)
        return max(1, int(cap // user)), f"{cap:,.0f}/min shared ÷ {user:,.0f}/min per user"
    if shared:
        cap = min(q.per_minute for q in shared)
        return max(1, math.floor(cap / TASK_REQUESTS_PER_MINUTE)), \
            f"{cap:,.0f}/min shared ÷ {TASK_REQUESTS_PER_MINUTE}/min one task sends"
    user = min(q.per_minute for q in per_user)   # per-user only: tasks never share a budget
    return 0, f"{user:,.0f}/min per user, no shared limit published"


def pool_specs(max_slots: int | None = None) -> list[PoolSpec]:
    """One Airflow pool per API source, sized from its published limits (`max_slots`, e.g. the executor's
    parallelism, caps them, and sizes the pools of APIs whose limits are all per user)."""
    specs = []
    for source_id, quotas in QUOTAS.items():
        slots, why = _slots(quotas)
        if slots == 0:
            slots = max_slots or 16
        elif max_slots:
            slots = min(slots, max_slots)
        limits = "; ".join(q.reference for q in quotas)
        specs.append(PoolSpec(pool_name(source_id), slots, f"{limits}. Slots: {why}."))
    return specs


def pools_json(max_slots: int | None = None) -> str:
    """The pools as the file `airflow pools import FILE` reads: what the local stack and compose create."""
    import json

    return json.dumps({p.name: p.as_dict() for p in pool_specs(max_slots)}, indent=2, ensure_ascii=False)


# ------------------------------------------------------------------------------------------ the limiter


class QuotaWaitTooLong(RuntimeError):
    """The quota stayed exhausted for longer than the limiter may wait."""


@dataclass(frozen=True)
class Limit:
    """`limit` requests per sliding `window`, counted for `subject` (e.g. "user:alice", "project:<client>")."""

    subject: str
    limit: int
    window: timedelta = timedelta(minutes=1)

    def __post_init__(self) -> None:
        if self.limit < 1 or self.window <= timedelta(0):
            raise ValueError(f"quota {self.subject!r}: limit must be ≥ 1 and the window positive")


_USED = """
select coalesce(sum(requests), 0), min(second) from quota.request_counts
 where api = %(api)s and subject = %(subject)s
   and second >= date_trunc('second', clock_timestamp()) - %(window)s
"""
_COUNT = """
insert into quota.request_counts as c (api, subject, second, requests)
values (%s, %s, date_trunc('second', clock_timestamp()), 1)
on conflict (api, subject, second) do update set requests = c.requests + 1
"""


class PostgresRateLimiter:
    """`acquire()` blocks until every limit admits one more request, then counts it — for all limits in one
    transaction (a request spends every budget it counts against, or none). Counted per second of the
    database's clock: the window's whole seconds plus the current one are summed, a conservative cover of every
    sliding window of that length, so no window (calendar minute or any other cut) exceeds the limit, at the
    price of one second of the window; and `margin` (1 s) more against the jitter between admission and arrival
    at the API (300 per 62 s, not 60). Thread-safe; one connection per limiter, opened
    on first use with `connect` and reopened after an error. Same `acquire() -> float` interface as the
    in-process `RateLimiter`, so it plugs into the Google Health client's `limiter` seam."""

    def __init__(self, connect: Callable[[], psycopg.Connection], api: str, limits: Sequence[Limit], *,
                 max_wait: timedelta = timedelta(minutes=30), sleep: Callable[[float], None] = time.sleep,
                 margin: timedelta = timedelta(seconds=1)) -> None:
        if not limits:
            raise ValueError("at least one limit")
        self.api, self._connect, self._sleep = api, connect, sleep
        # a fixed lock order across processes: two limiters sharing subjects can never deadlock
        self.limits = tuple(sorted(limits, key=lambda q: q.subject))
        self.max_wait = max_wait.total_seconds()
        # requests reach the API later than they are admitted, and not all equally late: a request admitted
        # early that is slow to arrive can land in the same API window as later ones. The budget is counted
        # over `margin` more seconds than the window, so up to `margin` of such jitter stays within the quota
        # as the API counts it (seen in CI on 2 loaded cores: 13 requests in an API window of a 12-per-3-s quota)
        self.margin = margin
        self._conn: psycopg.Connection | None = None
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one request of every limit, sleeping while any is spent; returns the seconds slept."""
        waited = 0.0
        while True:
            wait = self._try_admit()
            if wait <= 0:
                return waited
            if waited + wait > self.max_wait:
                raise QuotaWaitTooLong(f"{self.api}: quota still spent after {waited:.0f}s "
                                       f"({', '.join(f'{q.subject} {q.limit}/{q.window}' for q in self.limits)})")
            self._sleep(wait)
            waited += wait

    def _try_admit(self) -> float:
        """0 when admitted (and counted); else the seconds until the fullest window's oldest second leaves it."""
        with self._lock:
            conn = self._connection()
            try:
                with conn.transaction():
                    wait = 0.0
                    for q in self.limits:
                        conn.execute("select pg_advisory_xact_lock(hashtextextended(%s, 0))",
                                     (f"tracker.quota/{self.api}/{q.subject}",))
                        used, oldest = conn.execute(_USED, {"api": self.api, "subject": q.subject,
                                                            "window": q.window + self.margin}).fetchone()
                        if used >= q.limit:
                            # the oldest counted second leaves the sum once the current second is past it + window
                            free_at = conn.execute("select extract(epoch from (%s::timestamptz + %s + interval "
                                                   "'1 second' - clock_timestamp()))",
                                                   (oldest, q.window + self.margin)).fetchone()
                            wait = max(wait, float(free_at[0]) + 0.001)
                    if wait > 0:
                        return wait
                    conn.cursor().executemany(_COUNT, [(self.api, q.subject) for q in self.limits])
                    conn.execute("delete from quota.request_counts where api = %s and subject = any(%s)"
                                 " and second < clock_timestamp() - interval '1 day'",
                                 (self.api, [q.subject for q in self.limits]))
                    return 0.0
            except psycopg.Error:
                self.close()
                raise

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = self._connect()
            self._conn.autocommit = True
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None


def google_health_limiter(connect: Callable[[], psycopg.Connection], account: str,
                          client_id: str | None = None) -> PostgresRateLimiter:
    """Google Health's two published limits: 300/min for the account's user, 120,000/min for the project
    (the OAuth client id)."""
    user, project = QUOTAS["google_health"]
    limits = [Limit(f"user:{account}", user.limit, user.per)]
    if client_id:
        limits.append(Limit(f"project:{client_id}", project.limit, project.per))
    return PostgresRateLimiter(connect, "google_health", limits)
