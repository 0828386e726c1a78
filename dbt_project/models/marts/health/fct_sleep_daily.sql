{{ config(indexes=[{'columns': ['person_id', 'wake_date'], 'unique': true}]) }}

-- Sleep per person and wake date (the local date the session ended). The main sleep is the longest session
-- the device marked as main sleep that ended on the date; every other session of that date is a nap.
-- Durations come from UTC instants, so nights across midnight and DST switches (a 7-hour night across the
-- spring-forward gap is 7 hours, not 8) are right. Stage minutes are the `data` segments (short wakes that
-- the export lists separately are inside light sleep and not subtracted).
with

people as (

    select * from {{ ref('stg_tracker__people') }}

),

sessions as (

    select sessions.*
    from {{ ref('stg_fitbit__sleep_sessions') }} as sessions
    {{ join_preferred_source('sessions', 'sleep', 'sessions.wake_date') }}

),

main as (

    select distinct on (person_id, wake_date) *
    from sessions
    where is_main_sleep
    order by person_id asc, wake_date asc, in_bed_minutes desc, log_id asc

),

naps as (

    select
        sessions.person_id,
        sessions.wake_date,
        count(*) as nap_count,
        sum(coalesce(sessions.minutes_asleep, sessions.in_bed_minutes)) as nap_minutes
    from sessions
    left join main
        on
            sessions.person_id = main.person_id
            and sessions.data_source = main.data_source
            and sessions.log_id = main.log_id
    where main.log_id is null
    group by sessions.person_id, sessions.wake_date

),

stages as (

    select
        segments.person_id,
        segments.data_source,
        segments.log_id,
        sum(segments.seconds) filter (where segments.sleep_stage = 'deep') / 60.0 as deep_minutes,
        sum(segments.seconds) filter (where segments.sleep_stage = 'light') / 60.0 as light_minutes,
        sum(segments.seconds) filter (where segments.sleep_stage = 'rem') / 60.0 as rem_minutes,
        sum(segments.seconds) filter (where segments.sleep_stage in ('wake', 'awake', 'restless')) / 60.0
            as wake_minutes,
        sum(segments.seconds) filter (where segments.sleep_stage not in ('wake', 'awake', 'restless')) / 60.0
            as stage_asleep_minutes
    from {{ ref('stg_fitbit__sleep_stages') }} as segments
    inner join main
        on
            segments.person_id = main.person_id
            and segments.data_source = main.data_source
            and segments.log_id = main.log_id
    where segments.segment_kind = 'data'
    group by segments.person_id, segments.data_source, segments.log_id

),

days as (

    select
        person_id,
        wake_date
    from main
    union
    select
        person_id,
        wake_date
    from naps

),

nights as (

    select
        days.person_id,
        days.wake_date,
        main.data_source,
        main.log_id,
        main.start_local as bedtime_local,
        main.end_local as wake_time_local,
        (main.start_at + (main.end_at - main.start_at) / 2) at time zone people.timezone as midpoint_local,
        main.in_bed_minutes,
        coalesce(main.minutes_asleep, stages.stage_asleep_minutes) as asleep_minutes,
        main.minutes_to_fall_asleep,
        stages.deep_minutes,
        stages.light_minutes,
        stages.rem_minutes,
        stages.wake_minutes,
        main.device_efficiency_pct,
        coalesce(naps.nap_count, 0) as nap_count,
        coalesce(naps.nap_minutes, 0) as nap_minutes
    from days
    inner join people on days.person_id = people.person_id
    left join main on days.person_id = main.person_id and days.wake_date = main.wake_date
    left join stages
        on main.person_id = stages.person_id and main.data_source = stages.data_source and main.log_id = stages.log_id
    left join naps on days.person_id = naps.person_id and days.wake_date = naps.wake_date

),

measured as (

    select
        *,
        extract(epoch from midpoint_local - wake_date::timestamp) / 60.0 as midpoint_minutes
    from nights

)

select
    person_id,
    wake_date,
    data_source,
    log_id,
    bedtime_local,
    wake_time_local,
    midpoint_local,
    round(in_bed_minutes, 1) as in_bed_minutes,
    round(asleep_minutes, 1) as asleep_minutes,
    round(in_bed_minutes - asleep_minutes, 1) as awake_minutes,
    minutes_to_fall_asleep,
    round(deep_minutes, 1) as deep_minutes,
    round(light_minutes, 1) as light_minutes,
    round(rem_minutes, 1) as rem_minutes,
    round(wake_minutes, 1) as wake_minutes,
    round(100.0 * asleep_minutes / nullif(in_bed_minutes, 0), 1) as efficiency_pct,
    device_efficiency_pct,
    nap_count,
    round(nap_minutes, 1) as nap_minutes,
    round(midpoint_minutes, 1) as midpoint_minutes,
    round(stddev_samp(midpoint_minutes) over last_7_days, 1) as midpoint_stddev_7d_minutes,
    round(avg(asleep_minutes) over last_7_days, 1) as asleep_minutes_7d_mean
from measured
window last_7_days as (
    partition by person_id order by wake_date range between interval '6 days' preceding and current row
)
