-- Media consumption from export files (`tracker import netflix|spotify|youtube`), UTC instants.
-- No window: imports merge on the natural key, so re-importing a file or an overlapping export changes
-- nothing that is already there. person_timezone is the person's configured zone at import time (staging
-- derives local times from it). record holds the original row; source_file the file it last came from.

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
