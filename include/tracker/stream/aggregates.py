"""The realtime metrics, defined once: what an event counts for, and the same definition over silver.

Each stream maps to one metric. An event's value is exact (integers, or seconds as decimals), so sums do
not depend on summation order: a replay, a batch or dbt give the same figures to the last digit.

| metric            | from (stream)                         | value per event                         | grains        |
|-------------------|---------------------------------------|-----------------------------------------|---------------|
| heart_rate        | fitbit.heart_rate                     | bpm (min/avg/max/count)                 | 5m, 1h, day   |
| steps             | fitbit.steps_minute, fitbit.steps_daily | steps (daily rollups: day grain only) | 5m, 1h, day   |
| sleep_minutes     | fitbit.sleep_session (at wake time)   | minutes asleep                          | 5m, 1h, day   |
| active_seconds    | fitbit.workout (at start)             | active seconds                          | 5m, 1h, day   |
| commits           | github.commit (authored_at)           | 1, merge commits 0-weight (null)        | 5m, 1h, day   |
| pull_requests     | github.pull_request (created_at)      | 1                                       | 5m, 1h, day   |
| reviews           | github.review (submitted_at)          | 1                                       | 5m, 1h, day   |
| plays             | lastfm.scrobble (played_at)           | 1                                       | 5m, 1h, day   |
| listening_seconds | spotify.stream (started_at)           | ms_played / 1000                        | 5m, 1h, day   |
| watching_seconds  | netflix.viewing (started_at)          | duration seconds (promos: null)         | 5m, 1h, day   |
|                   | trakt.history (watched_at)            | runtime, else 45 min episode/110 movie  | 5m, 1h, day   |
| videos_watched    | youtube.watch (watched_at; not ads)   | 1                                       | 5m, 1h, day   |
| temperature       | open_meteo.weather (observed_at)      | temperature_2m °C                       | 5m, 1h, day   |

Windows: tumbling 5-minute and 1-hour windows aligned on UTC, and the person's local day (time zone from
raw.tracker__people, UTC when unknown), which also is "today so far" (view realtime.today). The day grain is
combined from the 5-minute windows (every time zone offset is a multiple of 5 minutes) plus daily events.

`BATCH_SQL` states each compared metric over silver (dbt's staging models): tests/integration check that
realtime equals it for a replayed range (heart rate, commits, listening, temperature: n/total/min/max of every
5m, 1h and day window; steps: the day totals, as silver holds steps per local date).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql

Value = int | Decimal | None


@dataclass(frozen=True)
class Metric:
    name: str
    value: Callable[[dict[str, Any]], Value]
    daily: bool = False            # the event is a day's total: counts for its `date`, day grain only


def _dec(x: Any) -> Decimal | None:
    return None if x is None else Decimal(str(x))


def _trakt_seconds(p: dict[str, Any]) -> int:
    minutes = p.get("runtime_minutes") or (110 if p.get("media_type") == "movie" else 45)
    return int(minutes) * 60


METRICS: dict[str, Metric] = {
    "fitbit.heart_rate": Metric("heart_rate", lambda p: p["bpm"]),
    "fitbit.steps_minute": Metric("steps", lambda p: p["steps"]),
    "fitbit.steps_daily": Metric("steps", lambda p: p["steps"], daily=True),
    "fitbit.sleep_session": Metric("sleep_minutes", lambda p: p["minutes_asleep"]),
    "fitbit.workout": Metric("active_seconds", lambda p: p["active_seconds"]),
    "github.commit": Metric("commits", lambda p: None if (p.get("parent_count") or 0) > 1 else 1),
    "github.pull_request": Metric("pull_requests", lambda p: 1),
    "github.review": Metric("reviews", lambda p: 1),
    "lastfm.scrobble": Metric("plays", lambda p: 1),
    "spotify.stream": Metric("listening_seconds", lambda p: Decimal(p["ms_played"]) / 1000),
    "netflix.viewing": Metric("watching_seconds", lambda p: None if p.get("is_supplemental")
                              else p["duration_seconds"]),
    "trakt.history": Metric("watching_seconds", _trakt_seconds),
    "youtube.watch": Metric("videos_watched", lambda p: None if p.get("is_ad") else 1),
    "open_meteo.weather": Metric("temperature", lambda p: _dec(p["temperature_2m"])),
}

# The compared metrics over silver: (person_id, metric, event_time, local_day for daily rows, value).
BATCH_SQL: dict[str, str] = {
    "heart_rate": "select person_id, 'heart_rate', observed_at, null::date, bpm::numeric "
                  "from silver.stg_fitbit__heart_rate",
    "steps": "select person_id, 'steps', null::timestamptz, local_date, steps::numeric "
             "from silver.stg_fitbit__steps_daily",
    "commits": "select person_id, 'commits', authored_at, null::date, 1::numeric from silver.stg_github__commits "
               "where not is_merge_commit",
    "listening_seconds": "select person_id, 'listening_seconds', started_at, null::date, "
                         "seconds_played::numeric from silver.stg_spotify__streams",
    "temperature": "select person_id, 'temperature', observed_at, null::date, temperature_c::numeric "
                   "from silver.stg_open_meteo__hourly",
}


def batch_aggregates_sql(metrics: list[str], start: Any, end: Any) -> sql.Composed:
    """realtime.aggregates' columns computed in one query from `BATCH_SQL` over [start, end) — the batch
    side of "streaming equals batch". The steps rows of silver are already per local date (export minutes
    summed there), so their day grain is compared; 5m/1h grains come from the instant rows."""
    union = sql.SQL(" union all ").join(sql.SQL(BATCH_SQL[m]) for m in metrics)
    return sql.SQL("""
        with e (person_id, metric, event_time, local_day, value) as ({union}),
        tz as (select person_id, timezone from raw.tracker__people),
        ranged as (
            select e.*, coalesce(tz.timezone, 'UTC') as timezone,
                coalesce(e.local_day, (e.event_time at time zone coalesce(tz.timezone, 'UTC'))::date) as day
            from e left join tz using (person_id)
            where (e.event_time >= {start} and e.event_time < {end})
               or (e.event_time is null and (e.local_day::timestamp at time zone 'UTC') >= {start}
                   and (e.local_day::timestamp at time zone 'UTC') < {end})
        )
        select person_id, metric, '5m' as grain, date_bin('5 minutes', event_time, {origin}) as window_start,
               count(value) as n, sum(value) as total, min(value) as min, max(value) as max
        from ranged where event_time is not null group by 1, 2, 3, 4
        union all
        select person_id, metric, '1h', date_bin('1 hour', event_time, {origin}), count(value), sum(value),
               min(value), max(value)
        from ranged where event_time is not null group by 1, 2, 3, 4
        union all
        select person_id, metric, 'day', (day::timestamp at time zone timezone), count(value), sum(value),
               min(value), max(value)
        from ranged group by person_id, metric, day, timezone
    """).format(union=union, start=sql.Literal(start), end=sql.Literal(end), origin=sql.Literal(ORIGIN))


ORIGIN = "2000-01-01 00:00:00+00"

# ----------------------------------------------------------------------------------- applying a batch in SQL
_TEMP = """
create temp table if not exists _rt_stage (
    person_id text, stream text, key text, metric text, event_time timestamptz, local_day date, value numeric
) on commit delete rows;
create temp table if not exists _rt_dirty (
    person_id text, metric text, event_time timestamptz, local_day date
) on commit delete rows;
create temp table if not exists _rt_w5 (person_id text, metric text, w timestamptz) on commit delete rows;
create temp table if not exists _rt_days (person_id text, metric text, day date, timezone text)
    on commit delete rows;
