-- Every watching session from every video source, one row per session. Netflix promos (trailers, hooks)
-- and YouTube ads are excluded here; the raw tables keep them. YouTube durations and missing Trakt runtimes
-- are estimates (rules in the yml); Trakt entries that repeat a Netflix session are dropped (Netflix wins).
with

netflix as (

    select * from {{ ref('stg_netflix__viewing_activity') }}
    where not is_supplemental

),

youtube as (

    select * from {{ ref('stg_youtube__watch_history') }}
    where not is_ad

),

trakt as (

    select * from {{ ref('stg_trakt__history') }}

),

people as (

    select * from {{ ref('stg_tracker__people') }}

),

youtube_gaps as (

    select
        *,
        extract(
            epoch from lead(watched_at) over (partition by person_id order by watched_at) - watched_at
        ) as seconds_to_next
    from youtube

),

trakt_spans as (

    -- Trakt's watched_at is when the item was finished; it started one runtime earlier. Runtime: the
    -- item's own, else 45 minutes for an episode and 110 for a movie
    select
        trakt.*,
        people.timezone,
        trakt.watched_at - make_interval(
            mins => coalesce(
                nullif(trakt.runtime_minutes, 0),
                case trakt.media_type when 'movie' then 110 else 45 end
            )
        ) as started_at,
        trakt.runtime_minutes is null or trakt.runtime_minutes = 0 as is_duration_estimated
    from trakt
    left join people on trakt.person_id = people.person_id

),

trakt_kept as (

    select *
    from trakt_spans as t
    where not exists (
        -- duplicate rule: a Netflix session of the same show (episodes; same season and episode when
        -- both know them) or title (movies), case-insensitive, overlapping the Trakt span widened by
        -- 10 minutes on either side
        select 1
        from netflix as n
        where
            n.person_id = t.person_id
            and lower(coalesce(n.show_title, n.title)) = lower(coalesce(t.show_title, t.title))
            and (
                n.episode_number is null
                or t.episode_number is null
                or (n.season_number = t.season_number and n.episode_number = t.episode_number)
            )
            and n.started_at <= t.watched_at + interval '10 minutes'
            and n.ended_at >= t.started_at - interval '10 minutes'
    )

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
        duration_seconds::numeric as seconds_watched,
        false as is_duration_estimated
    from netflix

    union all

    select
        person_id,
        youtube_gaps.service,
        coalesce(channel_name, 'unknown channel') as show_title,
        coalesce(video_title, exported_title) as title,
        false as is_episode,
        watched_at as started_at,
        -- the export has no watch duration: the gap to the next video when it is at most 30 minutes,
        -- else a default of 10 minutes
        watched_at + make_interval(secs => case when seconds_to_next <= 1800 then seconds_to_next else 600 end)
            as ended_at,
        watched_at_local as started_at_local,
        local_date,
        (case when seconds_to_next <= 1800 then seconds_to_next else 600 end)::numeric as seconds_watched,
        true as is_duration_estimated
    from youtube_gaps

    union all

    select
        person_id,
        'trakt' as service,
        coalesce(show_title, title) as show_title,
        case
            when media_type = 'episode'
                then
                    show_title || ': Season ' || season_number || ': '
                    || coalesce(title, 'Episode ' || episode_number) || ' (Episode ' || episode_number || ')'
            else title
        end as title,
        media_type = 'episode' as is_episode,
        started_at,
        watched_at as ended_at,
        started_at at time zone timezone as started_at_local,
        (started_at at time zone timezone)::date as local_date,
        extract(epoch from watched_at - started_at) as seconds_watched,
        is_duration_estimated
    from trakt_kept

)

select
    person_id,
    service,
    show_title,
    title,
    is_episode,
    started_at,
    ended_at,
    started_at_local,
    local_date,
    round(seconds_watched, 3) as seconds_watched,
    is_duration_estimated
from sessions
