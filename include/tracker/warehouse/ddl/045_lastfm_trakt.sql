-- Listening (Last.fm scrobbles) and watching (Trakt history), UTC instants. Loads are keyed merges bounded
-- by the run's window on the time column; record holds the original API item.

-- Last.fm `user.getRecentTracks`: one row per finished play (the now-playing item is never stored).
-- The primary key (person_id, played_at, …) is also the person-and-time index.
create table if not exists raw.lastfm__scrobbles (
    person_id text not null,
    played_at timestamptz not null,        -- the scrobble time (Last.fm: when the play was submitted)
    artist text not null,
    track text not null,
    album text,
    artist_mbid text,                      -- MusicBrainz ids; null when Last.fm does not know them
    track_mbid text,
    album_mbid text,
    url text,
    loved boolean,                         -- only with extended=1
    lastfm_user text not null,
    record jsonb not null,
    _run_id text not null,
    _loaded_at timestamptz not null default now(),
    primary key (person_id, played_at, artist, track)
);

-- Trakt `GET /sync/history` (extended=full): one row per history entry (a movie or an episode watched).
create table if not exists raw.trakt__history (
    person_id text not null,
    history_id bigint not null,            -- unique per watch
    watched_at timestamptz not null,       -- window column
    action text not null,                  -- scrobble | checkin | watch
    media_type text not null,              -- movie | episode
    title text,                            -- the movie's or the episode's title
    year integer,                          -- an episode's year is its show's
    show_title text,
    season integer,
    episode integer,
    runtime_minutes integer,               -- the item's runtime, not time actually watched
    trakt_id bigint,
    slug text,
    imdb_id text,
    tmdb_id bigint,
    show_trakt_id bigint,
    record jsonb not null,
    _run_id text not null,
    _loaded_at timestamptz not null default now(),
    primary key (person_id, history_id)
);
create index if not exists trakt__history_person_time_idx on raw.trakt__history (person_id, watched_at);
