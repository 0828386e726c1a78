"""Raw rows → events on the topic: new rows since a watermark, or a replay of any historical range.

**Watermark (new rows).** Per raw table, the xid8 snapshot xmin of the last run whose flush succeeded
(realtime.producer_watermarks). A run reads, in one repeatable-read snapshot, every row whose writing
transaction id is >= the stored mark, then records that snapshot's xmin as the next mark. A transaction still
running at the snapshot has an xid >= its xmin, so whenever it commits — even after later transactions — the
next run reads its rows. `_loaded_at` cannot be the watermark: it is the transaction's start, and a long load
commits after later-started ones. Rows read twice (committed between two snapshots' xmin and xmax) are
produced twice: harmless, the consumer keeps one version per event identity. The mark advances only after
`flush()` confirmed every message (acks=all); a failed flush leaves it, and the next run re-produces.
Only rows whose event time is within the horizon (default 2 days) go the live path; older ones are counted
(`older_than_horizon`) and reach realtime through `tracker replay`.

**Replay.** For each selected person and stream, a reset control message, then every raw row of the range:
realtime then holds exactly what raw holds for it (deleted rows leave, changed rows change) and a second
identical replay changes nothing. Same code, same topic; the watermark is not touched.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from tracker.stream import events as ev
from tracker.stream.topics import KafkaSettings, current_generation, sync_generation, topic_id

log = logging.getLogger(__name__)

DEFAULT_HORIZON = timedelta(days=2)
_LOCK = "tracker.stream.produce"


class ProduceFailed(RuntimeError):
    """Messages were not confirmed by the broker: the watermark was not advanced (rerun re-produces)."""


@dataclass
class ProduceResult:
    run_id: str
    kind: str
    generation: int
    produced: dict[str, int] = field(default_factory=dict)       # stream → messages
    resets: int = 0
    older_than_horizon: dict[str, int] = field(default_factory=dict)
    last_offsets: dict[int, int] = field(default_factory=dict)   # partition → highest offset
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.produced.values()) + self.resets

    def summary(self) -> str:
        parts = ", ".join(f"{k} {v:,}" for k, v in sorted(self.produced.items()) if v) or "nothing new"
        old = sum(self.older_than_horizon.values())
        extra = f"; {old:,} rows older than the horizon left to replay" if old else ""
        resets = f", {self.resets} resets" if self.resets else ""
        return f"{self.kind} {self.run_id}: {parts}{resets} in {self.seconds:.1f} s{extra}"


# ------------------------------------------------------------------------------------------- SQL per stream
def _raw_tables() -> dict[str, Any]:
    from tracker.sources.catalogue import raw_tables

    return {t.qualified: t for t in raw_tables()}


def message_sql(stream: ev.Stream) -> sql.Composed:
    """`select person_id, <message JSON>, <event time> from <raw table>` — PostgreSQL renders the message."""
    table = _raw_tables()[stream.raw_table]
    key = [c for c in table.key if c != "person_id"]
    schema, name = stream.raw_table.split(".")
    payload = sql.SQL(", ").join(sql.SQL("{}, {}").format(sql.Literal(f), sql.SQL(e))
                                 for f, e in stream.payload.items())
    return sql.SQL(
        "select person_id, json_build_object('kind', 'event', 'v', {v}, 'person_id', person_id, "
        "'source', {source}, 'entity', {entity}, 'key', concat_ws('|', {key}), 'event_time', {time}, "
        "'payload', json_build_object({payload}))::text, {time} as event_time from {table}"
    ).format(v=sql.Literal(ev.VERSION), source=sql.Literal(stream.source), entity=sql.Literal(stream.entity),
             key=sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in key),
             time=sql.SQL(stream.time), payload=payload, table=sql.Identifier(schema, name))


# a row's full transaction id (xid8) from its 32-bit xmin, relative to the snapshot's xmax (a visible row's
# writer is less than 2^31 transactions old: PostgreSQL's wraparound protection guarantees it); frozen and
# bootstrap xids (< 3) are older than any mark
_ROW_XID = ("(xmin::text::bigint >= 3 and pg_snapshot_xmax(pg_current_snapshot())::text::bigint - "
            "mod(mod(pg_snapshot_xmax(pg_current_snapshot())::text::bigint, 4294967296) - xmin::text::bigint "
            "+ 4294967296, 4294967296) >= {mark})")


# ------------------------------------------------------------------------------------------------ producing
class _Sink:
    """A confluent-kafka producer with delivery accounting."""

    def __init__(self, kafka: KafkaSettings, producer: Any | None = None) -> None:
        from confluent_kafka import Producer

        self.kafka = kafka
        self.producer = producer or Producer(kafka.producer_config())
        self.errors: list[str] = []
        self.last_offsets: dict[int, int] = {}
        self.sent = 0

    def _delivered(self, err: Any, msg: Any) -> None:
        if err is not None:
            self.errors.append(str(err))
        else:
            p, o = msg.partition(), msg.offset()
            if o > self.last_offsets.get(p, -1):
                self.last_offsets[p] = o

    def send(self, key: str, value: bytes | str) -> None:
        while True:
            try:
                self.producer.produce(self.kafka.topic, value, key=key.encode(), on_delivery=self._delivered)
                self.sent += 1
                return
            except BufferError:  # local queue full: let deliveries drain
                self.producer.poll(0.05)

    def flush(self, timeout: float = 120.0) -> None:
        remaining = self.producer.flush(timeout)
        if remaining or self.errors:
            raise ProduceFailed(f"{remaining} messages unconfirmed, {len(self.errors)} failed"
                                + (f" (first: {self.errors[0]})" if self.errors else "")
                                + "; the watermark was not advanced — rerun to re-produce")


def _stream_rows(conn: psycopg.Connection, query: sql.Composable, params: Sequence[Any], sink: _Sink) -> int:
    n = 0
    with conn.cursor(name=f"produce_{uuid.uuid4().hex[:8]}") as cur:
        cur.itersize = 20000
        cur.execute(query, params)
        for person_id, value, _ in cur:
            sink.send(person_id, value)
            n += 1
            if n % 20000 == 0:
                sink.producer.poll(0)
    return n


def _streams(sources: Iterable[str] | None) -> list[ev.Stream]:
    if not sources:
        return list(ev.STREAMS.values())
    wanted = set(sources)
    known = {s.source for s in ev.STREAMS.values()} | set(ev.STREAMS)
    unknown = wanted - known
    if unknown:
        raise ValueError(f"unknown source(s) {', '.join(sorted(unknown))}; streamed: "
                         f"{', '.join(sorted({s.source for s in ev.STREAMS.values()}))}")
    return [s for s in ev.STREAMS.values() if s.source in wanted or s.name in wanted]


def _prepare(conn: psycopg.Connection, kafka: KafkaSettings) -> int:
    return sync_generation(conn, kafka, topic_id(kafka))


def _session(conn: psycopg.Connection) -> None:
    conn.execute("set local timezone = 'UTC'")
    conn.execute("set local datestyle = 'ISO, YMD'")


def produce_new(conn: psycopg.Connection, kafka: KafkaSettings, *, run_id: str | None = None,
                sources: Iterable[str] | None = None, horizon: timedelta | None = DEFAULT_HORIZON,
                producer: Any | None = None) -> ProduceResult:
    """Produce every raw row written since the stored watermark (then advance it); see the module docstring."""
    if not conn.autocommit:
        raise ValueError("produce_new needs an autocommit connection (it runs its own transactions)")
    run_id = run_id or f"new-{uuid.uuid4().hex[:12]}"
    started = time.monotonic()
    conn.execute("select pg_advisory_lock(hashtext(%s))", (_LOCK,))
    try:
        generation = _prepare(conn, kafka)
        result = ProduceResult(run_id, "new", generation)
        sink = _Sink(kafka, producer)
        marks = dict(conn.execute("select raw_table, xid_mark::text::bigint from realtime.producer_watermarks")
                     .fetchall())
        selected = _streams(sources)
        with conn.transaction():
            conn.execute("set transaction isolation level repeatable read, read only")
            _session(conn)
            new_mark = conn.execute("select pg_snapshot_xmin(pg_current_snapshot())::text::bigint").fetchone()[0]
            for stream in selected:
                where: list[sql.Composable] = []
                if stream.raw_table in marks:
                    where.append(sql.SQL(_ROW_XID).format(mark=sql.Literal(marks[stream.raw_table])))
                base = message_sql(stream)
                filt = sql.SQL(" and ").join(where) if where else sql.SQL("true")
                query = sql.SQL("{} where {}").format(base, filt)
                if horizon is not None:
                    cutoff = sql.SQL("{} >= now() - {}::interval").format(sql.SQL(stream.time),
                                                                          sql.Literal(horizon))
                    old = conn.execute(sql.SQL("select count(*) from {} where {} and not ({})").format(
                        sql.Identifier(*stream.raw_table.split(".")), filt, cutoff)).fetchone()[0]
                    if old:
                        result.older_than_horizon[stream.name] = old
                    query = sql.SQL("{} and {}").format(query, cutoff)
                result.produced[stream.name] = _stream_rows(conn, query, (), sink)
        sink.flush()
        result.last_offsets = dict(sink.last_offsets)
        with conn.transaction():
            now_generation, _ = current_generation(conn, kafka.topic)
            if now_generation != generation:
                raise ProduceFailed("the topic changed incarnation during the run (broker restarted): "
                                    "the watermark was not advanced — rerun to re-produce")
            conn.execute(
                "insert into realtime.produce_runs (run_id, topic, generation, kind, marks_before, last_offsets,"
                " produced, finished_at) values (%s, %s, %s, 'new', %s, %s, %s, now())",
                (run_id, kafka.topic, generation, Jsonb({t: marks.get(t) for t in
                                                         (s.raw_table for s in selected)}),
                 Jsonb({str(p): o for p, o in result.last_offsets.items()}), result.total))
            for stream in selected:
                conn.execute(
                    "insert into realtime.producer_watermarks (raw_table, xid_mark, produced) "
                    "values (%s, %s::text::xid8, %s) on conflict (raw_table) do update set "
                    "xid_mark = excluded.xid_mark, produced = realtime.producer_watermarks.produced + "
                    "excluded.produced, updated_at = now()",
                    (stream.raw_table, str(new_mark), result.produced.get(stream.name, 0)))
        result.seconds = time.monotonic() - started
        if result.older_than_horizon:
            log.warning("%s rows older than the horizon (%s) were not produced live; `tracker replay` brings "
                        "them into realtime: %s", sum(result.older_than_horizon.values()), horizon,
                        result.older_than_horizon)
        _rerun_lost_replays(conn, kafka, producer)
        return result
    finally:
        conn.execute("select pg_advisory_unlock(hashtext(%s))", (_LOCK,))


def replay(conn: psycopg.Connection, kafka: KafkaSettings, start: datetime, end: datetime, *,
           sources: Iterable[str] | None = None, people: Sequence[str] | None = None,
           run_id: str | None = None, producer: Any | None = None) -> ProduceResult:
    """Re-produce [start, end) of the selected sources and people, each preceded by a reset."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("replay bounds must be aware instants")
    if start >= end:
        raise ValueError(f"replay range is empty: from {start.isoformat()} is not before to {end.isoformat()}")
    if not conn.autocommit:
        raise ValueError("replay needs an autocommit connection (it runs its own transactions)")
    run_id = run_id or f"replay-{uuid.uuid4().hex[:12]}"
    started = time.monotonic()
    selected = _streams(sources)
    generation = _prepare(conn, kafka)
    result = ProduceResult(run_id, "replay", generation)
    sink = _Sink(kafka, producer)
    with conn.transaction():
        conn.execute("set transaction isolation level repeatable read, read only")
        _session(conn)
        for stream in selected:
            table = sql.Identifier(*stream.raw_table.split("."))
            in_range = sql.SQL("{t} >= %(start)s and {t} < %(end)s").format(t=sql.SQL(stream.time))
            if people:
                who = list(people)
            else:
                who = [r[0] for r in conn.execute(sql.SQL(
                    "select person_id from raw.tracker__people union select distinct person_id from {} where {} "
                    "union select distinct person_id from realtime.events where stream = %(stream)s "
                    "and event_time >= %(start)s and event_time < %(end)s").format(table, in_range),
                    {"start": start, "end": end, "stream": stream.name}).fetchall()]
            for person in sorted(who):
                sink.send(person, ev.encode({"kind": "reset", "v": ev.VERSION, "person_id": person,
                                             "source": stream.source, "entity": stream.entity,
                                             "start": start, "end": end, "replay_id": run_id}))
                result.resets += 1
            query = sql.SQL("{} where {} and person_id = any(%(people)s)").format(message_sql(stream), in_range)
            with conn.cursor(name=f"replay_{uuid.uuid4().hex[:8]}") as cur:
                cur.itersize = 20000
                cur.execute(query, {"start": start, "end": end, "people": who})
                n = 0
                for person_id, value, _ in cur:
                    sink.send(person_id, value)
                    n += 1
                    if n % 20000 == 0:
                        sink.producer.poll(0)
            result.produced[stream.name] = n
    sink.flush()
    result.last_offsets = dict(sink.last_offsets)
    params = {"start": start.isoformat(), "end": end.isoformat(), "sources": sorted({s.name for s in selected}),
              "people": list(people) if people else None}
    conn.execute("insert into realtime.produce_runs (run_id, topic, generation, kind, params, last_offsets, "
                 "produced, finished_at) values (%s, %s, %s, 'replay', %s, %s, %s, now()) "
                 "on conflict (run_id) do update set generation = excluded.generation, last_offsets = "
                 "excluded.last_offsets, produced = excluded.produced, finished_at = now()",
                 (run_id, kafka.topic, generation, Jsonb(params),
                  Jsonb({str(p): o for p, o in result.last_offsets.items()}), result.total))
    result.seconds = time.monotonic() - started
    return result


