-- Fitbit: the full-history export (`tracker import fitbit-export`) and, later, the Google Health API.
-- `source` tells them apart ('fitbit_export' | 'google_health_api'); silver picks one per day.
-- Times: timestamptz columns are UTC instants; *_local columns keep the naive local time the export wrote.

-- Intraday heart rate: ~30 M rows a year at 1 s cadence. No B-tree and no primary key: a B-tree on
-- (person_id, observed_at) cut the COPY rate from ≈ 850 k to ≈ 300 k rows/s here, so the table has a
-- BRIN index on observed_at (rows arrive in time order, one file-day at a time; autosummarize keeps new
-- page ranges from matching every query). Loads replace one export file at a time: delete that file's
-- rows (scope person_id + source + source_file, inside the file's [D-1, D+2) UTC window) when it was
-- loaded before, then COPY — re-importing a file can never duplicate its samples.
create table if not exists raw.fitbit__heart_rate (
    person_id text not null,
    observed_at timestamptz not null,
    bpm smallint not null,
    confidence smallint,
    source text not null,
    source_file text not null,      -- export: file name (heart_rate-YYYY-MM-DD.json)
    _run_id text not null,
    _loaded_at timestamptz not null default now()
);
create index if not exists fitbit__heart_rate_observed_at_brin
    on raw.fitbit__heart_rate using brin (observed_at) with (autosummarize = on);

-- One row per heart-rate file loaded: what it held and how its times were read. An unchanged file
-- (same size and CRC-32, same reading, same zone) is skipped on re-import.
create table if not exists raw.fitbit__heart_rate_files (
    person_id text not null,
    source text not null,
    source_file text not null,
    file_day date not null,
    fingerprint text not null,      -- format version | size:crc32
    reading text not null,          -- utc | local
    reading_basis text not null,    -- option | same | span | google_csv | nearest | majority | default
    time_zone text not null,
    sample_rows integer not null,
    quarantined integer not null,
    first_at timestamptz,
    last_at timestamptz,
    _run_id text not null,
    _loaded_at timestamptz not null default now(),
    primary key (person_id, source, source_file)
);

create table if not exists raw.fitbit__resting_heart_rate (
    person_id text not null,
    date date not null,
    source text not null,
    bpm real not null,
    error real,
    source_file text not null,
    record jsonb not null,
    _run_id text not null,
    _loaded_at timestamptz not null default now(),
    primary key (person_id, date, source)
);

create table if not exists raw.fitbit__heart_rate_zones_daily (
    person_id text not null,
    date date not null,
    source text not null,
    below_zone_1_min real,
    zone_1_min real,
    zone_2_min real,
    zone_3_min real,
    source_file text not null,
    record jsonb not null,
    _run_id text not null,
    _loaded_at timestamptz not null default now(),
    primary key (person_id, date, source)
);

create table if not exists raw.fitbit__sleep_sessions (
    person_id text not null,
    source text not null,
    log_id bigint not null,
    date_of_sleep date not null,
    start_at timestamptz not null,
    end_at timestamptz not null,
    start_local timestamp not null,
    end_local timestamp not null,
    sleep_type text,                -- stages | classic
    log_type text,
    is_main_sleep boolean,
    duration_ms bigint,
    minutes_to_fall_asleep integer,
    minutes_asleep integer,
    minutes_awake integer,
    minutes_after_wakeup integer,
    time_in_bed_min integer,
    efficiency smallint,
    info_code smallint,
    source_file text not null,
    record jsonb not null,          -- the whole export record, levels included
    _run_id text not null,
    _loaded_at timestamptz not null default now(),
    primary key (person_id, source, log_id)
);
create index if not exists fitbit__sleep_sessions_person_start_idx
    on raw.fitbit__sleep_sessions (person_id, start_at);

-- levels.data (kind 'data') and levels.shortData (kind 'short') segments, in file order (seq).
create table if not exists raw.fitbit__sleep_stages (
    person_id text not null,
    source text not null,
    log_id bigint not null,
    kind text not null,
    seq integer not null,
    level text not null,            -- wake|light|deep|rem (stages), asleep|restless|awake (classic)
    start_local timestamp not null,
    started_at timestamptz not null,
    ended_at timestamptz not null,
    seconds integer not null,
    source_file text not null,
    _run_id text not null,
    _loaded_at timestamptz not null default now(),
    primary key (person_id, source, log_id, kind, seq)
);
create index if not exists fitbit__sleep_stages_person_started_idx
    on raw.fitbit__sleep_stages (person_id, started_at);

create table if not exists raw.fitbit__hrv_daily (
    person_id text not null,
    date date not null,
    source text not null,
    rmssd_ms real not null,
    nrem_hr_bpm real,
    entropy real,
    source_file text not null,
    record jsonb not null,
    _run_id text not null,
    _loaded_at timestamptz not null default now(),
    primary key (person_id, date, source)
);

create table if not exists raw.fitbit__spo2_daily (
    person_id text not null,
    date date not null,
    source text not null,
    average_pct real not null,
    lower_bound_pct real,
    upper_bound_pct real,
    source_file text not null,
    record jsonb not null,
    _run_id text not null,
    _loaded_at timestamptz not null default now(),
    primary key (person_id, date, source)
);

-- Minute SpO2 (UTC); the 50.0 invalid-reading sentinel is never loaded.
create table if not exists raw.fitbit__spo2_minute (
    person_id text not null,
    observed_at timestamptz not null,
    source text not null,
    spo2_pct real not null,
    source_file text not null,
    _run_id text not null,
    _loaded_at timestamptz not null default now(),
    primary key (person_id, observed_at, source)
);

create table if not exists raw.fitbit__sleep_scores (
    person_id text not null,
    source text not null,
    log_id bigint not null,         -- sleep_log_entry_id = raw.fitbit__sleep_sessions.log_id
    scored_at timestamptz not null,
    overall_score smallint,
    composition_score smallint,
    revitalization_score smallint,
    duration_score smallint,
    deep_sleep_min smallint,
    resting_heart_rate smallint,
    restlessness real,
    source_file text not null,
    record jsonb not null,
    _run_id text not null,
    _loaded_at timestamptz not null default now(),
    primary key (person_id, source, log_id)
);
create index if not exists fitbit__sleep_scores_person_scored_idx
    on raw.fitbit__sleep_scores (person_id, scored_at);