"""

_STAGE_TYPES = ["text", "text", "text", "text", "timestamptz", "date", "numeric"]


def _upsert(grain: str, fresh: str) -> str:
    """SQL upserting `fresh` (person_id, metric, window_start, window_end, local_date, n, total, min, max) into
    grain `grain`, deleting windows left empty; only rows whose figures change are written."""
    return f"""
        with fresh as ({fresh}),
        up as (
            insert into realtime.aggregates as a
                (person_id, metric, grain, window_start, window_end, local_date, n, total, min, max)
            select person_id, metric, '{grain}', window_start, window_end, local_date, n, total, min, max
            from fresh where n > 0
            on conflict (person_id, metric, grain, window_start) do update set
                window_end = excluded.window_end, local_date = excluded.local_date, n = excluded.n,
                total = excluded.total, min = excluded.min, max = excluded.max, updated_at = now()
            where (a.window_end, a.local_date, a.n, a.total, a.min, a.max) is distinct from
                  (excluded.window_end, excluded.local_date, excluded.n, excluded.total, excluded.min, excluded.max)
            returning 1
        ),
        gone as (
            delete from realtime.aggregates as a using fresh as f
            where f.n = 0 and a.person_id = f.person_id and a.metric = f.metric and a.grain = '{grain}'
                and a.window_start = f.window_start
            returning 1
        )
        select (select count(*) from up) + (select count(*) from gone)
    """


_FRESH_5M = f"""
    with spans as (   -- one time range per UTC day of dirty windows: BRIN range scans, never all events
        select min(w) as lo, max(w) + interval '5 minutes' as hi from _rt_w5 group by date_trunc('day', w)
    ),
    ev as (
        select e.person_id, e.metric, date_bin('5 minutes', e.event_time, '{ORIGIN}') as w, e.value
        from spans as s
        cross join lateral (
            select * from realtime.events as e
            where e.event_time >= s.lo and e.event_time < s.hi and e.local_day is null
        ) as e
    )
    select d.person_id, d.metric, d.w as window_start, d.w + interval '5 minutes' as window_end,
           null::date as local_date, count(ev.value) as n, coalesce(sum(ev.value), 0) as total,
           min(ev.value) as min, max(ev.value) as max
    from _rt_w5 as d
    left join ev on ev.person_id = d.person_id and ev.metric = d.metric and ev.w = d.w
    group by d.person_id, d.metric, d.w
