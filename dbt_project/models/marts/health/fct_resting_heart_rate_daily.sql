{{ config(indexes=[{'columns': ['person_id', 'local_date']}]) }}

with

minutes as (

    select * from {{ ref('int_heart_rate_samples_aggregated_to_minutes') }}

),

device as (

    select
        resting.person_id,
        resting.local_date,
        min(resting.resting_bpm) as device_resting_bpm
    from {{ ref('stg_fitbit__resting_heart_rate') }} as resting
    {{ join_preferred_source('resting', 'resting_heart_rate', 'resting.local_date') }}
    group by resting.person_id, resting.local_date

),

rolling as (

    -- 30-minute trailing mean of the per-minute means, counting only windows with >= 25 minutes of data
    select
        person_id,
        local_date,
        avg(bpm_mean) over w as mean_30min,
        count(*) over w as minutes_in_window
    from minutes
    window w as (
        partition by person_id, local_date order by minute_at
        range between interval '29 minutes' preceding and current row
    )

),

computed as (

    select
        person_id,
        local_date,
        round(min(mean_30min) filter (where minutes_in_window >= 25), 1) as computed_resting_bpm
    from rolling
    group by person_id, local_date

),

days as (

    select
        coalesce(device.person_id, computed.person_id) as person_id,
        coalesce(device.local_date, computed.local_date) as local_date,
        device.device_resting_bpm,
        computed.computed_resting_bpm
    from device
    full outer join computed
        on device.person_id = computed.person_id and device.local_date = computed.local_date

)

select
    person_id,
    local_date,
    coalesce(device_resting_bpm, computed_resting_bpm) as resting_bpm,
    device_resting_bpm,
    computed_resting_bpm,
    computed_resting_bpm - device_resting_bpm as computed_minus_device_bpm,
    round(avg(coalesce(device_resting_bpm, computed_resting_bpm)) over (
        partition by person_id order by local_date range between interval '6 days' preceding and current row
    ), 1) as resting_bpm_7d_mean,
    round(avg(coalesce(device_resting_bpm, computed_resting_bpm)) over (
        partition by person_id order by local_date range between interval '27 days' preceding and current row
    ), 1) as resting_bpm_28d_mean
from days