# ------------------------------------------------------------------------------------ broker lost its log
def _unconsumed_runs(conn: psycopg.Connection, topic: str, generation: int) -> list[tuple[Any, ...]]:
    """Runs of earlier generations that some consumer group had not read to their last offset."""
    return conn.execute("""
        select r.run_id, r.kind, r.params, r.marks_before, r.started_at
        from realtime.produce_runs as r
        where r.topic = %(topic)s and r.generation < %(generation)s and r.produced > 0
            and (not exists (select 1 from realtime.consumer_offsets where topic = %(topic)s)
                 or exists (
                    select 1
                    from jsonb_each_text(r.last_offsets) as lo(partition, last_offset)
                    cross join (select distinct group_id from realtime.consumer_offsets
                                where topic = %(topic)s) as g
                    where not exists (
                        select 1 from realtime.consumer_offsets as o
                        where o.group_id = g.group_id and o.topic = %(topic)s
                            and o.partition = lo.partition::int and o.generation = r.generation
                            and o.next_offset > lo.last_offset::bigint)))
        order by r.started_at""", {"topic": topic, "generation": generation}).fetchall()


def rewind(conn: psycopg.Connection, topic: str, generation: int) -> None:
    """Called in the transaction that records a new topic generation: watermarks go back to the marks before
    the first run whose messages were not all consumed; replays not all consumed are queued to run again."""
    runs = _unconsumed_runs(conn, topic, generation)
    new_runs = [r for r in runs if r[1] == "new"]
    if new_runs:
        marks_before = new_runs[0][3]
        for table, mark in marks_before.items():
            if mark is None:
                conn.execute("delete from realtime.producer_watermarks where raw_table = %s", (table,))
            else:
                conn.execute("update realtime.producer_watermarks set xid_mark = least(xid_mark, %s::text::xid8),"
                             " updated_at = now() where raw_table = %s", (str(mark), table))
        log.warning("broker lost its log: producer watermarks rewound to before run %s", new_runs[0][0])
    for run_id, kind, *_ in runs:
        if kind == "replay":
            conn.execute("update realtime.produce_runs set params = params || '{\"rerun\": true}' "
                         "where run_id = %s", (run_id,))
            log.warning("broker lost its log before replay %s was consumed: it runs again", run_id)