"""

_FRESH_1H = f"""
    select h.person_id, h.metric, h.w as window_start, h.w + interval '1 hour' as window_end,
           null::date as local_date, coalesce(sum(a.n), 0)::bigint as n, coalesce(sum(a.total), 0) as total,
           min(a.min) as min, max(a.max) as max
    from (select distinct person_id, metric, date_bin('1 hour', w, '{ORIGIN}') as w from _rt_w5) as h
    left join realtime.aggregates as a
        on a.person_id = h.person_id and a.metric = h.metric and a.grain = '5m'
        and a.window_start >= h.w and a.window_start < h.w + interval '1 hour'
    group by h.person_id, h.metric, h.w
"""

_FRESH_DAY = """
    with bounds as (
        select person_id, metric, day, (day::timestamp at time zone timezone) as day_start,
               ((day + 1)::timestamp at time zone timezone) as day_end
        from _rt_days
    ),
    parts as (
        select b.person_id, b.metric, b.day, b.day_start, b.day_end, a.n, a.total, a.min, a.max
        from bounds as b
        left join realtime.aggregates as a
            on a.person_id = b.person_id and a.metric = b.metric and a.grain = '5m'
            and a.window_start >= b.day_start and a.window_start < b.day_end
        union all
        select b.person_id, b.metric, b.day, b.day_start, b.day_end, count(e.value), coalesce(sum(e.value), 0),
               min(e.value), max(e.value)
        from bounds as b
        join realtime.events as e on e.person_id = b.person_id and e.metric = b.metric and e.local_day = b.day
            and e.event_time = (b.day::timestamp at time zone 'UTC')   -- daily events sit at the date's 00:00 UTC
        group by 1, 2, 3, 4, 5
    )
    select person_id, metric, day_start as window_start, day_end as window_end, day as local_date,
           coalesce(sum(n), 0)::bigint as n, coalesce(sum(total), 0) as total, min(min) as min, max(max) as max
    from parts
    group by person_id, metric, day, day_start, day_end
"""


@dataclass
class Applied:
    changed_events: int = 0
    windows_changed: int = 0


def apply(conn: psycopg.Connection, rows: list[tuple[Any, ...]],
          resets: list[tuple[str, str, Any, Any]]) -> Applied:
    """Inside the caller's transaction: apply `resets` (person, stream, start, end), then upsert `rows`
    (person_id, stream, key, metric, event_time, local_day, value; one per identity) into realtime.events,
    then recompute every window whose events changed."""
    out = Applied()
    conn.execute(_TEMP)
    for person, stream, start, end in resets:
        cur = conn.execute("""
            with d as (
                delete from realtime.events where person_id = %s and stream = %s
                    and event_time >= %s and event_time < %s
                returning person_id, metric, event_time, local_day)
            insert into _rt_dirty select * from d""", (person, stream, start, end))
        out.changed_events += cur.rowcount
    if rows:
        with conn.cursor() as cur, cur.copy("copy _rt_stage from stdin (format binary)") as copy:
            copy.set_types(_STAGE_TYPES)
            for row in rows:
                copy.write_row(row)
        conn.execute("""
            insert into _rt_dirty
            select e.person_id, e.metric, e.event_time, e.local_day
            from realtime.events as e join _rt_stage as s using (person_id, stream, key)
            where (e.event_time, e.local_day, e.metric) is distinct from (s.event_time, s.local_day, s.metric)""")
        cur = conn.execute("""
            with u as (
                insert into realtime.events as e select * from _rt_stage
                on conflict (person_id, stream, key) do update set
                    metric = excluded.metric, event_time = excluded.event_time, local_day = excluded.local_day,
                    value = excluded.value
                where (e.metric, e.event_time, e.local_day, e.value) is distinct from
                      (excluded.metric, excluded.event_time, excluded.local_day, excluded.value)
                returning person_id, metric, event_time, local_day)
            insert into _rt_dirty select * from u""")
        out.changed_events += cur.rowcount
    if not out.changed_events:
        return out
    conn.execute(f"""
        insert into _rt_w5 select distinct person_id, metric, date_bin('5 minutes', event_time, '{ORIGIN}')
        from _rt_dirty where local_day is null""")
    conn.execute("analyze _rt_w5")   # temp tables have no statistics: without them the planner scans all events
    out.windows_changed += conn.execute(_upsert("5m", _FRESH_5M)).fetchone()[0]
    out.windows_changed += conn.execute(_upsert("1h", _FRESH_1H)).fetchone()[0]
    conn.execute("""
        insert into _rt_days
        select distinct d.person_id, d.metric, d.day, coalesce(p.timezone, 'UTC')
        from (
            select w.person_id, w.metric, (w.w at time zone coalesce(p.timezone, 'UTC'))::date as day
            from _rt_w5 as w left join raw.tracker__people as p using (person_id)
            union
            select person_id, metric, local_day from _rt_dirty where local_day is not null
        ) as d
        left join raw.tracker__people as p using (person_id)""")
    conn.execute("analyze _rt_days")
    out.windows_changed += conn.execute(_upsert("day", _FRESH_DAY)).fetchone()[0]
    return out
