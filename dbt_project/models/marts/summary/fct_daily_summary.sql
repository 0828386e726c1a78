{{ config(indexes=[{'columns': ['person_id', 'local_date'], 'unique': true}]) }}

-- One row per person and local date, from the person's first to last date with data from any source:
-- productivity, consumption, weather (the person's first configured location) and health. Rules in the yml.
with

productivity as (

    select * from {{ ref('fct_productivity_daily') }}

),

consumption as (

    select * from {{ ref('fct_consumption_daily') }}

),

weather as (

    select * from {{ ref('fct_weather_daily') }}

),

people as (

    select * from {{ ref('stg_tracker__people') }}

),

activity as (

    select * from {{ ref('fct_activity_daily') }}

),

sleep as (

    select * from {{ ref('fct_sleep_daily') }}

),

resting as (

    select * from {{ ref('fct_resting_heart_rate_daily') }}

),

worn as (

    select * from {{ ref('fct_watch_worn_daily') }}

),

watching as (

    select * from {{ ref('int_watches_unioned') }}

),

bedtime_screen as (

    -- screen time of the night that begins on a date: sessions starting 23:00–04:00 local, a session after
    -- midnight belonging to the previous date's night (unlike late_night_screen_minutes, which dates a
    -- session by its own start)
    select
        person_id,
        (started_at_local - interval '4 hours')::date as night_of,
        round(sum(seconds_watched) / 60.0, 1) as bedtime_screen_minutes
    from watching
    where extract(hour from started_at_local) >= 23 or extract(hour from started_at_local) < 4
    group by person_id, (started_at_local - interval '4 hours')::date

),

ranked_weather as (

    -- the person's first configured location (else the first by name) stands for the day's weather
    select
        weather.*,
        row_number() over (
            partition by weather.person_id, weather.local_date
            order by
                weather.location_name is not distinct from (people.config -> 'locations' -> 0 ->> 'name') desc,
                weather.location_name asc
        ) as location_rank
    from weather
    left join people on weather.person_id = people.person_id

),

home_weather as (

    select * from ranked_weather
    where location_rank = 1

),

dated as (

    select
        person_id,
        local_date
    from productivity
    union all
    select
        person_id,
        local_date
    from consumption
    union all
    select
        person_id,
        local_date
    from home_weather
    union all
    select
        person_id,
        local_date
    from activity
    union all
    select
        person_id,
        wake_date as local_date
    from sleep
    union all
    select
        person_id,
        local_date
    from resting
    union all
    select
        person_id,
        local_date
    from worn

),

bounds as (

    select
        person_id,
        min(local_date) as first_date,
        max(local_date) as last_date
    from dated
    group by person_id

),

spine as (

    select
        bounds.person_id,
        spine_day::date as local_date
    from bounds
    cross join lateral generate_series(bounds.first_date, bounds.last_date, interval '1 day') as spine_day

),

consumption_span as (

    -- inside the span of a person's consumption data a day without plays is a zero day, outside it unknown
    select
        person_id,
        min(local_date) as first_date,
        max(local_date) as last_date
    from consumption
    group by person_id

)

select
    spine.person_id,
    spine.local_date,
    extract(isoyear from spine.local_date)::integer as iso_year,
    extract(week from spine.local_date)::integer as iso_week,
    extract(isodow from spine.local_date)::integer as iso_day_of_week,
    extract(isodow from spine.local_date) in (6, 7) as is_weekend,

    -- productivity (GitHub)
    p.commits,
    p.lines_added,
    p.lines_deleted,
    p.prs_opened,
    p.prs_merged,
    p.reviews,
    p.issues_opened,
    p.active_coding_hours,
    p.focus_blocks,
    p.focus_minutes,
    p.productivity_score,

    -- consumption
    case when cs.person_id is not null then coalesce(c.music_minutes, 0) end as music_minutes,
    case when cs.person_id is not null then coalesce(c.podcast_minutes, 0) end as podcast_minutes,
    case
        when cs.person_id is not null
            then coalesce(c.music_minutes + c.podcast_minutes + c.audiobook_minutes, 0)
    end as listened_minutes,
    case when cs.person_id is not null then coalesce(c.watched_minutes, 0) end as watched_minutes,
    case when cs.person_id is not null then coalesce(c.netflix_minutes, 0) end as netflix_minutes,
    case when cs.person_id is not null then coalesce(c.youtube_minutes, 0) end as youtube_minutes,
    case when cs.person_id is not null then coalesce(c.trakt_minutes, 0) end as trakt_minutes,
    case when cs.person_id is not null then coalesce(c.late_night_screen_minutes, 0) end
        as late_night_screen_minutes,
    case when cs.person_id is not null then coalesce(c.binge_sessions, 0) end as binge_sessions,
    case when cs.person_id is not null then coalesce(bs.bedtime_screen_minutes, 0) end as bedtime_screen_minutes,

    -- weather
    w.location_name as weather_location,
    w.temperature_min_c,
    w.temperature_max_c,
    w.temperature_mean_c,
    w.precipitation_sum_mm,
    w.sunshine_hours,

    -- health (null until health data exists)
    a.steps,
    a.active_minutes,
    r.resting_bpm,
    s.asleep_minutes,
    s.in_bed_minutes,
    s.efficiency_pct as sleep_efficiency_pct,
    s.nap_minutes,
    a.hrv_rmssd_ms,
    a.spo2_avg_pct,
    a.respiratory_rate_bpm,
    wo.worn_minutes,
    wo.worn_share,

    -- which sources delivered a row for the date
    p.person_id is not null as has_github_data,
    c.person_id is not null as has_consumption_data,
    w.person_id is not null as has_weather_data,
    coalesce(a.person_id, s.person_id, r.person_id, wo.person_id) is not null as has_health_data
from spine
left join productivity as p on spine.person_id = p.person_id and spine.local_date = p.local_date
left join consumption as c on spine.person_id = c.person_id and spine.local_date = c.local_date
left join consumption_span as cs
    on spine.person_id = cs.person_id and spine.local_date between cs.first_date and cs.last_date
left join bedtime_screen as bs on spine.person_id = bs.person_id and spine.local_date = bs.night_of
left join home_weather as w on spine.person_id = w.person_id and spine.local_date = w.local_date
left join activity as a on spine.person_id = a.person_id and spine.local_date = a.local_date
left join sleep as s on spine.person_id = s.person_id and spine.local_date = s.wake_date
left join resting as r on spine.person_id = r.person_id and spine.local_date = r.local_date
left join worn as wo on spine.person_id = wo.person_id and spine.local_date = wo.local_date
