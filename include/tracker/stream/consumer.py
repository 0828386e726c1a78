"""The micro-batch consumer: up to N messages or T seconds per batch, applied in ONE PostgreSQL transaction.

One batch, one transaction: lock this group's offset rows of the batch's partitions, drop messages below
the stored offsets (already applied by a batch that committed — after a crash, a rebalance or a stale
fetch), decode and validate (malformed → realtime.dead_letters with topic, partition, offset and reason),
apply resets and events to realtime.events, recompute the touched windows, write batch_log and the event-time
watermarks, store the next offsets — commit. Only then Kafka's own offset commit, which is informational
(the consumer seeks to the PostgreSQL offsets whenever partitions are assigned). A crash anywhere before the
commit leaves nothing; after it, nothing is applied twice. No Kafka transactions are involved.

Late events: an event older than the person's event-time watermark (the newest event time seen) minus the
grace period is late. It still corrects its windows (the correction path is the normal path: windows are
recomputed from the keyed event state) and is counted in batch_log.late_events.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from tracker.stream import aggregates
from tracker.stream import events as ev
from tracker.stream.topics import KafkaSettings, current_generation, sync_generation, topic_id

log = logging.getLogger(__name__)

DEFAULT_GRACE = timedelta(minutes=10)
Hook = Callable[[str], None]


class GenerationChanged(RuntimeError):
    """The topic was re-created (broker lost its log) while this consumer ran: restart it."""


@dataclass
class BatchResult:
    batch_id: int | None
    messages: int
    skipped: int
    events: int
    resets: int
    dead_letters: int
    ignored: int
    late_events: int
    changed_events: int
    windows_changed: int
    seconds: float


@dataclass
class RunSummary:
    batches: int = 0
    messages: int = 0
    events: int = 0
    dead_letters: int = 0
    late_events: int = 0
    skipped: int = 0
    seconds: float = 0.0
    results: list[BatchResult] = field(default_factory=list)

    def add(self, r: BatchResult) -> None:
        self.batches += 1
        self.messages += r.messages
        self.events += r.events
        self.dead_letters += r.dead_letters
        self.late_events += r.late_events
        self.skipped += r.skipped
        self.results.append(r)

    def summary(self) -> str:
        return (f"{self.batches} batches, {self.messages:,} messages ({self.events:,} events, "
                f"{self.dead_letters} dead letters, {self.late_events:,} late, {self.skipped:,} already applied) "
                f"in {self.seconds:.1f} s")


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(q * (len(values) - 1) + 0.5))]


class MicroBatchConsumer:
    """A member of the consumer group; `run()` consumes batches until idle or a time limit; `close()`."""

    def __init__(self, conn: psycopg.Connection, kafka: KafkaSettings, *, max_messages: int = 50000,
                 max_wait: float = 1.0, grace: timedelta = DEFAULT_GRACE, consumer_id: str | None = None,
                 hook: Hook | None = None) -> None:
        from confluent_kafka import Consumer

        if conn.autocommit is False:
            raise ValueError("the consumer needs an autocommit connection (each batch is its own transaction)")
        self.conn, self.kafka = conn, kafka
        self.max_messages, self.max_wait, self.grace = max_messages, max_wait, grace
        self.consumer_id = consumer_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.hook: Hook = hook or (lambda step: None)
        self.generation = sync_generation(conn, kafka, topic_id(kafka))
        self.assigned: set[int] = set()
        self.join_timeout = max(15.0, kafka.session_timeout_ms / 1000 * 3)
        self._consumer = Consumer(kafka.consumer_config(self.consumer_id))
        self._consumer.subscribe([kafka.topic], on_assign=self._on_assign, on_revoke=self._on_revoke)

    # -------------------------------------------------------------------------------- assignment
    def stored_offsets(self) -> dict[int, int]:
        rows = self.conn.execute(
            "select partition, next_offset, generation from realtime.consumer_offsets "
            "where group_id = %s and topic = %s", (self.kafka.group, self.kafka.topic)).fetchall()
        return {p: (o if g == self.generation else 0) for p, o, g in rows}

    def _on_assign(self, consumer: Any, partitions: list[Any]) -> None:
        from confluent_kafka import OFFSET_BEGINNING

        stored = self.stored_offsets()
        for tp in partitions:
            tp.offset = stored.get(tp.partition, OFFSET_BEGINNING)
        consumer.assign(partitions)
        self.assigned = {tp.partition for tp in partitions}
        log.info("%s assigned partitions %s at %s", self.consumer_id, sorted(self.assigned),
                 {tp.partition: tp.offset for tp in partitions})

    def _on_revoke(self, consumer: Any, partitions: list[Any]) -> None:
        self.assigned -= {tp.partition for tp in partitions}

    # ------------------------------------------------------------------------------------- polling
    def poll(self) -> list[Any]:
        """Up to max_messages messages, waiting at most max_wait seconds in total."""
        out: list[Any] = []
        deadline = time.monotonic() + self.max_wait
        while len(out) < self.max_messages:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            got = self._consumer.consume(num_messages=min(10000, self.max_messages - len(out)), timeout=left)
            for m in got:
                err = m.error()
                if err is None:
                    out.append(m)
                elif err.code() != -191:  # _PARTITION_EOF is not an error
                    log.warning("consumer error on %s [%s]: %s", m.topic(), m.partition(), err)
        return out

    def batch(self) -> BatchResult | None:
        """Poll one batch and apply it; None when nothing came within max_wait."""
        messages = self.poll()
        if not messages:
            return None
        self.hook("consumed")
        return self.apply(messages)

    def run(self, *, max_seconds: float | None = None, idle_seconds: float | None = 2.0,
            max_batches: int | None = None) -> RunSummary:
        """Batches until `idle_seconds` pass without a message, `max_seconds` elapse or `max_batches` ran."""
        summary = RunSummary()
        started = time.monotonic()
        idle_since = time.monotonic()
        while True:
            result = self.batch()
            now = time.monotonic()
            if result is not None:
                summary.add(result)
                idle_since = now
            elif not self.assigned and now - started < self.join_timeout:
                idle_since = now  # still joining the group (Tansu: about session.timeout.ms / 2)
            if max_batches is not None and summary.batches >= max_batches:
                break
            if max_seconds is not None and now - started >= max_seconds:
                break
            if idle_seconds is not None and result is None and now - idle_since >= idle_seconds:
                break
        summary.seconds = time.monotonic() - started
        return summary

    # -------------------------------------------------------------------------------- one batch
    def apply(self, messages: list[Any]) -> BatchResult:
        started_wall = datetime.now(UTC)
        t0 = time.monotonic()
        topic = self.kafka.topic
        partitions = sorted({m.partition() for m in messages})
        conn = self.conn
        with conn.transaction():
            generation, _ = current_generation(conn, topic)
            if generation != self.generation:
                raise GenerationChanged(f"topic {topic} is at generation {generation}, this consumer started at "
                                        f"{self.generation}: restart the consumer")
            conn.execute(
                "insert into realtime.consumer_offsets (group_id, topic, partition, next_offset, generation) "
                "select %s, %s, p, 0, %s from unnest(%s::int[]) as p on conflict do nothing",
                (self.kafka.group, topic, generation, partitions))
            stored = {p: (o if g == generation else 0) for p, o, g in conn.execute(
                "select partition, next_offset, generation from realtime.consumer_offsets "
                "where group_id = %s and topic = %s and partition = any(%s) order by partition for update",
                (self.kafka.group, topic, partitions)).fetchall()}
            fresh = [m for m in messages if m.offset() >= stored[m.partition()]]
            skipped = len(messages) - len(fresh)
            first: dict[int, int] = {}
            last: dict[int, int] = {}
            for m in fresh:
                p, o = m.partition(), m.offset()
                first.setdefault(p, o)
                last[p] = o
            for p, o in first.items():
                if o > stored[p]:
                    log.warning("partition %s: offsets %s..%s were not delivered (retention, a lost log, or "
                                "offsets the broker skipped); continuing at %s", p, stored[p], o - 1, o)

            decoded = ev.decode_many([m.value() for m in fresh])
            staged: dict[tuple[str, str], dict[str, tuple[Any, ...]]] = {}
            resets: list[tuple[str, str, Any, Any]] = []
            dead: list[tuple[Any, ...]] = []
            ignored = 0
            people = {d["person_id"] for d in decoded if isinstance(d, dict)}
            marks = dict(conn.execute("select person_id, max_event_time from realtime.event_watermarks "
                                      "where person_id = any(%s)", (list(people),)).fetchall()) if people else {}
            newest: dict[str, datetime] = {}
            late = 0
            n_events = 0
            metrics = aggregates.METRICS
            for m, d in zip(fresh, decoded, strict=True):
                if isinstance(d, ev.Malformed):
                    dead.append(self._dead(m, str(d)))
                    continue
                stream = f"{d['source']}.{d['entity']}"
                person = d["person_id"]
                if d["kind"] == "reset":
                    if stream not in ev.STREAMS or d["start"] >= d["end"]:
                        dead.append(self._dead(m, f"reset of unknown stream {stream!r} or empty range"))
                        continue
                    start, end = d["start"], d["end"]
                    bucket = staged.get((person, stream))
                    if bucket:
                        for k in [k for k, r in bucket.items() if start <= r[4] < end]:
                            del bucket[k]
                    resets.append((person, stream, start, end))
                    continue
                metric = metrics.get(stream)
                if metric is None:
                    ignored += 1
                    continue
                payload = d["payload"]
                try:
                    value = metric.value(payload)
                except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
                    dead.append(self._dead(m, f"payload: {type(exc).__name__}: {exc}"))
                    continue
                t = d["event_time"]
                local_day = payload["date"] if metric.daily else None
                staged.setdefault((person, stream), {})[d["key"]] = (
                    person, stream, d["key"], metric.name, t, local_day, value)
                n_events += 1
                mark = marks.get(person)
                if mark is not None and t < mark - self.grace:
                    late += 1
                if person not in newest or t > newest[person]:
                    newest[person] = t

            rows = [r for bucket in staged.values() for r in bucket.values()]
            applied = aggregates.apply(conn, rows, resets)
            if newest:
                conn.execute(
                    "insert into realtime.event_watermarks (person_id, max_event_time) "
                    "select * from unnest(%s::text[], %s::timestamptz[]) on conflict (person_id) do update set "
                    "max_event_time = greatest(realtime.event_watermarks.max_event_time, excluded.max_event_time),"
                    " updated_at = now()", (list(newest), list(newest.values())))
            now_ms = time.time() * 1000
            ages = [now_ms - m.timestamp()[1] for m in fresh if m.timestamp()[0]]
            lag = self._lag(last, stored)
            batch_id = conn.execute(
                "insert into realtime.batch_log (group_id, consumer, topic, generation, started_at, messages, "
                "skipped, events, resets, dead_letters, ignored, late_events, changed_events, windows_changed, "
                "offsets, lag_messages, freshness_p50_ms, freshness_max_ms, event_age_max_ms) values "
                "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) returning batch_id",
                (self.kafka.group, self.consumer_id, topic, generation, started_wall, len(messages), skipped,
                 n_events, len(resets), len(dead), ignored, late, applied.changed_events, applied.windows_changed,
                 Jsonb({str(p): [first[p], last[p]] for p in first}), lag, _quantile(ages, 0.5),
                 max(ages) if ages else None,
                 (now_ms - max(newest.values()).timestamp() * 1000) if newest else None)).fetchone()[0]
            if dead:
                with conn.cursor() as cur:
                    cur.executemany(
                        "insert into realtime.dead_letters (topic, partition, \"offset\", message_key, reason, "
                        "raw_value, batch_id) values (%s, %s, %s, %s, %s, %s, %s) "
                        "on conflict (topic, partition, \"offset\") do nothing",
                        [(*d[:6], batch_id) for d in dead])
                log.warning("%d malformed messages → realtime.dead_letters (first: %s)", len(dead), dead[0][4])
            if late:
                log.info("%d late events (older than the watermark minus %s) corrected their windows", late,
                         self.grace)
            conn.execute(
                "update realtime.consumer_offsets as o set next_offset = v.next_offset, batch_id = %s, "
                "updated_at = now() from unnest(%s::int[], %s::bigint[]) as v(partition, next_offset) "
                "where o.group_id = %s and o.topic = %s and o.partition = v.partition",
                (batch_id, list(last), [o + 1 for o in last.values()], self.kafka.group, topic))
            self.hook("before_db_commit")
        self.hook("after_db_commit")
        self._commit_kafka(last)
        self.hook("after_kafka_commit")
        return BatchResult(batch_id, len(messages), skipped, n_events, len(resets), len(dead), ignored, late,
                           applied.changed_events, applied.windows_changed, time.monotonic() - t0)

    def _dead(self, m: Any, reason: str) -> tuple[Any, ...]:
        value = m.value()
        raw = None if value is None else value[:65536].decode("utf-8", errors="replace")
        key = m.key()
        return (m.topic(), m.partition(), m.offset(), None if key is None else key.decode("utf-8", "replace"),
                reason, raw)

    def _lag(self, last: dict[int, int], stored: dict[int, int]) -> int | None:
        from confluent_kafka import TopicPartition

        total = 0
        for p in self.assigned or set(last):
            try:
                _, high = self._consumer.get_watermark_offsets(TopicPartition(self.kafka.topic, p), cached=True)
            except Exception:  # noqa: BLE001 - a hint only
                return None
            nxt = last[p] + 1 if p in last else stored.get(p, 0)
            if high >= 0:
                total += max(0, high - nxt)
        return total

    def _commit_kafka(self, last: dict[int, int]) -> None:
        """Informational: lets Kafka tools show the group's progress. Never read back."""
        from confluent_kafka import KafkaException, TopicPartition

        if not last:
            return
        try:
            self._consumer.commit(offsets=[TopicPartition(self.kafka.topic, p, o + 1) for p, o in last.items()],
                                  asynchronous=True)
        except KafkaException as exc:
            log.info("informational Kafka commit failed (offsets are in PostgreSQL): %s", exc)

    def close(self) -> None:
        try:
            self._consumer.close()
        except RuntimeError:
            pass


def consume(conn: psycopg.Connection, kafka: KafkaSettings, *, max_seconds: float | None = None,
            idle_seconds: float | None = 2.0, **options: Any) -> RunSummary:
    """One consumer run (the DAG task and `tracker stream consume`)."""
    consumer = MicroBatchConsumer(conn, kafka, **options)
    try:
        return consumer.run(max_seconds=max_seconds, idle_seconds=idle_seconds)
    finally:
        consumer.close()
