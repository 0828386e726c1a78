{{ config(indexes=[{'columns': ['person_id', 'local_date']}]) }}

with

listening as (

    select * from {{ ref('int_plays_deduplicated') }}

),

watching as (

    select * from {{ ref('int_watches_unioned') }}

),

episodes as (

    -- binge rule: episodes of one show where each starts at most 30 minutes after the previous ended
    select
        *,
        case
            when
                lag(ended_at) over (partition by person_id, service, show_title order by started_at)
                >= started_at - interval '30 minutes'
                then 0
            else 1
        end as starts_run
    from watching
    where is_episode

),

runs as (

    select
        *,
        sum(starts_run) over (
            partition by person_id, service, show_title order by started_at
            rows between unbounded preceding and current row
        ) as run_id
    from episodes

),

binges as (

    -- a binge session is a run of 3 or more distinct episodes, dated by its first episode's local date
    select
        person_id,
        min(local_date) as local_date
    from runs
    group by person_id, service, show_title, run_id
    having count(distinct title) >= 3

),

listening_daily as (

    select
        person_id,
        local_date,
        round(coalesce(sum(seconds_played) filter (where content_type = 'music'), 0) / 60.0, 1)
            as music_minutes,
        round(coalesce(sum(seconds_played) filter (where content_type = 'podcast'), 0) / 60.0, 1)
            as podcast_minutes,
        round(coalesce(sum(seconds_played) filter (where content_type = 'audiobook'), 0) / 60.0, 1)
            as audiobook_minutes,
        round(coalesce(sum(seconds_played) filter (where service = 'spotify'), 0) / 60.0, 1)
            as spotify_minutes,
        round(coalesce(sum(seconds_played) filter (where service = 'lastfm'), 0) / 60.0, 1)
            as lastfm_minutes,
        count(*) as plays,
        count(distinct title) as distinct_tracks
    from listening
    group by person_id, local_date

),

watching_daily as (

    select
        person_id,
        local_date,
        round(coalesce(sum(seconds_watched) filter (where service = 'netflix'), 0) / 60.0, 1)
            as netflix_minutes,
        round(
            coalesce(sum(seconds_watched) filter (where service in ('youtube', 'youtube_music')), 0) / 60.0, 1
        ) as youtube_minutes,
        round(coalesce(sum(seconds_watched) filter (where service = 'trakt'), 0) / 60.0, 1)
            as trakt_minutes,
        round(coalesce(sum(seconds_watched), 0) / 60.0, 1) as watched_minutes,
        count(*) filter (where service in ('youtube', 'youtube_music')) as youtube_videos,
        count(distinct title) as distinct_titles_watched,
        -- late night: sessions starting between 23:00 and 04:00 local time, counted whole
        round(
            coalesce(
                sum(seconds_watched) filter (
                    where extract(hour from started_at_local) >= 23 or extract(hour from started_at_local) < 4
                ),
                0
            ) / 60.0,
            1
        ) as late_night_screen_minutes
    from watching
    group by person_id, local_date

),

binge_daily as (

    select
        person_id,
        local_date,
        count(*) as binge_sessions
    from binges
    group by person_id, local_date

),

days as (

    select
        person_id,
        local_date
    from listening_daily
    union
    select
        person_id,
        local_date
    from watching_daily

)

select
    days.person_id,
    days.local_date,
    coalesce(l.music_minutes, 0) as music_minutes,
    coalesce(l.podcast_minutes, 0) as podcast_minutes,
    coalesce(l.audiobook_minutes, 0) as audiobook_minutes,
    coalesce(l.spotify_minutes, 0) as spotify_minutes,
    coalesce(l.lastfm_minutes, 0) as lastfm_minutes,
    coalesce(l.plays, 0) as plays,
    coalesce(l.distinct_tracks, 0) as distinct_tracks,
    coalesce(w.netflix_minutes, 0) as netflix_minutes,
    coalesce(w.youtube_minutes, 0) as youtube_minutes,
    coalesce(w.trakt_minutes, 0) as trakt_minutes,
    coalesce(w.watched_minutes, 0) as watched_minutes,
    coalesce(w.youtube_videos, 0) as youtube_videos,
    coalesce(w.distinct_titles_watched, 0) as distinct_titles_watched,
    coalesce(b.binge_sessions, 0) as binge_sessions,
    coalesce(w.late_night_screen_minutes, 0) as late_night_screen_minutes
from days
left join listening_daily as l on days.person_id = l.person_id and days.local_date = l.local_date
left join watching_daily as w on days.person_id = w.person_id and days.local_date = w.local_date
left join binge_daily as b on days.person_id = b.person_id and days.local_date = b.local_date
