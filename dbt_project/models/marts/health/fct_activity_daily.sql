{{ config(indexes=[{'columns': ['person_id', 'local_date'], 'unique': true}]) }}

-- Daily activity and nightly vitals per person and local date, each from its preferred source. Active
-- minutes = minutes in the personal heart-rate zones (at or above LIGHT, i.e. 40 % of the heart-rate reserve;
-- fct_heart_rate_zones_daily), the same rule for export and API days.
with

steps as (

    select
        steps.person_id,
        steps.local_date,
        steps.steps
    from {{ ref('stg_fitbit__steps_daily') }} as steps
    {{ join_preferred_source('steps', 'steps', 'steps.local_date') }}

),

vitals as (

    select vitals.*
    from {{ ref('stg_fitbit__daily_vitals') }} as vitals
    {{ join_preferred_source('vitals', 'vitals', 'vitals.local_date') }}

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
    {{ join_preferred_source('exercises', 'exercise', local_date('exercises.start_at', 'people.timezone')) }}
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
