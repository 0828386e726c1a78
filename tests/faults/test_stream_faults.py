"""The micro-batch consumer under crashes: between consume and the DB commit, between the DB commit and
Kafka's commit, the consumer process SIGKILLed inside its batch transaction, the broker restarted mid-batch.
After a restart the realtime aggregates are exact every time: nothing double-counted, nothing dropped."""
# ruff: noqa: F401, F811 - pytest fixtures loaded from tests/integration/stream_fixtures.py

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from tracker import settings
from tracker.stream import producer
from tracker.stream.consumer import GenerationChanged, MicroBatchConsumer

_spec = importlib.util.spec_from_file_location(
    "stream_fixtures", Path(__file__).resolve().parents[1] / "integration" / "stream_fixtures.py")
fx = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("stream_fixtures", fx)
_spec.loader.exec_module(fx)
tansu, realtime, kafka, people = fx.tansu, fx.realtime, fx.kafka, fx.people

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

RANGE = (fx.DAY - timedelta(days=1), fx.DAY + timedelta(days=2))
METRICS = ["heart_rate", "commits", "steps"]


class Crash(RuntimeError):
    pass


def _fill(people, n: int = 2) -> int:
    for i in range(n):
        pid = people.add()
        people.heart_rate(pid, fx.DAY + timedelta(hours=i), 400)
        people.commits(pid, fx.DAY, 10)
        people.steps_daily(pid, fx.DAY.date(), 5000)
    return n * (400 + 10 + 1)


def _counted(conn) -> int:
    """Events counted in realtime's day grain (merge commits count for nothing)."""
    return conn.execute("select coalesce(sum(n), 0) from realtime.aggregates where grain = 'day'").fetchone()[0]


def _expected_counted(conn) -> int:
    return sum(r[6] for r in fx.expected(conn, *RANGE, METRICS) if r[2] == "day")


def _crash_at(step: str, times: int = 1):
    state = {"left": times}

    def hook(s: str) -> None:
        if s == step and state["left"] > 0:
            state["left"] -= 1
            raise Crash(step)
    return hook


def _recover_and_check(realtime, kafka, fault, happened: str) -> None:
    c = MicroBatchConsumer(realtime, kafka, max_messages=250)
    fx.drain(c)
    c.close()
    want, got = _expected_counted(realtime), _counted(realtime)
    fault.record(happened, before=want, after=got, lost=want - got)
    assert fx.snapshot(realtime) == fx.expected(realtime, *RANGE, METRICS)
    # every message of the topic's current incarnation applied exactly once
    applied = realtime.execute("select coalesce(sum(messages - skipped), 0) from realtime.batch_log where "
                               "generation = (select max(generation) from realtime.topic_generations)").fetchone()[0]
    produced = realtime.execute("select sum(produced) from realtime.produce_runs where "
                                "generation = (select max(generation) from realtime.topic_generations)").fetchone()[0]
    assert applied == produced


@pytest.mark.fault("stream: crash after consume, before the DB commit", "batch rolled back, re-read, exact")
def test_crash_between_consume_and_db_commit(realtime, people, kafka, fault):
    _fill(people)
    producer.produce_new(realtime, kafka, horizon=None)
    c = MicroBatchConsumer(realtime, kafka, max_messages=250, hook=_crash_at("before_db_commit"))
    with pytest.raises(Crash):
        fx.drain(c)
    c.close()
    assert realtime.execute("select count(*) from realtime.batch_log").fetchone()[0] == 0
    _recover_and_check(realtime, kafka, fault, "rolled back; restarted consumer re-read from PostgreSQL offsets")


@pytest.mark.fault("stream: crash after the DB commit, before Kafka's commit", "batch not applied twice, exact")
def test_crash_between_db_commit_and_kafka_commit(realtime, people, kafka, fault):
    _fill(people)
    producer.produce_new(realtime, kafka, horizon=None)
    c = MicroBatchConsumer(realtime, kafka, max_messages=250, hook=_crash_at("after_db_commit"))
    with pytest.raises(Crash):
        fx.drain(c)
    c.close()
    assert realtime.execute("select count(*) from realtime.batch_log").fetchone()[0] == 1
    _recover_and_check(realtime, kafka, fault, "Kafka offset behind; PostgreSQL offset wins, no double count")


