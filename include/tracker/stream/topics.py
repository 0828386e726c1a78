"""The topic, its partitioning, the client settings, and the topic's incarnations (generations).

Topic `tracker.events.v1`: 6 partitions, message key = person_id (librdkafka's default partitioner hashes it),
so one person's events and resets stay in order in one partition. Scaling out: more partitions and more
consumers in the one group (`tracker-aggregates`) on a real Kafka cluster; people spread over partitions.

Tansu (the local broker) keeps its log in memory: a restart loses every message. The broker's topic id
(a UUID) tells incarnations apart; the first client that sees a new one records a new generation in
realtime.topic_generations and, in the same transaction, rewinds the producer (see producer.rewind) and
points the consumer offsets at the new log's start — raw PostgreSQL is the source of truth, so nothing is lost.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import psycopg

from tracker import settings

TOPIC = "tracker.events.v1"
PARTITIONS = 6
GROUP = "tracker-aggregates"
KAFKA_LOG = logging.getLogger("tracker.stream.kafka")   # librdkafka's own log lines


@dataclass(frozen=True)
class KafkaSettings:
    bootstrap: str
    topic: str = TOPIC
    partitions: int = PARTITIONS
    group: str = GROUP
    session_timeout_ms: int = 6000   # Tansu: each group join waits about session.timeout.ms / 2

    @classmethod
    def from_env(cls, **overrides: Any) -> KafkaSettings:
        base = {"bootstrap": os.environ.get("TRACKER_KAFKA_BOOTSTRAP") or settings.kafka_bootstrap(),
                "topic": os.environ.get("TRACKER_STREAM_TOPIC", TOPIC),
                "group": os.environ.get("TRACKER_STREAM_GROUP", GROUP)}
        return cls(**{**base, **overrides})

    def producer_config(self) -> dict[str, Any]:
        """Idempotent producer, acks=all, compressed batches. No transactions (see the package docstring)."""
        return {"bootstrap.servers": self.bootstrap, "logger": KAFKA_LOG, "enable.idempotence": True, "acks": "all",
                "compression.type": "lz4", "linger.ms": 20, "batch.num.messages": 10000,
                "queue.buffering.max.messages": 500000, "queue.buffering.max.kbytes": 262144,
                "message.timeout.ms": 60000}

    def consumer_config(self, client_id: str) -> dict[str, Any]:
        """Offsets are ours (PostgreSQL): no auto commit, no auto offset store; Kafka's commit is informational."""
        return {"bootstrap.servers": self.bootstrap, "logger": KAFKA_LOG, "group.id": self.group,
                "client.id": client_id,
                "enable.auto.commit": False, "enable.auto.offset.store": False,
                "auto.offset.reset": "earliest", "session.timeout.ms": self.session_timeout_ms,
                "heartbeat.interval.ms": max(500, self.session_timeout_ms // 6),
                "max.poll.interval.ms": max(60000, self.session_timeout_ms),
                "isolation.level": "read_uncommitted", "allow.auto.create.topics": False,
                "fetch.wait.max.ms": 50, "queued.min.messages": 200000}

    def admin(self) -> Any:
        from confluent_kafka.admin import AdminClient

        return AdminClient({"bootstrap.servers": self.bootstrap, "logger": KAFKA_LOG})


class BrokerUnavailable(RuntimeError):
    """The broker cannot be reached (one line naming it)."""


def topic_id(kafka: KafkaSettings, *, create: bool = True, timeout: float = 5.0) -> str | None:
    """The topic's broker id, creating the topic (6 partitions, explicit retention) when it is missing."""
    from confluent_kafka import KafkaException, TopicCollection
    from confluent_kafka.admin import NewTopic

    admin = kafka.admin()
    try:
        topics = admin.list_topics(timeout=timeout).topics
    except KafkaException as exc:
        raise BrokerUnavailable(f"Kafka broker {kafka.bootstrap} unreachable: {exc.args[0]}") from None
    if kafka.topic not in topics:
        if not create:
            return None
        # explicit retention: Tansu describes only configs set at creation (libraries that read it need it)
        futures = admin.create_topics([NewTopic(kafka.topic, kafka.partitions, 1,
                                                config={"retention.ms": "-1", "cleanup.policy": "delete"})])
        try:
            futures[kafka.topic].result(timeout)
        except KafkaException as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise
    described = admin.describe_topics(TopicCollection([kafka.topic]))[kafka.topic].result(timeout)
    return str(described.topic_id)


def current_generation(conn: psycopg.Connection, topic: str) -> tuple[int, str | None]:
    row = conn.execute("select generation, topic_id from realtime.topic_generations where topic = %s "
                       "order by generation desc limit 1", (topic,)).fetchone()
    return (row[0], row[1]) if row else (0, None)


def sync_generation(conn: psycopg.Connection, kafka: KafkaSettings, broker_topic_id: str) -> int:
    """The generation of the topic incarnation `broker_topic_id`; a new one is recorded (and the producer
    rewound, consumer offsets reset) in one transaction under an advisory lock. Returns the generation."""
    from tracker.stream import producer

    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('tracker.stream.generation'))")
        generation, known = current_generation(conn, kafka.topic)
        if known == broker_topic_id:
            return generation
        reason = "first use" if known is None else f"topic id changed from {known}: the broker lost its log"
        generation += 1
        conn.execute("insert into realtime.topic_generations (topic, generation, topic_id, reason) "
                     "values (%s, %s, %s, %s)", (kafka.topic, generation, broker_topic_id, reason))
        if known is not None:
            producer.rewind(conn, kafka.topic, generation)
            conn.execute("update realtime.consumer_offsets set next_offset = 0, generation = %s, "
                         "updated_at = now() where topic = %s", (generation, kafka.topic))
        return generation
