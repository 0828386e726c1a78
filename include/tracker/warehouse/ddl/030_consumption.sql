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

-- Spotify Extended Streaming History: one row per play (music track, podcast episode, audiobook chapter).
-- The primary key (person_id, ended_at, …) is also the person-and-time index.
create table if not exists raw.spotify__streams (
    person_id text not null,
    ended_at timestamptz not null,         -- `ts`: the END of the play
    item_key text not null,                -- track/episode/chapter URI, else its name ('' when unknown)
    started_at timestamptz not null,       -- ended_at − ms_played
    ms_played bigint not null,
    content_type text not null,            -- track | episode | audiobook | unknown
    track_name text,
    artist_name text,
    album_name text,
    track_uri text,
    episode_name text,
    show_name text,
    episode_uri text,
    audiobook_title text,
    audiobook_uri text,
    audiobook_chapter_uri text,
    audiobook_chapter_title text,
    platform text,
    conn_country text,
    reason_start text,
    reason_end text,
    shuffle boolean,
    skipped boolean,                       -- null in older exports
    offline boolean,
    offline_at timestamptz,                -- `offline_timestamp` (epoch s, or ms in some exports)
    incognito_mode boolean,
    person_timezone text not null,
    record jsonb not null,
    source_file text not null,
    _run_id text not null,
    _loaded_at timestamptz not null default now(),
    primary key (person_id, ended_at, item_key)
);

-- YouTube Takeout watch-history.json: one row per watch (YouTube and YouTube Music; ads flagged).
-- The primary key (person_id, watched_at, …) is also the person-and-time index.
create table if not exists raw.youtube__watch_history (
    person_id text not null,
    watched_at timestamptz not null,       -- `time`
    item_key text not null,                -- titleUrl, else the title (removed videos have no URL)
    service text,                          -- youtube | youtube_music (from `header`)
    title text not null,                   -- as exported, with the localised "Watched …" wording
    video_title text,                      -- without the English "Watched " prefix; null if removed
    title_url text,
    video_id text,                         -- null for removed videos
    channel_name text,                     -- from `subtitles`; may be absent
    channel_url text,
    channel_id text,
    is_ad boolean not null,                -- `details` "From Google Ads"
    is_removed boolean not null,
    person_timezone text not null,
    record jsonb not null,
    source_file text not null,
    _run_id text not null,
    _loaded_at timestamptz not null default now(),
    primary key (person_id, watched_at, item_key)
);
