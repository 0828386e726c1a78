# ruff: noqa: F401, F811 - pytest fixtures imported from stream_fixtures
"""The stream end to end on the real broker (Tansu) and PostgreSQL: produce → consume → realtime equals the
figures computed from raw; reruns, replays, malformed messages, two consumers and a broker restart."""

from __future__ import annotations

import threading
from datetime import timedelta

import psycopg
import pytest
from stream_fixtures import DAY, drain, expected, kafka, people, realtime, snapshot, tansu
from tracker import settings
from tracker.stream import producer
from tracker.stream.consumer import MicroBatchConsumer, consume

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

RANGE = (DAY - timedelta(days=1), DAY + timedelta(days=2))
METRICS = ["heart_rate", "commits", "steps"]


def _fill(people, n_people: int = 1, samples: int = 600) -> list[str]:
    ids = []
    for i in range(n_people):
        pid = people.add(timezone="Europe/Berlin" if i % 2 == 0 else "America/New_York")
        people.heart_rate(pid, DAY + timedelta(hours=i), samples)
        people.commits(pid, DAY + timedelta(hours=i), 12)
        people.steps_daily(pid, DAY.date(), 8000 + i)
        ids.append(pid)
    return ids


def test_new_rows_reach_realtime_exactly_and_a_rerun_changes_nothing(realtime, people, kafka):
    # GIVEN raw rows of a person
    _fill(people)
    # WHEN the producer sends what is new and the consumer runs until idle
    first = producer.produce_new(realtime, kafka, horizon=None)
    consumer = MicroBatchConsumer(realtime, kafka, max_messages=500)
    run = drain(consumer)
    # THEN every window equals the figures computed from raw
    assert sum(first.produced.values()) == 600 + 12 + 1
    assert run.events == 613 and run.batches >= 2
    assert snapshot(realtime) == expected(realtime, *RANGE, METRICS)
    before = snapshot(realtime)
    # AND a second producer run finds nothing new (the watermark moved), nothing changes
    second = producer.produce_new(realtime, kafka, horizon=None)
    assert sum(second.produced.values()) == 0
    # AND rows loaded later are produced once, and windows follow
    pid = people.ids[0]
    people.heart_rate(pid, DAY + timedelta(days=1), 50, base=100)
    third = producer.produce_new(realtime, kafka, horizon=None)
    assert third.produced["fitbit.heart_rate"] == 50
    drain(consumer)
    consumer.close()
    assert snapshot(realtime) == expected(realtime, *RANGE, METRICS) != before
    log = realtime.execute("select sum(messages), sum(events), sum(dead_letters) from realtime.batch_log").fetchone()
    assert log == (663, 663, 0)


def test_watermark_reads_a_row_committed_late_by_an_earlier_transaction(realtime, people, kafka):
    # GIVEN a load transaction that started (got its xid) before a producer run and commits after it
    pid = people.add()
    people.heart_rate(pid, DAY, 10)
    slow = psycopg.connect(settings.warehouse_dsn())
    try:
        slow.execute("insert into raw.fitbit__heart_rate (person_id, observed_at, bpm, source, source_file, "
                     "_run_id) values (%s, %s, 99, 'api', '', 'slow')", (pid, DAY + timedelta(hours=5)))
        people.heart_rate(pid, DAY + timedelta(hours=6), 10)        # a later transaction, committed first
        first = producer.produce_new(realtime, kafka, horizon=None)
        assert first.produced["fitbit.heart_rate"] == 20
        slow.commit()
    finally:
        slow.close()
    # WHEN the producer runs again
    second = producer.produce_new(realtime, kafka, horizon=None)
    # THEN the late-committed row is produced (its _loaded_at is older than everything produced before)
    assert second.produced["fitbit.heart_rate"] >= 1
    consume(realtime, kafka, idle_seconds=0.6)
    assert snapshot(realtime) == expected(realtime, *RANGE, METRICS)


def test_replaying_a_range_twice_gives_identical_realtime_tables(realtime, people, kafka):
    ids = _fill(people, n_people=2)
    producer.produce_new(realtime, kafka, horizon=None)
    consumer = MicroBatchConsumer(realtime, kafka, max_messages=300)
    drain(consumer)
    once = snapshot(realtime)
    # WHEN a range is replayed, twice
    r1 = producer.replay(realtime, kafka, *RANGE, people=ids)
    drain(consumer)
    after_first = snapshot(realtime)
    producer.replay(realtime, kafka, *RANGE, people=ids)
    drain(consumer)
    # THEN the tables are identical every time, and equal raw
    assert r1.resets == 2 * len(producer.ev.STREAMS)
    assert once == after_first == snapshot(realtime) == expected(realtime, *RANGE, METRICS)
    # AND rows deleted from raw leave realtime on the next replay of their range
    realtime.execute("delete from raw.github__commits where person_id = %s", (ids[0],))
    producer.replay(realtime, kafka, *RANGE, sources=["github"], people=[ids[0]])
    drain(consumer)
    consumer.close()
    assert snapshot(realtime) == expected(realtime, *RANGE, METRICS)
    assert not [r for r in snapshot(realtime) if r[0] == ids[0] and r[1] == "commits"]


