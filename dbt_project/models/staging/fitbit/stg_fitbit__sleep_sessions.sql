with

source as (

    select * from {{ source('fitbit', 'fitbit__sleep_sessions') }}

),

renamed as (

    select
        person_id,
        source as data_source,
        log_id,
        start_at,
        end_at,
        start_local,
        end_local,
        end_local::date as wake_date,
        sleep_type,
        coalesce(is_main_sleep, false) as is_main_sleep,
        minutes_to_fall_asleep,
        minutes_asleep,
        minutes_awake,
        minutes_after_wakeup,
        round(extract(epoch from end_at - start_at) / 60.0, 1) as in_bed_minutes,
        -- the wall-clock span and the device's own time in bed: across a DST switch they differ from
        -- in_bed_minutes when the device counted on the clock (fct_sleep_daily then distrusts its minutes)
        round(extract(epoch from end_local - start_local) / 60.0, 1) as clock_minutes,
        coalesce(time_in_bed_min, round(duration_ms / 60000.0, 1)) as device_in_bed_minutes,
        efficiency as device_efficiency_pct
    from source

)

select * from renamed
