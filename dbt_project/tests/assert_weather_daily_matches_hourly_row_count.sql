-- Every hourly staging row is counted in exactly one daily row: nothing dropped, nothing doubled.
with

hourly as (

    select count(*) as n from {{ ref('stg_open_meteo__hourly') }}

),

daily as (

    select coalesce(sum(hours_observed), 0) as n from {{ ref('fct_weather_daily') }}

)

select
    hourly.n as hourly_rows,
    daily.n as daily_hours
from hourly cross join daily
where hourly.n <> daily.n