def test_malformed_messages_go_to_dead_letters_and_good_ones_count(realtime, people, kafka):
    from confluent_kafka import Producer

    _fill(people)
    producer.produce_new(realtime, kafka, horizon=None)
    raw = Producer({"bootstrap.servers": kafka.bootstrap})
    bad = [b"not json", b'{"kind": "event", "v": 1}', None,
           b'{"kind":"event","v":1,"person_id":"x","source":"fitbit","entity":"heart_rate","key":"k",'
           b'"event_time":"2026-11-20T10:00:00","payload":{"bpm":60,"data_source":"api"}}',
           b'{"kind":"event","v":1,"person_id":"x","source":"fitbit","entity":"heart_rate","key":"k",'
           b'"event_time":"2026-11-20T10:00:00Z","payload":{"bpm":"many","data_source":"api"}}',
           b'{"kind":"event","v":2,"person_id":"x","source":"nope","entity":"nope"}']
    for value in bad:
        raw.produce(kafka.topic, value, key=people.ids[0].encode())
    assert raw.flush(10) == 0
    run = consume(realtime, kafka, idle_seconds=0.6)
    assert run.dead_letters == len(bad)
    letters = realtime.execute("select partition, \"offset\", reason, raw_value from realtime.dead_letters "
                               "order by \"offset\"").fetchall()
    assert len(letters) == len(bad) and all(r[2] for r in letters)
    assert any("timezone" in r[2] for r in letters) and any("bpm" in r[2] for r in letters)
    assert letters[0][3] == "not json"
    assert snapshot(realtime) == expected(realtime, *RANGE, METRICS)


def test_two_consumers_in_one_group_on_six_partitions_are_exact(realtime, people, kafka):
    _fill(people, n_people=8, samples=300)
    producer.produce_new(realtime, kafka, horizon=None)
    results = {}

    def member(name: str) -> None:
        with psycopg.connect(settings.warehouse_dsn(), autocommit=True) as conn:
            c = MicroBatchConsumer(conn, kafka, max_messages=200, max_wait=0.5, consumer_id=name)
            try:
                results[name] = c.run(idle_seconds=4.0, max_seconds=40)
            finally:
                c.close()

    threads = [threading.Thread(target=member, args=(f"c{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert set(results) == {"c0", "c1"}
    # THEN both took part, every message was applied once, and the windows are exact
    consumers = realtime.execute("select count(distinct consumer) from realtime.batch_log").fetchone()[0]
    parts = realtime.execute("select count(*) from realtime.consumer_offsets where group_id = %s",
                             (kafka.group,)).fetchone()[0]
    applied = realtime.execute("select sum(messages - skipped) from realtime.batch_log").fetchone()[0]
    assert consumers == 2 and parts >= 2
    assert applied == 8 * (300 + 12 + 1)
    assert snapshot(realtime) == expected(realtime, *RANGE, METRICS)


def test_broker_restart_loses_the_log_and_the_producer_reproduces_it(realtime, people, kafka, tansu):
    _fill(people, n_people=2)
    producer.produce_new(realtime, kafka, horizon=None)
    # GIVEN a consumer that applied one small batch of the produced messages
    c = MicroBatchConsumer(realtime, kafka, max_messages=100, max_wait=3.0)
    c.run(max_batches=1)
    c.close()
    applied = realtime.execute("select sum(messages) from realtime.batch_log").fetchone()[0]
    assert 0 < applied < 2 * 613
    # WHEN the broker restarts (in-memory log gone) and the producer runs again
    tansu.restart()
    again = producer.produce_new(realtime, kafka, horizon=None)
    # THEN it saw the new incarnation and re-produced everything not consumed
    gens = realtime.execute("select generation, reason from realtime.topic_generations where topic = %s "
                            "order by generation", (kafka.topic,)).fetchall()
    assert len(gens) == 2 and "lost its log" in gens[1][1]
    assert again.produced["fitbit.heart_rate"] == 2 * 600
    consume(realtime, kafka, idle_seconds=0.6)
    assert snapshot(realtime) == expected(realtime, *RANGE, METRICS)
