-- Fitbit activity and the Google Health API's extra daily types. Same conventions as 020_fitbit.sql:
-- `source` is 'fitbit_export' or 'google_health_api'; silver picks one source per person, local date and
-- entity (the API's, when it has any).

-- The API's zone names (LIGHT/MODERATE/VIGOROUS/PEAK) next to the export's default zones 1–3.
alter table raw.fitbit__heart_rate_zones_daily add column if not exists light_min real;
alter table raw.fitbit__heart_rate_zones_daily add column if not exists moderate_min real;
alter table raw.fitbit__heart_rate_zones_daily add column if not exists vigorous_min real;
alter table raw.fitbit__heart_rate_zones_daily add column if not exists peak_min real;

-- The device's own zone limits of a day (API daily-heart-rate-zones: Karvonen thresholds).
create table if not exists raw.fitbit__heart_rate_zone_limits (
    person_id text not null,
    date date not null,
    source text not null,
    zone text not null,             -- LIGHT | MODERATE | VIGOROUS | PEAK (open: unknown names kept)
    min_bpm smallint,
    max_bpm smallint,
    source_file text not null,
    _run_id text not null,
    _loaded_at timestamptz not null default now(),
    primary key (person_id, date, source, zone)
);

-- Export: steps per minute (steps-YYYY-MM-DD.json, ≈30-day chunks), as UTC minute starts.
create table if not exists raw.fitbit__steps_minute (
    person_id text not null,
    observed_at timestamptz not null,
    source text not null,
    steps integer not null,
    source_file text not null,
    _run_id text not null,
    _loaded_at timestamptz not null default now(),
    primary key (person_id, source, observed_at)
);

-- API: steps per local date from dailyRollUp (one request covers 90 days instead of one list per day).
create table if not exists raw.fitbit__steps_daily (
    person_id text not null,
    date date not null,
    source text not null,
    steps integer not null,
    source_file text not null,
    record jsonb not null,
    _run_id text not null,
    _loaded_at timestamptz not null default now(),
    primary key (person_id, date, source)
);

-- Workouts: export exercise-N.json (logId) and API exercise data points (name's last segment).
create table if not exists raw.fitbit__exercises (
    person_id text not null,
    source text not null,
    exercise_id text not null,
    exercise_type text not null,    -- RUNNING, WALKING, BIKING, … (open: unknown values kept as given)
    display_name text,
    start_at timestamptz not null,
    end_at timestamptz not null,
    utc_offset_s integer,           -- the person's offset at the start, when the source tells it
    active_seconds integer,
    distance_m real,
    steps integer,
    calories_kcal real,
    average_hr_bpm real,
    light_s integer,                -- seconds per device zone, when given
    moderate_s integer,
    vigorous_s integer,
    peak_s integer,
    source_file text not null,
    record jsonb not null,
    _run_id text not null,
    _loaded_at timestamptz not null default now(),
    primary key (person_id, source, exercise_id)
);
create index if not exists fitbit__exercises_person_start_idx on raw.fitbit__exercises (person_id, start_at);

create table if not exists raw.fitbit__respiratory_rate_daily (
    person_id text not null,
    date date not null,
    source text not null,
    breaths_per_minute real not null,
    source_file text not null,
    record jsonb not null,
    _run_id text not null,
    _loaded_at timestamptz not null default now(),
    primary key (person_id, date, source)
);

-- The incremental per-minute model finds what was loaded since its last run by _loaded_at: rows are appended
-- in load order, so a BRIN index answers that without scanning a year of samples.
create index if not exists fitbit__heart_rate_loaded_at_brin
    on raw.fitbit__heart_rate using brin (_loaded_at) with (autosummarize = on);
