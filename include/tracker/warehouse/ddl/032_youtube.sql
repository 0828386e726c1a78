-- Media consumption from export files (`tracker import netflix|spotify|youtube`), UTC instants.
-- No window: imports merge on the natural key, so re-importing a file or an overlapping export changes
-- nothing that is already there. person_timezone is the person's configured zone at import time (staging
-- derives local times from it). record holds the original row; source_file the file it last came from.

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
