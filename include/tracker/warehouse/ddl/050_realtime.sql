-- The near-real-time path (tracker.stream): raw rows → Kafka topic tracker.events.v1 → micro-batch consumer →
-- realtime.*. Nothing here is data of record (raw is): every table can be rebuilt by `tracker replay`.
-- Exactly-once in effect: a batch's events, its aggregates, its dead letters, its batch_log row and the
-- consumer's next offsets commit in ONE transaction; Kafka's own offset commit is informational only.
create schema if not exists realtime;

-- The consumer's keyed state: the latest version of every event, one row per (person, stream, natural key).
-- An event produced twice (replay, producer rerun, broker restart) overwrites itself: aggregates are
-- recomputed from here for every window a batch touched, so a duplicate can never double-count.
-- value is null for an event that counts for nothing (a merge commit, a Netflix trailer): kept so that an
-- update turning a counted event into an uncounted one removes its old contribution.
create table if not exists realtime.events (
    person_id text not null,
    stream text not null,                  -- <source>.<entity>, e.g. fitbit.heart_rate
    key text not null,                     -- the natural key (without the person), '|'-joined
    metric text not null,
    event_time timestamptz not null,
    local_day date,                        -- set only for daily events (a day's total, e.g. steps_daily)
    value numeric,                         -- exact (integers, seconds as decimals): sums do not depend on order
    primary key (person_id, stream, key)
);
-- Windows are recomputed by time range: a BRIN index costs next to nothing per insert (a B-tree on
-- (person_id, metric, event_time) doubled the upsert's cost); rows mostly arrive in time order.
drop index if exists realtime.events_metric_time_idx;
create index if not exists events_time_brin on realtime.events using brin (event_time)
    with (pages_per_range = 32, autosummarize = on);

-- Tumbling windows per person and metric: grain '5m' and '1h' (UTC-aligned, [window_start, window_end)) and
-- 'day' (the person's local date, window_start = local midnight; 23 or 25 hours on DST days).
create table if not exists realtime.aggregates (
    person_id text not null,
    metric text not null,
    grain text not null check (grain in ('5m', '1h', 'day')),
    window_start timestamptz not null,
    window_end timestamptz not null,
    local_date date,                       -- the day grain's date (null for 5m / 1h)
    n bigint not null,                     -- counted events (non-null values)
    total numeric not null,
    min numeric,
    max numeric,
    avg numeric generated always as (total / nullif(n, 0)) stored,
    updated_at timestamptz not null default now(),
    primary key (person_id, metric, grain, window_start)
);

-- "Today so far": each person's day-grain aggregates for the local date it is now.
create or replace view realtime.today as
select a.*
from realtime.aggregates as a
left join raw.tracker__people as p on a.person_id = p.person_id
where a.grain = 'day'
    and a.local_date = (now() at time zone coalesce(p.timezone, 'UTC'))::date;

-- Consumer offsets, stored with the aggregates (the only offsets the consumer seeks to). generation counts
-- topic incarnations: a broker that lost its log (Tansu in memory, restarted) makes a new one.
create table if not exists realtime.consumer_offsets (
    group_id text not null,
    topic text not null,
    partition integer not null,
    next_offset bigint not null,
    generation integer not null default 1,
    batch_id bigint,
    updated_at timestamptz not null default now(),
    primary key (group_id, topic, partition)
);

-- The topic's incarnations; the newest row is the current one.
create table if not exists realtime.topic_generations (
    topic text not null,
    generation integer not null,
    topic_id text not null,                -- the broker's topic UUID: a new one means the log was lost
    created_at timestamptz not null default now(),
    reason text not null,
    primary key (topic, generation)
);

-- Producer watermarks, per raw table: the snapshot xmin (xid8) of the last produce run whose flush
-- succeeded. The next run reads every row written by a transaction with xid >= mark: a transaction that
-- started before a later one but committed after it is still read (its xid is above the old snapshot's xmin).
create table if not exists realtime.producer_watermarks (
    raw_table text primary key,
    xid_mark xid8 not null,
    produced bigint not null default 0,
    updated_at timestamptz not null default now()
);

-- Every produce run (new rows or a replay): what it produced and where (the highest offset per partition,
-- from the delivery reports). A broker that lost its log rewinds the watermarks to the marks before the
-- first run the consumer had not fully read, and re-runs the replays it had not read.
create table if not exists realtime.produce_runs (
    run_id text primary key,
    topic text not null,
    generation integer not null,
    kind text not null check (kind in ('new', 'replay')),
    params jsonb not null default '{}'::jsonb,
    marks_before jsonb not null default '{}'::jsonb,   -- raw table → xid mark before this run
    last_offsets jsonb not null default '{}'::jsonb,   -- partition → highest offset produced
    produced bigint not null default 0,
    started_at timestamptz not null default now(),
    finished_at timestamptz
);

-- Event-time watermark per person (the latest event time seen): an event older than it minus the grace
-- period is late; it still corrects its windows and is counted in batch_log.late_events.
create table if not exists realtime.event_watermarks (
    person_id text primary key,
    max_event_time timestamptz not null,
    updated_at timestamptz not null default now()
);

-- Messages the consumer could not use: never dropped silently.
create table if not exists realtime.dead_letters (
    id bigint generated always as identity primary key,
    topic text not null,
    partition integer not null,
    "offset" bigint not null,
    message_key text,
    reason text not null,
    raw_value text,
    batch_id bigint,
    dead_at timestamptz not null default now(),
    unique (topic, partition, "offset")
);

-- One row per committed micro-batch.
create table if not exists realtime.batch_log (
    batch_id bigint generated always as identity primary key,
    group_id text not null,
    consumer text not null,
    topic text not null,
    generation integer not null,
    started_at timestamptz not null,
    committed_at timestamptz not null default clock_timestamp(),
    messages integer not null,             -- polled in this batch
    skipped integer not null,              -- already applied by an earlier batch (offset below the stored one)
    events integer not null,
    resets integer not null,
    dead_letters integer not null,
    ignored integer not null,              -- valid events of streams without a metric
    late_events integer not null,          -- older than the person's event-time watermark minus the grace
    changed_events integer not null,       -- rows of realtime.events inserted, updated or deleted
    windows_changed integer not null,
    offsets jsonb not null,                -- partition → [first, last] offset applied
    lag_messages bigint,                   -- end offset − next offset (Tansu reports end offsets low: a hint)
    freshness_p50_ms double precision,     -- produce (message timestamp) → committed, over the batch
    freshness_max_ms double precision,
    event_age_max_ms double precision      -- newest event time → committed
);
create index if not exists batch_log_committed_idx on realtime.batch_log (committed_at);

-- Dashboards read the aggregates, "today so far" and the batch log (freshness) as the analyst; the events,
-- offsets and dead letters (raw values) stay with the loader.
grant usage on schema realtime to analyst;
grant select on realtime.aggregates, realtime.today, realtime.batch_log to analyst;
