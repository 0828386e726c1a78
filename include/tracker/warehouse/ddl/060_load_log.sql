-- The load log: one row per load of one source's entity for one person (and scope), written by
-- tracker.warehouse.loads.load_checked (API loads) and the file imports (tracker.warehouse.load_log.log_import:
-- window = the span of the rows offered, scope = the file when a table loads file by file) in the SAME
-- transaction as the rows and the quarantine it replaced — a
-- load that rolls back leaves no log row, and every rerun adds one (a log, never merged). The figures are the
-- load's `Load`; started_at is when the load began reading its rows (an API's paging included), finished_at
-- when it had written them. gold.fct_pipeline_loads_daily (the Pipeline health dashboard) reads it.
-- _run_id repeats run_id: every raw table carries the load metadata columns.
create table if not exists raw.tracker__load_log (
    run_id text not null,
    source text not null,           -- google_health, open_meteo, github, lastfm, trakt, …
    entity text not null,           -- heart_rate, hourly, commits, …
    person_id text not null,
    scope text not null default '', -- a finer scope inside the person (a location), '' for none
    window_start timestamptz not null,
    window_end timestamptz not null,
    rows integer not null,          -- rows offered to the table
    inserted integer not null,
    updated integer not null,
    deleted integer not null,
    kept integer not null,          -- rows in days the answer had nothing for: kept, not deleted
    outside integer not null,       -- offered rows outside the window: not loaded
    quarantined integer not null,
    started_at timestamptz not null,
    finished_at timestamptz not null,
    _run_id text not null,
    _loaded_at timestamptz not null default now(),
    primary key (run_id, source, entity, person_id, scope, started_at)
);
create index if not exists tracker__load_log_person_finished on raw.tracker__load_log (person_id, finished_at);
