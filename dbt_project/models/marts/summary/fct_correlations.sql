{{ config(indexes=[{'columns': ['person_id', 'pair', 'window_end']}]) }}

-- Pearson r with its n for documented pairs of daily measures: over a trailing 28-day window ending on each
-- date, and over all time. Only windows with at least 10 complete pairs are kept. Pairs in the yml.
with

daily as (

    select * from {{ ref('fct_daily_summary') }}

),

observations as (

    -- one row per person, pair and outcome date (y); x is on the same date or the one before. The daily
    -- spine has every date, so lag() is the previous calendar day.
    select
        person_id,
        local_date,
        'sleep_minutes__commits' as pair,
        'asleep_minutes' as x_metric,
        'commits' as y_metric,
        0 as x_lag_days,
        asleep_minutes::float as x,
        commits::float as y
    from daily

    union all

    select
        person_id,
        local_date,
        'steps__temperature_max' as pair,
        'steps' as x_metric,
        'temperature_max_c' as y_metric,
        0 as x_lag_days,
        steps::float as x,
        temperature_max_c::float as y
    from daily

    union all

    select
        person_id,
        local_date,
        'bedtime_screen__sleep_efficiency' as pair,
        'bedtime_screen_minutes' as x_metric,
        'sleep_efficiency_pct' as y_metric,
        1 as x_lag_days,
        (lag(bedtime_screen_minutes) over (partition by person_id order by local_date))::float as x,
        sleep_efficiency_pct::float as y
    from daily

    union all

    select
        person_id,
        local_date,
        'active_minutes__resting_bpm' as pair,
        'active_minutes' as x_metric,
        'resting_bpm' as y_metric,
        1 as x_lag_days,
        (lag(active_minutes) over (partition by person_id order by local_date))::float as x,
        resting_bpm::float as y
    from daily

    union all

    select
        person_id,
        local_date,
        'bedtime_screen__commits' as pair,
        'bedtime_screen_minutes' as x_metric,
        'commits' as y_metric,
        1 as x_lag_days,
        (lag(bedtime_screen_minutes) over (partition by person_id order by local_date))::float as x,
        commits::float as y
    from daily

    union all

    select
        person_id,
        local_date,
        'music_minutes__focus_minutes' as pair,
        'music_minutes' as x_metric,
        'focus_minutes' as y_metric,
        0 as x_lag_days,
        music_minutes::float as x,
        focus_minutes::float as y
    from daily

),

rolling as (

    select
        person_id,
        pair,
        x_metric,
        y_metric,
        x_lag_days,
        'rolling_28d' as window_kind,
        local_date - 27 as window_start,
        local_date as window_end,
        regr_count(y, x) over last_28_days as n,
        corr(y, x) over last_28_days as r
    from observations
    window last_28_days as (
        partition by person_id, pair order by local_date range between interval '27 days' preceding and current row
    )

),

all_time as (

    select
        person_id,
        pair,
        min(x_metric) as x_metric,
        min(y_metric) as y_metric,
        min(x_lag_days) as x_lag_days,
        'all_time' as window_kind,
        min(local_date) filter (where x is not null and y is not null) as window_start,
        max(local_date) filter (where x is not null and y is not null) as window_end,
        regr_count(y, x) as n,
        corr(y, x) as r
    from observations
    group by person_id, pair

),

windows as (

    select * from rolling
    union all
    select * from all_time

)

select
    person_id,
    pair,
    x_metric,
    y_metric,
    x_lag_days,
    window_kind,
    window_start,
    window_end,
    n::integer as n,
    round(r::numeric, 3) as pearson_r
from windows
where n >= 10
