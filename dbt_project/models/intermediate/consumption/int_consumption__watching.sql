-- Every watching session from every video source, one row per session. Netflix promos (trailers, hooks)
-- and YouTube ads are excluded here; the raw tables keep them.
with

netflix as (

    select * from {{ ref('stg_netflix__viewing_activity') }}
    where not is_supplemental

),

youtube as (

    select * from {{ ref('stg_youtube__watch_history') }}
    where not is_ad

),

sessions as (

    select
        person_id,
        'netflix' as service,
        coalesce(show_title, title) as show_title,
        title,
        show_title is not null as is_episode,
        started_at,
        ended_at,
        started_at_local,
        local_date,
        duration_seconds::numeric as seconds_watched
    from netflix

    union all

    select
        person_id,
        youtube.service,
        coalesce(channel_name, 'unknown channel') as show_title,
        coalesce(video_title, exported_title) as title,
        false as is_episode,
        watched_at as started_at,
        -- the YouTube export has no watch duration: the session is a point in time
        watched_at as ended_at,
        watched_at_local as started_at_local,
        local_date,
        null::numeric as seconds_watched
    from youtube

)

select * from sessions
