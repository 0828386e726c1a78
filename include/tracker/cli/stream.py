"""`tracker replay` and `tracker stream produce|consume|status`: the near-real-time path from the shell.

The broker is the local stack's (`tracker status` → kafka_bootstrap) unless TRACKER_KAFKA_BOOTSTRAP is set;
topic and consumer group are TRACKER_STREAM_TOPIC / TRACKER_STREAM_GROUP (defaults tracker.events.v1,
tracker-aggregates). The warehouse is TRACKER_WAREHOUSE_DSN, else the local stack's.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated

import typer

from tracker.cli.common import connect_warehouse, console, fail

stream_app = typer.Typer(no_args_is_help=True, help="The Kafka micro-batch path: produce, consume, status.")


def _kafka():
    from tracker.stream.topics import KafkaSettings

    return KafkaSettings.from_env()


def _consume(conn, kafka, *, max_seconds: float | None, idle_seconds: float | None, grace_minutes: float):
    from tracker.stream.consumer import consume
    from tracker.stream.topics import BrokerUnavailable

    try:
        run = consume(conn, kafka, max_seconds=max_seconds, idle_seconds=idle_seconds,
                      grace=timedelta(minutes=grace_minutes))
    except BrokerUnavailable as exc:
        fail(str(exc))
    console.print(f"consumed: {run.summary()}")
    return run


def replay(
    start: Annotated[str, typer.Option("--from", help="first instant: YYYY-MM-DD (00:00 UTC) or ISO 8601")],
    end: Annotated[str, typer.Option("--to", help="end instant, exclusive: YYYY-MM-DD (00:00 UTC) or ISO 8601")],
    source: Annotated[list[str] | None, typer.Option("--source", help="a source or stream (repeatable); "
                                                     "default: every streamed source")] = None,
    person: Annotated[list[str] | None, typer.Option("--person", help="a person id (repeatable); default: all")]
    = None,
    consume: Annotated[bool, typer.Option("--consume/--no-consume", help="also run the consumer until idle "
                                          "(else the aggregate_events DAG picks the replay up)")] = True,
    idle: Annotated[float, typer.Option(help="with --consume: stop when nothing came for this long (s)")] = 3.0,
) -> None:
    """Rebuild [from, to) in realtime: a reset per person and stream, then every raw row of the range. A
    second identical replay changes nothing."""
    from tracker.stream import producer
    from tracker.stream.topics import BrokerUnavailable

    kafka = _kafka()
    with connect_warehouse(autocommit=True) as conn:
        try:
            request = producer.ReplayRequest.parse(start, end, source or (), person or (),
                                                   producer.known_people(conn))
            result = request.run(conn, kafka)
        except (ValueError, BrokerUnavailable, producer.ProduceFailed) as exc:
            fail(str(exc))
        console.print(f"produced: {result.summary()}")
        if consume:
            run = _consume(conn, kafka, max_seconds=None, idle_seconds=idle, grace_minutes=10)
            changed = sum(r.windows_changed for r in run.results)
            console.print(f"{changed:,} windows changed")


@stream_app.command("produce")
def produce(
    horizon_days: Annotated[float, typer.Option(help="only rows whose event time is this recent go live")] = 2,
    source: Annotated[list[str] | None, typer.Option("--source", help="a source or stream (repeatable)")] = None,
) -> None:
    """Produce the raw rows written since the stored watermark (what produce_events does every 5 minutes)."""
    from tracker.stream import producer
    from tracker.stream.topics import BrokerUnavailable

    with connect_warehouse(autocommit=True) as conn:
        try:
            result = producer.produce_new(conn, _kafka(), sources=source or None,
                                          horizon=timedelta(days=horizon_days))
        except (ValueError, BrokerUnavailable, producer.ProduceFailed) as exc:
            fail(str(exc))
    console.print(result.summary())


@stream_app.command("consume")
def consume_command(
    seconds: Annotated[float | None, typer.Option(help="stop after this long (default: run until idle)")] = None,
    idle: Annotated[float | None, typer.Option(help="stop when nothing came for this long; 0: never")] = 3.0,
    grace_minutes: Annotated[float, typer.Option(help="late-event grace period")] = 10,
) -> None:
    """Run the micro-batch consumer (a long-lived service with `--idle 0`; Ctrl-C stops it between batches)."""
    with connect_warehouse(autocommit=True) as conn:
        try:
            _consume(conn, _kafka(), max_seconds=seconds, idle_seconds=idle or None, grace_minutes=grace_minutes)
        except KeyboardInterrupt:
            console.print("stopped")


@stream_app.command("status")
def status(as_json: Annotated[bool, typer.Option("--json", help="machine-readable")] = False) -> None:
    """Topic generation, stored offsets, producer watermarks, the last batch and the dead letters."""
    kafka = _kafka()
    with connect_warehouse(autocommit=True) as conn:
        q = conn.execute
        gen = q("select generation, topic_id, created_at, reason from realtime.topic_generations where topic = %s "
                "order by generation desc limit 1", (kafka.topic,)).fetchone()
        offsets = q("select partition, next_offset, generation, updated_at from realtime.consumer_offsets "
                    "where group_id = %s and topic = %s order by partition", (kafka.group, kafka.topic)).fetchall()
        marks = q("select raw_table, xid_mark::text, produced, updated_at from realtime.producer_watermarks "
                  "order by 1").fetchall()
        last = q("select batch_id, committed_at, messages, events, dead_letters, late_events, lag_messages, "
                 "freshness_p50_ms, freshness_max_ms from realtime.batch_log where topic = %s "
                 "order by batch_id desc limit 1", (kafka.topic,)).fetchone()
        dead = q("select count(*) from realtime.dead_letters where topic = %s", (kafka.topic,)).fetchone()[0]
        windows = q("select count(*) from realtime.aggregates").fetchone()[0]
    info = {
        "bootstrap": kafka.bootstrap, "topic": kafka.topic, "group": kafka.group,
        "generation": None if gen is None else {"generation": gen[0], "topic_id": gen[1],
                                                "since": gen[2].isoformat(), "reason": gen[3]},
        "offsets": {str(p): o for p, o, _, _ in offsets},
        "watermarks": {t: {"xid_mark": m, "produced": n, "at": at.isoformat()} for t, m, n, at in marks},
        "last_batch": None if last is None else dict(zip(
            ("batch_id", "committed_at", "messages", "events", "dead_letters", "late_events", "lag_messages",
             "freshness_p50_ms", "freshness_max_ms"), (*last[:1], last[1].isoformat(), *last[2:]), strict=True)),
        "dead_letters": dead, "windows": windows,
    }
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    console.print(f"topic {kafka.topic} on {kafka.bootstrap}, group {kafka.group}")
    console.print(f"generation: {info['generation'] or 'none yet'}")
    console.print(f"offsets: {info['offsets'] or 'none stored'}")
    console.print(f"last batch: {info['last_batch'] or 'none yet'}")
    console.print(f"windows: {windows:,}; dead letters: {dead}")
    for t, m in info["watermarks"].items():
        console.print(f"  {t}: produced {m['produced']:,}, mark {m['xid_mark']} at {m['at']}")


def register(app: typer.Typer) -> None:
    """Add `tracker replay` and `tracker stream …` to the CLI."""
    app.command("replay")(replay)
    app.add_typer(stream_app, name="stream")
