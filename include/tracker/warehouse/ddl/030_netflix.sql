-- Media consumption from export files (`tracker import netflix|spotify|youtube`), UTC instants.
-- No window: imports merge on the natural key, so re-importing a file or an overlapping export changes
-- nothing that is already there. person_timezone is the person's configured zone at import time (staging
-- derives local times from it). record holds the original row; source_file the file it last came from.

-- Netflix GDPR export ViewingActivity.csv: one row per playback session of a profile.
create table if not exists raw.netflix__viewing_activity (
    person_id text not null,
    profile_name text not null,
    started_at timestamptz not null,       -- `Start Time` (UTC in the export)
    title text not null,                   -- as exported, e.g. `Show: Season 1: Episode (Episode 1)`
    duration_seconds integer not null,     -- time watched in this session, not the runtime
    show_title text,                       -- show / season / episode: only when the title follows
    season_label text,                     -- the `Show: Season N: Episode` convention
    season_number integer,
    episode_title text,
    episode_number integer,
    is_supplemental boolean not null,      -- trailer, hook, recap…: kept, but not watching time
    supplemental_video_type text,
    attributes text,
    device_type text,
    bookmark_seconds integer,
    latest_bookmark_seconds integer,       -- null when `Not latest view`
    is_latest_view boolean not null,
    country text,
    person_timezone text not null,
    record jsonb not null,
    source_file text not null,
    _run_id text not null,
    _loaded_at timestamptz not null default now(),
    primary key (person_id, profile_name, started_at, title)
);
create index if not exists netflix__viewing_activity_person_time_idx
    on raw.netflix__viewing_activity (person_id, started_at);