def _rerun_lost_replays(conn: psycopg.Connection, kafka: KafkaSettings, producer: Any | None) -> None:
    from datetime import datetime as dt

    for run_id, params in conn.execute("select run_id, params from realtime.produce_runs where topic = %s and "
                                       "kind = 'replay' and (params ->> 'rerun')::boolean order by started_at",
                                       (kafka.topic,)).fetchall():
        replay(conn, kafka, dt.fromisoformat(params["start"]), dt.fromisoformat(params["end"]),
               sources=params["sources"], people=params.get("people"), run_id=run_id, producer=producer)
        conn.execute("update realtime.produce_runs set params = params - 'rerun' where run_id = %s", (run_id,))


# --------------------------------------------------------------------------------------- replay requests
def parse_instant(value: str, name: str) -> datetime:
    """'YYYY-MM-DD' (00:00 UTC) or an ISO 8601 instant with an offset; a ValueError naming the param."""
    from datetime import UTC, date

    text = (value or "").strip()
    if not text:
        raise ValueError(f"{name}: a date (YYYY-MM-DD, 00:00 UTC) or an ISO 8601 instant is required")
    try:
        if len(text) == 10:
            d = date.fromisoformat(text)
            return datetime(d.year, d.month, d.day, tzinfo=UTC)
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{name}: {text!r} is neither YYYY-MM-DD nor an ISO 8601 instant") from None
    if t.tzinfo is None:
        raise ValueError(f"{name}: {text!r} has no UTC offset (add Z or +01:00, or give a date)")
    return t


