"""
### Produce events → Kafka topic `tracker.events.v1` (the near-real-time path)

Every few minutes (`TRACKER_STREAM_PRODUCE_SCHEDULE`, default every 5 minutes) the raw rows written since the
stored watermark (per raw table: the snapshot xmin of the last successful run, so a load that commits late is
never skipped) are produced — idempotent producer, acks=all, lz4 — and the watermark advances only after the
flush confirmed every message. Rows older than `horizon_days` are left to replays.

**Replay**: trigger with `from` and `to` (YYYY-MM-DD = 00:00 UTC, or ISO 8601 instants; `to` exclusive) and
optionally `sources` / `people`: each person and stream gets a reset, then every raw row of the range, so
realtime ends up holding exactly what raw holds; a second identical replay changes nothing. Same as
`tracker replay --from … --to …`. Bad params fail the run at once with one line (no retries).

Broker: connection `tracker_kafka` (extra `bootstrap.servers`); warehouse: `tracker_warehouse`.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import Asset, CronTriggerTimetable, Param, dag, task
from tracker_airflow.common import DEFAULT_ARGS, OWNER_LINKS, PLAN_RETRY_POLICY, warehouse_ready

EVENTS = Asset(name="tracker.events.v1", uri="kafka://tracker/tracker.events.v1", group="stream")
INSTANT = r"^$|^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2}))?$"


def _kafka():
    from airflow.sdk import BaseHook
    from tracker.stream.topics import KafkaSettings

    extra = BaseHook.get_connection("tracker_kafka").extra_dejson
    return KafkaSettings.from_env(bootstrap=extra["bootstrap.servers"])


@dag(
    dag_id="produce_events",
    schedule=CronTriggerTimetable(os.environ.get("TRACKER_STREAM_PRODUCE_SCHEDULE", "*/5 * * * *"), timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    owner_links=OWNER_LINKS,
    default_args={**DEFAULT_ARGS, "retries": 2, "retry_delay": timedelta(seconds=30),
                  "execution_timeout": timedelta(minutes=30)},
    params={
        "from": Param("", type="string", pattern=INSTANT, description="replay: first instant (YYYY-MM-DD = UTC)"),
        "to": Param("", type="string", pattern=INSTANT, description="replay: end instant, exclusive"),
        "sources": Param([], type="array", items={"type": "string"},
                         description="replay: sources or streams (fitbit, github, fitbit.heart_rate, …); empty: all"),
        "people": Param([], type="array", items={"type": "string"}, description="replay: person ids; empty: all"),
        "horizon_days": Param(2, type="number", minimum=0, maximum=3650,
                              description="new rows: only event times within this many days go the live path"),
    },
    tags=["platform", "stream", "kafka"],
    doc_md=__doc__,
)
def produce_events():
    @task(retry_policy=PLAN_RETRY_POLICY, outlets=[EVENTS])
    def produce(params=None, run_id=None) -> dict:
        from tracker.stream import producer
        from tracker_airflow.hooks import WarehouseHook

        p = params or {}
        with WarehouseHook().connect() as conn:
            conn.autocommit = True
            if p.get("from") or p.get("to"):
                request = producer.ReplayRequest.parse(p.get("from", ""), p.get("to", ""), p.get("sources") or (),
                                                       p.get("people") or (), producer.known_people(conn))
                result = request.run(conn, _kafka(), run_id=f"replay-{run_id}")
            else:
                result = producer.produce_new(conn, _kafka(), run_id=f"new-{run_id}",
                                              sources=p.get("sources") or None,
                                              horizon=timedelta(days=float(p.get("horizon_days", 2))))
        print(result.summary())
        return {"run_id": result.run_id, "produced": result.total, "generation": result.generation}

    warehouse_ready() >> produce()


produce_events()
