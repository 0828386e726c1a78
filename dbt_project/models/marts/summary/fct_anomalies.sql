{{ config(indexes=[{'columns': ['person_id', 'local_date']}]) }}

-- Unusual days: a metric outside mean ± 2σ of its own trailing 28 days (the day itself excluded, at least
-- 14 of those days with a value), and days on which a source delivered nothing. Rules in the yml.
with

daily as (

    select * from {{ ref('fct_daily_summary') }}

),

metric_values as (

    select
        daily.person_id,
        daily.local_date,
        m.source,
        m.metric,
        m.metric_value
    from daily
    cross join lateral (
        values
        ('github', 'commits', daily.commits::float),
        ('github', 'focus_minutes', daily.focus_minutes::float),
        ('github', 'productivity_score', daily.productivity_score::float),
        ('consumption', 'listened_minutes', daily.listened_minutes::float),
        ('consumption', 'watched_minutes', daily.watched_minutes::float),
        ('consumption', 'late_night_screen_minutes', daily.late_night_screen_minutes::float),
        ('health', 'steps', daily.steps::float),
        ('health', 'active_minutes', daily.active_minutes::float),
        ('health', 'asleep_minutes', daily.asleep_minutes::float),
        ('health', 'sleep_efficiency_pct', daily.sleep_efficiency_pct::float),
        ('health', 'resting_bpm', daily.resting_bpm::float),
        ('health', 'hrv_rmssd_ms', daily.hrv_rmssd_ms::float),
        ('weather', 'temperature_mean_c', daily.temperature_mean_c::float),
        ('weather', 'precipitation_sum_mm', daily.precipitation_sum_mm::float)
    ) as m (source, metric, metric_value)

),

trailing_stats as (

    select
        *,
        avg(metric_value) over previous_28_days as trailing_mean,
        stddev_samp(metric_value) over previous_28_days as trailing_stddev,
        count(metric_value) over previous_28_days as trailing_n
    from metric_values
    window previous_28_days as (
        partition by person_id, metric order by local_date
        range between interval '28 days' preceding and interval '1 day' preceding
    )

),

outliers as (

    select
        person_id,
        local_date,
        case when metric_value > trailing_mean then 'high' else 'low' end as anomaly_type,
        source,
        metric,
        metric_value,
        trailing_mean,
        trailing_stddev,
        trailing_n,
        (metric_value - trailing_mean) / trailing_stddev as z_score
    from trailing_stats
    where
        metric_value is not null
        and trailing_n >= 14
        and trailing_stddev > 0
        and abs(metric_value - trailing_mean) > 2 * trailing_stddev

),

presence as (

    select
        daily.person_id,
        daily.local_date,
        s.source,
        s.has_data
    from daily
    cross join lateral (
        values
        ('github', daily.has_github_data),
        ('consumption', daily.has_consumption_data),
        ('weather', daily.has_weather_data),
        ('health', daily.has_health_data)
    ) as s (source, has_data)

),

source_start as (

    select
        person_id,
        source,
        min(local_date) filter (where has_data) as first_date
    from presence
    group by person_id, source

),

missing as (

    -- from a source's first date on (to the last date of any source), a date without any row from it
    select
        presence.person_id,
        presence.local_date,
        'missing_data' as anomaly_type,
        presence.source,
        presence.source as metric,
        null::float as metric_value,
        null::float as trailing_mean,
        null::float as trailing_stddev,
        null::bigint as trailing_n,
        null::float as z_score
    from presence
    inner join source_start
        on presence.person_id = source_start.person_id and presence.source = source_start.source
    where not presence.has_data and presence.local_date > source_start.first_date

)

select
    person_id,
    local_date,
    anomaly_type,
    source,
    metric,
    round(metric_value::numeric, 2) as metric_value,
    round(trailing_mean::numeric, 2) as trailing_mean,
    round(trailing_stddev::numeric, 2) as trailing_stddev,
    trailing_n::integer as trailing_n,
    round(z_score::numeric, 2) as z_score
from outliers

union all

select
    person_id,
    local_date,
    anomaly_type,
    source,
    metric,
    metric_value::numeric,
    trailing_mean::numeric,
    trailing_stddev::numeric,
    trailing_n::integer,
    z_score::numeric
from missing
