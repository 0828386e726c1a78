-- Steps per local date: the API's daily rollups as they come; the export's per-minute counts summed by the
-- person's local date (they are UTC instants).
with

api as (

    select * from {{ source('fitbit', 'fitbit__steps_daily') }}

),

minutes as (

    select * from {{ source('fitbit', 'fitbit__steps_minute') }}

),

people as (

    select * from {{ ref('stg_tracker__people') }}

),

export_days as (

    select
        minutes.person_id,
        minutes.source as data_source,
        {{ local_date('minutes.observed_at', 'people.timezone') }} as local_date,
        sum(minutes.steps) as steps
    from minutes
    inner join people on minutes.person_id = people.person_id
    group by 1, 2, 3

),

unioned as (

    select
        person_id,
        source as data_source,
        date as local_date,
        steps::bigint as steps
    from api
    union all
    select
        person_id,
        data_source,
        local_date,
        steps
    from export_days

)

select * from unioned
