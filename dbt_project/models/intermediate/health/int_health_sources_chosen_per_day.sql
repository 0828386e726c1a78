-- Which source silver uses for each person, local date and daily entity: the Google Health API's when it
-- holds the entity for that date, else the export's (macro source_rank). One row per kept combination.
with

resting as (

    select
        person_id,
        local_date,
        data_source,
        'resting_heart_rate' as entity
    from {{ ref('stg_fitbit__resting_heart_rate') }}

),

zones as (

    select
        person_id,
        local_date,
        data_source,
        'heart_rate_zones' as entity
    from {{ ref('stg_fitbit__heart_rate_zones') }}

),

steps as (

    select
        person_id,
        local_date,
        data_source,
        'steps' as entity
    from {{ ref('stg_fitbit__steps_daily') }}

),

vitals as (

    select
        person_id,
        local_date,
        data_source,
        'vitals' as entity
    from {{ ref('stg_fitbit__daily_vitals') }}

),

sleep as (

    select distinct
        person_id,
        wake_date as local_date,
        data_source,
        'sleep' as entity
    from {{ ref('stg_fitbit__sleep_sessions') }}

),

exercise as (

    select distinct
        exercises.person_id,
        {{ local_date('exercises.start_at', 'people.timezone') }} as local_date,
        exercises.data_source,
        'exercise' as entity
    from {{ ref('stg_fitbit__exercises') }} as exercises
    inner join {{ ref('stg_tracker__people') }} as people on exercises.person_id = people.person_id

),

candidates as (

    select * from resting
    union all
    select * from zones
    union all
    select * from steps
    union all
    select * from vitals
    union all
    select * from sleep
    union all
    select * from exercise

),

ranked as (

    select
        *,
        {{ source_rank('person_id, entity, local_date') }} as source_rank
    from candidates

)

select distinct
    person_id,
    entity,
    local_date,
    data_source
from ranked
where source_rank = 1
