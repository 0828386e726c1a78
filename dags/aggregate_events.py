"""
### Aggregate events: micro-batches from `tracker.events.v1` → `realtime` (5 min, 1 h, local day, today)

Each run is one member of consumer group `tracker-aggregates`: it seeks to the offsets stored in PostgreSQL,
applies micro-batches (up to `max_messages` or `max_wait_s` each) — events, windows, dead letters, batch_log
and the next offsets in ONE transaction per batch — and stops after `max_seconds` or when `idle_seconds` pass
without a message. A crash at any point leaves the aggregates exact; the next run continues.

**Why a schedule and not an AssetWatcher:** the Kafka provider's MessageQueueTrigger consumes in the
triggerer with Kafka-committed offsets of its own group, and starts a DAG run per matching message; at 1 k
events/s that is a run storm, and each restarted trigger re-joins its group (on Tansu a join waits about
session.timeout.ms / 2). A run every minute (`TRACKER_STREAM_AGGREGATE_SCHEDULE`) that consumes for up to
55 s, plus a run right after every `produce_events` run (the `tracker.events.v1` Asset), keeps the offsets in
one place (PostgreSQL) and freshness within a minute; `tracker stream consume` runs the same consumer as a
long-lived service for second-level freshness.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import Asset, AssetOrTimeSchedule, CronTriggerTimetable, Param, dag, task
from tracker_airflow.common import DEFAULT_ARGS, OWNER_LINKS, warehouse_ready

EVENTS = Asset(name="tracker.events.v1", uri="kafka://tracker/tracker.events.v1", group="stream")


@dag(
    dag_id="aggregate_events",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable(os.environ.get("TRACKER_STREAM_AGGREGATE_SCHEDULE", "* * * * *"),
                                       timezone="UTC"),
        assets=[EVENTS]),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    owner_links=OWNER_LINKS,
    default_args={**DEFAULT_ARGS, "retries": 2, "retry_delay": timedelta(seconds=10),
                  "execution_timeout": timedelta(minutes=10)},
    params={
        "max_seconds": Param(55, type="number", minimum=1, maximum=3600, description="stop after this long"),
        "idle_seconds": Param(10, type="number", minimum=0.5, maximum=600,
                              description="stop when nothing arrived for this long"),
        "max_messages": Param(50000, type="integer", minimum=1, maximum=1000000, description="per batch"),
        "max_wait_s": Param(1.0, type="number", minimum=0.05, maximum=60, description="per batch"),
        "grace_minutes": Param(10, type="number", minimum=0, maximum=10080,
                               description="events older than the person's newest minus this are counted late"),
    },
    tags=["platform", "stream", "kafka"],
    doc_md=__doc__,
)
def aggregate_events():
    @task()
    def aggregate(params=None) -> dict:
        from airflow.sdk import BaseHook
        from tracker.stream.consumer import consume
        from tracker.stream.topics import KafkaSettings
        from tracker_airflow.hooks import WarehouseHook

        p = params or {}
        kafka = KafkaSettings.from_env(
            bootstrap=BaseHook.get_connection("tracker_kafka").extra_dejson["bootstrap.servers"])
        with WarehouseHook().connect() as conn:
            conn.autocommit = True
            run = consume(conn, kafka, max_seconds=float(p.get("max_seconds", 55)),
                          idle_seconds=float(p.get("idle_seconds", 10)),
                          max_messages=int(p.get("max_messages", 50000)), max_wait=float(p.get("max_wait_s", 1.0)),
                          grace=timedelta(minutes=float(p.get("grace_minutes", 10))))
        print(run.summary())
        return {"batches": run.batches, "messages": run.messages, "dead_letters": run.dead_letters}

    warehouse_ready() >> aggregate()


aggregate_events()
