-- Every listening play from every audio source, one row per play: Spotify (exact ms_played) and Last.fm
-- scrobbles (no duration in the API: estimated, see the yml), without the Last.fm scrobbles that repeat a
-- Spotify play (Spotify wins: it knows how long the play lasted).
with

spotify as (

    select * from {{ ref('stg_spotify__streams') }}

),

scrobbles as (

    select * from {{ ref('stg_lastfm__scrobbles') }}

),

people as (

    select * from {{ ref('stg_tracker__people') }}

),

spotify_plays as (

    select
        person_id,
        'spotify' as service,
        case content_type when 'track' then 'music' when 'episode' then 'podcast' else content_type end
            as content_type,
        item_key,
        coalesce(track_name, episode_name, audiobook_chapter_title) as title,
        coalesce(artist_name, show_name, audiobook_title) as creator,
        started_at,
        ended_at,
        started_at_local,
        local_date,
        seconds_played,
        coalesce(is_skipped, false) as is_skipped,
        false as is_duration_estimated
    from spotify

),

scrobble_gaps as (

    -- Last.fm stamps a scrobble with the time the track started; the next scrobble bounds how long it ran
    select
        scrobbles.*,
        people.timezone,
        extract(
            epoch from lead(scrobbles.played_at) over (
                partition by scrobbles.person_id order by scrobbles.played_at
            ) - scrobbles.played_at
        ) as seconds_to_next
    from scrobbles
    left join people on scrobbles.person_id = people.person_id

),

lastfm_plays as (

    select
        person_id,
        'lastfm' as service,
        'music' as content_type,
        coalesce(track_mbid, lower(artist_name) || ' - ' || lower(track_name)) as item_key,
        track_name as title,
        artist_name as creator,
        played_at as started_at,
        -- duration rule: the gap to the next scrobble when it is at most 10 minutes (continuous
        -- listening), else the default of 3.5 minutes (the last track of a session)
        case
            when seconds_to_next <= 600 then seconds_to_next
            else 210
        end::numeric as seconds_played,
        played_at at time zone timezone as started_at_local,
        (played_at at time zone timezone)::date as local_date,
        false as is_skipped,
        true as is_duration_estimated
    from scrobble_gaps as s
    where not exists (
        -- duplicate rule: a Spotify music play of the same artist and track (case-insensitive) whose
        -- start-to-end span, widened by 5 minutes on either side, contains the scrobble time
        select 1
        from spotify
        where
            spotify.person_id = s.person_id
            and spotify.content_type = 'track'
            and lower(spotify.artist_name) = lower(s.artist_name)
            and lower(spotify.track_name) = lower(s.track_name)
            and s.played_at between spotify.started_at - interval '5 minutes'
            and spotify.ended_at + interval '5 minutes'
    )

),

plays as (

    select
        person_id,
        service,
        content_type,
        item_key,
        title,
        creator,
        started_at,
        ended_at,
        started_at_local,
        local_date,
        round(seconds_played, 3) as seconds_played,
        is_skipped,
        is_duration_estimated
    from spotify_plays

    union all

    select
        person_id,
        service,
        content_type,
        item_key,
        title,
        creator,
        started_at,
        started_at + make_interval(secs => seconds_played) as ended_at,
        started_at_local,
        local_date,
        round(seconds_played, 3) as seconds_played,
        is_skipped,
        is_duration_estimated
    from lastfm_plays

)

select * from plays
