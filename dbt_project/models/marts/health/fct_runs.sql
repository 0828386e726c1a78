{{ config(indexes=[{'columns': ['person_id', 'start_at']}]) }}

-- One row per run (exercise type RUNNING) from the preferred source of its local date. Pace and distance
-- from the device's summary; average heart rate from the device, else from intraday samples; minutes per
-- personal (Karvonen) zone from the intraday minutes inside the run, with that day's zone floors
-- (fct_heart_rate_zones_daily).
with

people as (

    select * from {{ ref('stg_tracker__people') }}

),

runs as (

    select
        exercises.*,
        {{ local_date('exercises.start_at', 'people.timezone') }} as local_date,
        exercises.start_at at time zone people.timezone as start_local
    from {{ ref('stg_fitbit__exercises') }} as exercises
    inner join people on exercises.person_id = people.person_id
    where exercises.exercise_type = 'RUNNING'

),

kept as (

    select runs.*
    from runs
    {{ join_preferred_source('runs', 'exercise', 'runs.local_date') }}

),

zones as (

    select * from {{ ref('fct_heart_rate_zones_daily') }}

),

intraday as (

    select
        kept.person_id,
        kept.exercise_id,
        kept.data_source,
        sum(minutes.bpm_mean * minutes.covered_seconds) / nullif(sum(minutes.covered_seconds), 0)
            as computed_average_hr_bpm,
        sum(minutes.covered_seconds) filter (
            where minutes.bpm_mean >= zones.light_from_bpm and minutes.bpm_mean < zones.moderate_from_bpm
        ) / 60.0 as light_minutes,
        sum(minutes.covered_seconds) filter (
            where minutes.bpm_mean >= zones.moderate_from_bpm and minutes.bpm_mean < zones.vigorous_from_bpm
        ) / 60.0 as moderate_minutes,
        sum(minutes.covered_seconds) filter (
            where minutes.bpm_mean >= zones.vigorous_from_bpm and minutes.bpm_mean < zones.peak_from_bpm
        ) / 60.0 as vigorous_minutes,
        sum(minutes.covered_seconds) filter (where minutes.bpm_mean >= zones.peak_from_bpm) / 60.0
            as peak_minutes
    from kept
    inner join {{ ref('int_heart_rate_samples_aggregated_to_minutes') }} as minutes
        on
            kept.person_id = minutes.person_id
            and kept.start_at <= minutes.minute_at
            and kept.end_at > minutes.minute_at
    left join zones on kept.person_id = zones.person_id and kept.local_date = zones.local_date
    group by kept.person_id, kept.exercise_id, kept.data_source

)

select
    kept.person_id,
    kept.exercise_id,
    kept.data_source,
    kept.local_date,
    kept.start_at,
    kept.end_at,
    kept.start_local,
    round(kept.distance_m / 1000.0, 3) as distance_km,
    round(kept.active_seconds / 60.0, 1) as active_minutes,
    round(extract(epoch from kept.end_at - kept.start_at) / 60.0, 1) as elapsed_minutes,
    round((kept.active_seconds / 60.0) / nullif(kept.distance_m / 1000.0, 0), 2) as pace_min_per_km,
    round(coalesce(kept.device_average_hr_bpm, intraday.computed_average_hr_bpm), 1) as average_hr_bpm,
    kept.device_average_hr_bpm,
    round(intraday.computed_average_hr_bpm, 1) as computed_average_hr_bpm,
    round(coalesce(intraday.light_minutes, 0), 1) as light_minutes,
    round(coalesce(intraday.moderate_minutes, 0), 1) as moderate_minutes,
    round(coalesce(intraday.vigorous_minutes, 0), 1) as vigorous_minutes,
    round(coalesce(intraday.peak_minutes, 0), 1) as peak_minutes,
    round(kept.light_s / 60.0, 1) as device_light_minutes,
    round(kept.moderate_s / 60.0, 1) as device_moderate_minutes,
    round(kept.vigorous_s / 60.0, 1) as device_vigorous_minutes,
    round(kept.peak_s / 60.0, 1) as device_peak_minutes,
    kept.calories_kcal,
    kept.steps
from kept
left join intraday
    on
        kept.person_id = intraday.person_id
        and kept.exercise_id = intraday.exercise_id
        and kept.data_source = intraday.data_source
