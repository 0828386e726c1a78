{{ config(indexes=[{'columns': ['person_id', 'local_date'], 'unique': true}]) }}

-- Daily activity and nightly vitals per person and local date, each from its preferred source. Active
-- minutes = minutes in the personal heart-rate zones (at or above LIGHT, i.e. 40 % of the heart-rate reserve;
-- fct_heart_rate_zones_daily), the same rule for export and API days.
with

preferred as (

    select * from {{ ref('int_health__preferred_days') }}

),

steps as (

    select
        steps.person_id,
        steps.local_date,
        steps.steps
    from {{ ref('stg_fitbit__steps_daily') }} as steps
    inner join preferred
        on
            preferred.entity = 'steps'
            and steps.person_id = preferred.person_id
            and steps.local_date = preferred.local_date
            and steps.data_source = preferred.data_source

),

vitals as (

    select vitals.*
    from {{ ref('stg_fitbit__daily_vitals') }} as vitals
    inner join preferred
        on
            preferred.entity = 'vitals'
            and vitals.person_id = preferred.person_id
            and vitals.local_date = preferred.local_date
            and vitals.data_source = preferred.data_source

),

zones as (

    select * from {{ ref('fct_heart_rate_zones_daily') }}

),

exercises as (

    select
        exercises.person_id,
        {{ local_date('exercises.start_at', 'people.timezone') }} as local_date,
        count(*) as workouts,
        sum(exercises.active_seconds) / 60.0 as workout_minutes
    from {{ ref('stg_fitbit__exercises') }} as exercises
    inner join {{ ref('stg_tracker__people') }} as people on exercises.person_id = people.person_id
    inner join preferred
        on
            preferred.entity = 'exercise'
            and exercises.person_id = preferred.person_id
            and {{ local_date('exercises.start_at', 'people.timezone') }} = preferred.local_date
            and exercises.data_source = preferred.data_source
    group by 1, 2

),

days as (

    select
        person_id,
        local_date
    from steps
    union
    select
        person_id,
        local_date
    from vitals
    union
    select
        person_id,
        local_date
    from zones
    union
    select
        person_id,
        local_date
    from exercises

)

select
    days.person_id,
    days.local_date,
    steps.steps,
    zones.zone_minutes as active_minutes,
    coalesce(exercises.workouts, 0) as workouts,
    round(coalesce(exercises.workout_minutes, 0), 1) as workout_minutes,
    vitals.hrv_rmssd_ms,
    vitals.spo2_avg_pct,
    vitals.respiratory_rate_bpm
from days
left join steps on days.person_id = steps.person_id and days.local_date = steps.local_date
left join vitals on days.person_id = vitals.person_id and days.local_date = vitals.local_date
left join zones on days.person_id = zones.person_id and days.local_date = zones.local_date
left join exercises on days.person_id = exercises.person_id and days.local_date = exercises.local_date
