{{ config(indexes=[{'columns': ['person_id', 'wake_date'], 'unique': true}]) }}

-- Sleep per person and wake date (the local date the session ended). The main sleep is the longest session
-- the device marked as main sleep that ended on the date; every other session of that date is a nap.
-- One clock, real elapsed time: in bed from the UTC instants, stage minutes from each segment's instants
-- (clipped to the session), so nights across midnight and DST switches are right. Short wakes that the
-- export lists separately are inside light sleep and not subtracted. Asleep minutes (asleep_basis):
--   device                  the device's figure, when its own time in bed agrees with the instants (±1 min)
--   stages                  else the non-wake stage minutes (Fitbit exports count DST nights on the wall clock:
--                           a 227-minute spring night as 287 minutes, 275 of them asleep)
--   device_clock_corrected  else the device's figure less the minutes its clock added (or plus those it lost)
-- and never outside [0, in bed] (asleep_clamped marks a figure that had to be cut), so awake minutes are
-- never negative and efficiency never above 100.
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
        sum(least(greatest(coalesce(sessions.minutes_asleep, sessions.in_bed_minutes), 0), sessions.in_bed_minutes))
            as nap_minutes
    from sessions
    left join main
        on
            sessions.person_id = main.person_id
            and sessions.data_source = main.data_source
            and sessions.log_id = main.log_id
    where main.log_id is null
    group by sessions.person_id, sessions.wake_date

),

segments as (

    select
        segments.person_id,
        segments.data_source,
        segments.log_id,
        segments.sleep_stage,
        greatest(
            extract(epoch from least(segments.ended_at, main.end_at) - greatest(segments.started_at, main.start_at)),
            0
        ) / 60.0 as minutes
    from {{ ref('stg_fitbit__sleep_stages') }} as segments
    inner join main
        on
            segments.person_id = main.person_id
            and segments.data_source = main.data_source
            and segments.log_id = main.log_id
    where segments.segment_kind = 'data'

),

stages as (

    select
        person_id,
        data_source,
        log_id,
        sum(minutes) filter (where sleep_stage = 'deep') as deep_minutes,
        sum(minutes) filter (where sleep_stage = 'light') as light_minutes,
        sum(minutes) filter (where sleep_stage = 'rem') as rem_minutes,
        sum(minutes) filter (where sleep_stage in ('wake', 'awake', 'restless')) as wake_minutes,
        sum(minutes) filter (where sleep_stage not in ('wake', 'awake', 'restless')) as stage_asleep_minutes
    from segments
    group by person_id, data_source, log_id

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
        main.minutes_asleep as device_asleep_minutes,
        abs(coalesce(main.device_in_bed_minutes, main.clock_minutes) - main.in_bed_minutes) <= 1
            as device_on_real_clock,
        main.in_bed_minutes - coalesce(main.device_in_bed_minutes, main.clock_minutes) as device_clock_error_minutes,
        stages.stage_asleep_minutes,
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

asleep as (

    select
        *,
        case
            when device_on_real_clock and device_asleep_minutes is not null then 'device'
            when stage_asleep_minutes is not null then 'stages'
            when device_asleep_minutes is not null then 'device_clock_corrected'
        end as asleep_basis,
        case
            when device_on_real_clock and device_asleep_minutes is not null then device_asleep_minutes
            when stage_asleep_minutes is not null then stage_asleep_minutes
            else device_asleep_minutes + device_clock_error_minutes
        end as unclamped_asleep_minutes
    from nights

),

measured as (

    select
        *,
        least(greatest(unclamped_asleep_minutes, 0), in_bed_minutes) as asleep_minutes,
        unclamped_asleep_minutes not between 0 and in_bed_minutes as asleep_clamped,
        extract(epoch from midpoint_local - wake_date::timestamp) / 60.0 as midpoint_minutes
    from asleep

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
    asleep_basis,
    asleep_clamped,
    round(in_bed_minutes - asleep_minutes, 1) as awake_minutes,
    minutes_to_fall_asleep,
    round(case when deep_minutes > in_bed_minutes then in_bed_minutes else deep_minutes end, 1) as deep_minutes,
    round(case when light_minutes > in_bed_minutes then in_bed_minutes else light_minutes end, 1) as light_minutes,
    round(case when rem_minutes > in_bed_minutes then in_bed_minutes else rem_minutes end, 1) as rem_minutes,
    round(case when wake_minutes > in_bed_minutes then in_bed_minutes else wake_minutes end, 1) as wake_minutes,
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