@dataclass(frozen=True)
class ReplayRequest:
    """Validated replay params (Airflow UI / REST API, `tracker replay`): [start, end), sources, people."""

    start: datetime
    end: datetime
    sources: tuple[str, ...] = ()
    people: tuple[str, ...] = ()

    @classmethod
    def parse(cls, start: str, end: str, sources: Iterable[str] = (), people: Iterable[str] = (),
              known_people: Iterable[str] | None = None) -> ReplayRequest:
        s, e = parse_instant(start, "from"), parse_instant(end, "to")
        if s >= e:
            raise ValueError(f"from {s.isoformat()} must be before to {e.isoformat()} (to is exclusive)")
        srcs = tuple(x for x in sources if x)
        _streams(srcs)  # unknown source → ValueError naming the streamed ones
        who = tuple(x for x in people if x)
        if known_people is not None:
            known = set(known_people)
            unknown = [p for p in who if p not in known]
            if unknown:
                raise ValueError(f"unknown person(s) {', '.join(unknown)}; known: {', '.join(sorted(known)) or '-'}")
        return cls(s, e, srcs, who)

    def run(self, conn: psycopg.Connection, kafka: KafkaSettings, *, run_id: str | None = None) -> ProduceResult:
        return replay(conn, kafka, self.start, self.end, sources=self.sources or None,
                      people=self.people or None, run_id=run_id)


def known_people(conn: psycopg.Connection) -> list[str]:
    return [r[0] for r in conn.execute("select person_id from raw.tracker__people order by 1").fetchall()]