@pytest.mark.fault("stream: a stale consumer re-applies a committed batch", "messages below the stored offset skipped")
def test_stale_batch_is_skipped(realtime, people, kafka, fault):
    _fill(people, 1)
    producer.produce_new(realtime, kafka, horizon=None)
    c = MicroBatchConsumer(realtime, kafka, max_messages=10000, max_wait=3.0)
    messages = []
    while not messages:
        messages = c.poll()
    c.apply(messages)
    again = c.apply(messages)   # the same messages once more (a rebalance's stale fetch)
    c.close()
    assert again.skipped == len(messages) and again.changed_events == 0
    _recover_and_check(realtime, kafka, fault, f"{again.skipped} re-delivered messages skipped")


_KILLED = """
import sys, time, psycopg
from tracker import settings
from tracker.stream.topics import KafkaSettings
from tracker.stream.consumer import MicroBatchConsumer
k = KafkaSettings(bootstrap=sys.argv[1], topic=sys.argv[2], group=sys.argv[3], session_timeout_ms=2000)
def hook(step):
    if step == "before_db_commit":
        print("in-batch", flush=True)
        time.sleep(60)
with psycopg.connect(settings.warehouse_dsn(), autocommit=True) as conn:
    MicroBatchConsumer(conn, k, max_messages=300, hook=hook).run(max_seconds=60)
"""


@pytest.mark.fault("stream: consumer SIGKILLed inside its batch transaction", "transaction gone, restart exact")
def test_consumer_killed_mid_batch(realtime, people, kafka, fault):
    _fill(people)
    producer.produce_new(realtime, kafka, horizon=None)
    proc = subprocess.Popen([sys.executable, "-c", _KILLED, kafka.bootstrap, kafka.topic, kafka.group],
                            stdout=subprocess.PIPE, env=os.environ.copy())
    try:
        assert proc.stdout.readline().strip() == b"in-batch"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    deadline = time.monotonic() + 10   # the server notices the dead client and rolls its transaction back
    while realtime.execute("select count(*) from pg_stat_activity where state like 'idle in transaction%%' "
                           "and application_name = '' and backend_type = 'client backend' and "
                           "query like '%%consumer_offsets%%'").fetchone()[0] and time.monotonic() < deadline:
        time.sleep(0.1)
    _recover_and_check(realtime, kafka, fault, "killed with its transaction open; restart re-read the batch")


@pytest.mark.fault("stream: broker restarted mid-batch (in-memory log lost)", "producer re-produces, exact")
def test_broker_restart_mid_batch(realtime, people, kafka, tansu, fault):
    _fill(people)
    producer.produce_new(realtime, kafka, horizon=None)
    restarted = {"done": False}

    def hook(step: str) -> None:
        if step == "consumed" and not restarted["done"]:
            restarted["done"] = True
            tansu.restart()

    c = MicroBatchConsumer(realtime, kafka, max_messages=250, hook=hook)
    while not restarted["done"]:
        result = c.batch()                      # the batch fetched before the restart still commits
    c.close()
    assert result.messages > 0
    producer.produce_new(realtime, kafka, horizon=None)   # sees the new topic id: rewinds, re-produces
    with psycopg.connect(settings.warehouse_dsn(), autocommit=True) as conn:
        gens = conn.execute("select count(*) from realtime.topic_generations where topic = %s",
                            (kafka.topic,)).fetchone()[0]
    assert gens == 2
    c = MicroBatchConsumer(realtime, kafka, max_messages=250)
    fx.drain(c)
    c.close()
    want, got = _expected_counted(realtime), _counted(realtime)
    fault.record("new topic incarnation detected; watermarks rewound; re-produced", before=want, after=got,
                 lost=want - got)
    assert fx.snapshot(realtime) == fx.expected(realtime, *RANGE, METRICS)


@pytest.mark.fault("stream: consumer of an old incarnation after a broker restart", "refuses its batch, no mix")
def test_consumer_from_before_the_restart_refuses_to_apply(realtime, people, kafka, tansu, fault):
    _fill(people, 1)
    producer.produce_new(realtime, kafka, horizon=None)
    c = MicroBatchConsumer(realtime, kafka, max_messages=100, max_wait=3.0)
    messages = []
    while not messages:
        messages = c.poll()
    tansu.restart()
    producer.produce_new(realtime, kafka, horizon=None)
    with pytest.raises(GenerationChanged):
        c.apply(messages)
    c.close()
    _recover_and_check(realtime, kafka, fault, "GenerationChanged; a fresh consumer read the new log")
