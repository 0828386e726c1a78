with

source as (

    select * from {{ source('fitbit', 'fitbit__heart_rate_zones_daily') }}

),

renamed as (

    select
        person_id,
        source as data_source,
        date as local_date,
        below_zone_1_min::numeric as out_of_range_minutes,
        zone_1_min::numeric as fat_burn_minutes,
        zone_2_min::numeric as cardio_minutes,
        zone_3_min::numeric as peak_minutes_fitbit,
        light_min::numeric as light_minutes,
        moderate_min::numeric as moderate_minutes,
        vigorous_min::numeric as vigorous_minutes,
        peak_min::numeric as peak_minutes
    from source

)

select * from renamed
