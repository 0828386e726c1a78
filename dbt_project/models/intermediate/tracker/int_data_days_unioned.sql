-- One row per person, source family and local date that holds data, from the silver models each family's
-- gold reads (so a day counts as collected exactly when gold can use it):
--   heart_rate  intraday minutes (int_heart_rate_samples_aggregated_to_minutes): rows = samples
--   activity    daily steps (stg_fitbit__steps_daily): rows = daily totals (one per data source)
--   sleep       sleep sessions by wake date (stg_fitbit__sleep_sessions)
--   weather     hourly observations by the location's local date (stg_open_meteo__hourly)
--   github      events (int_github_events_unioned)
--   music       plays: Last.fm and Spotify (int_plays_deduplicated)
--   watching    sessions: Trakt, Netflix and YouTube (int_watches_unioned)
with

heart_rate as (

    select
        person_id,
        'heart_rate' as source_family,
        local_date,
        sum(samples) as data_rows,
        count(*) as minutes_with_samples,
        min(minute_at) as first_sample_at,
        max(minute_at) + interval '1 minute' as last_sample_until
    from {{ ref('int_heart_rate_samples_aggregated_to_minutes') }}
    group by person_id, local_date

),

activity as (

    select
        person_id,
        'activity' as source_family,
        local_date,
        count(*) as data_rows,
        null::bigint as minutes_with_samples,
        null::timestamptz as first_sample_at,
        null::timestamptz as last_sample_until
    from {{ ref('stg_fitbit__steps_daily') }}
    where local_date is not null
    group by person_id, local_date

),

sleep as (

    select
        person_id,
        'sleep' as source_family,
        wake_date as local_date,
        count(*) as data_rows,
        null::bigint as minutes_with_samples,
        null::timestamptz as first_sample_at,
        null::timestamptz as last_sample_until
    from {{ ref('stg_fitbit__sleep_sessions') }}
    where wake_date is not null
    group by person_id, wake_date

),

weather as (

    select
        person_id,
        'weather' as source_family,
        local_date,
        count(*) as data_rows,
        null::bigint as minutes_with_samples,
        null::timestamptz as first_sample_at,
        null::timestamptz as last_sample_until
    from {{ ref('stg_open_meteo__hourly') }}
    where local_date is not null
    group by person_id, local_date

),

github as (

    select
        person_id,
        'github' as source_family,
        local_date,
        count(*) as data_rows,
        null::bigint as minutes_with_samples,
        null::timestamptz as first_sample_at,
        null::timestamptz as last_sample_until
    from {{ ref('int_github_events_unioned') }}
    where local_date is not null
    group by person_id, local_date

),

music as (

    select
        person_id,
        'music' as source_family,
        local_date,
        count(*) as data_rows,
        null::bigint as minutes_with_samples,
        null::timestamptz as first_sample_at,
        null::timestamptz as last_sample_until
    from {{ ref('int_plays_deduplicated') }}
    where local_date is not null
    group by person_id, local_date

),

watching as (

    select
        person_id,
        'watching' as source_family,
        local_date,
        count(*) as data_rows,
        null::bigint as minutes_with_samples,
        null::timestamptz as first_sample_at,
        null::timestamptz as last_sample_until
    from {{ ref('int_watches_unioned') }}
    where local_date is not null
    group by person_id, local_date

),

unioned as (

    select * from heart_rate
    union all
    select * from activity
    union all
    select * from sleep
    union all
    select * from weather
    union all
    select * from github
    union all
    select * from music
    union all
    select * from watching

)

select * from unioned
