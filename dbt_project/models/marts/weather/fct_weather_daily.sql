{{ config(indexes=[{'columns': ['person_id', 'local_date']}]) }}

with

hourly as (

    select * from {{ ref('stg_open_meteo__hourly') }}

),

daily as (

    select
        person_id,
        location_name,
        local_date,
        max(location_timezone) as location_timezone,
        min(temperature_c) as temperature_min_c,
        max(temperature_c) as temperature_max_c,
        round(avg(temperature_c), 2) as temperature_mean_c,
        round(avg(apparent_temperature_c), 2) as apparent_temperature_mean_c,
        round(coalesce(sum(precipitation_mm), 0), 2) as precipitation_sum_mm,
        count(*) filter (where precipitation_mm >= 0.1) as rain_hours,
        round(coalesce(sum(sunshine_seconds), 0) / 3600.0, 2) as sunshine_hours,
        round(avg(relative_humidity_pct), 1) as relative_humidity_mean_pct,
        max(wind_speed_kmh) as wind_speed_max_kmh,
        max(weather_code) as weather_code_max,
        count(*) as hours_observed
    from hourly
    group by person_id, location_name, local_date

),

final as (

    select
        *,
        -- a local day has 23 or 25 hours on DST switches
        extract(
            epoch from (
                ((local_date + 1)::timestamp at time zone location_timezone)
                - (local_date::timestamp at time zone location_timezone)
            )
        )::int / 3600 as hours_in_day
    from daily

)

select
    person_id,
    location_name,
    local_date,
    temperature_min_c,
    temperature_max_c,
    temperature_mean_c,
    apparent_temperature_mean_c,
    precipitation_sum_mm,
    rain_hours,
    sunshine_hours,
    relative_humidity_mean_pct,
    wind_speed_max_kmh,
    weather_code_max,
    hours_observed,
    hours_in_day,
    hours_observed = hours_in_day as is_complete_day
from final
