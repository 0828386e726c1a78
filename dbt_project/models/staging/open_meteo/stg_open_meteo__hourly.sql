with

source as (

    select * from {{ source('open_meteo', 'open_meteo__hourly') }}

),

renamed as (

    select
        -- ids
        person_id,
        location_name,
        location_timezone,
        latitude,
        longitude,

        -- timestamps
        observed_at,
        (observed_at at time zone location_timezone) as observed_at_local,
        (observed_at at time zone location_timezone)::date as local_date,

        -- measures
        temperature_2m::numeric as temperature_c,
        apparent_temperature::numeric as apparent_temperature_c,
        precipitation::numeric as precipitation_mm,
        rain::numeric as rain_mm,
        relative_humidity_2m::numeric as relative_humidity_pct,
        wind_speed_10m::numeric as wind_speed_kmh,
        weather_code,
        is_day = 1 as is_daylight,
        sunshine_duration::numeric as sunshine_seconds,

        -- lineage
        endpoint as source_endpoint,
        _loaded_at as loaded_at

    from source

)

select * from renamed
