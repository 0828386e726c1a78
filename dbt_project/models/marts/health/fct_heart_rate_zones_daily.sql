{{ config(indexes=[{'columns': ['person_id', 'local_date'], 'unique': true}]) }}

-- Minutes per heart-rate zone and local date: the device's own figures (preferred source) next to personal
-- Karvonen zones computed from intraday heart rate. Karvonen: zone floor = resting + share × (max − resting)
-- with shares 40 / 60 / 70 / 85 % for LIGHT / MODERATE / VIGOROUS / PEAK (the thresholds the Google Health
-- API reports), resting = that day's resting heart rate, max = configured max heart rate, else 220 − age.
-- Each minute's covered seconds (int_heart_rate_samples_aggregated_to_minutes: samples weighted by the
-- time they cover, gaps over 5 minutes not counted) go to the zone of that minute's mean heart rate.
with

minutes as (

    select * from {{ ref('int_heart_rate_samples_aggregated_to_minutes') }}

),

people as (

    select * from {{ ref('stg_tracker__people') }}

),

resting as (

    select * from {{ ref('fct_resting_heart_rate_daily') }}

),

device as (

    select zones.*
    from {{ ref('stg_fitbit__heart_rate_zones') }} as zones
    {{ join_preferred_source('zones', 'heart_rate_zones', 'zones.local_date') }}

),

days as (

    select
        person_id,
        local_date
    from minutes
    union
    select
        person_id,
        local_date
    from device

),

limits as (

    select
        days.person_id,
        days.local_date,
        {{ max_heart_rate('people', 'days.local_date') }} as max_heart_rate,
        resting.resting_bpm
    from days
    inner join people on days.person_id = people.person_id
    left join resting on days.person_id = resting.person_id and days.local_date = resting.local_date

),

thresholds as (

    select
        person_id,
        local_date,
        max_heart_rate,
        resting_bpm,
        round(resting_bpm + 0.40 * (max_heart_rate - resting_bpm), 1) as light_from_bpm,
        round(resting_bpm + 0.60 * (max_heart_rate - resting_bpm), 1) as moderate_from_bpm,
        round(resting_bpm + 0.70 * (max_heart_rate - resting_bpm), 1) as vigorous_from_bpm,
        round(resting_bpm + 0.85 * (max_heart_rate - resting_bpm), 1) as peak_from_bpm
    from limits

),

computed as (

    select
        thresholds.person_id,
        thresholds.local_date,
        sum(minutes.covered_seconds) / 60.0 as covered_minutes,
        sum(minutes.covered_seconds) filter (where minutes.bpm_mean < thresholds.light_from_bpm) / 60.0
            as below_zones_minutes,
        sum(minutes.covered_seconds) filter (
            where minutes.bpm_mean >= thresholds.light_from_bpm and minutes.bpm_mean < thresholds.moderate_from_bpm
        ) / 60.0 as light_minutes,
        sum(minutes.covered_seconds) filter (
            where minutes.bpm_mean >= thresholds.moderate_from_bpm and minutes.bpm_mean < thresholds.vigorous_from_bpm
        ) / 60.0 as moderate_minutes,
        sum(minutes.covered_seconds) filter (
            where minutes.bpm_mean >= thresholds.vigorous_from_bpm and minutes.bpm_mean < thresholds.peak_from_bpm
        ) / 60.0 as vigorous_minutes,
        sum(minutes.covered_seconds) filter (where minutes.bpm_mean >= thresholds.peak_from_bpm) / 60.0
            as peak_minutes
    from thresholds
    inner join minutes
        on thresholds.person_id = minutes.person_id and thresholds.local_date = minutes.local_date
    where thresholds.resting_bpm is not null
    group by thresholds.person_id, thresholds.local_date

),

joined as (

    select
        thresholds.*,
        computed.covered_minutes,
        computed.below_zones_minutes,
        computed.light_minutes,
        computed.moderate_minutes,
        computed.vigorous_minutes,
        computed.peak_minutes,
        device.data_source as device_source,
        device.out_of_range_minutes as device_out_of_range_minutes,
        device.fat_burn_minutes as device_fat_burn_minutes,
        device.cardio_minutes as device_cardio_minutes,
        device.peak_minutes_fitbit as device_fitbit_peak_minutes,
        device.light_minutes as device_light_minutes,
        device.moderate_minutes as device_moderate_minutes,
        device.vigorous_minutes as device_vigorous_minutes,
        device.peak_minutes as device_peak_minutes
    from thresholds
    left join computed
        on thresholds.person_id = computed.person_id and thresholds.local_date = computed.local_date
    left join device
        on thresholds.person_id = device.person_id and thresholds.local_date = device.local_date

)

select
    person_id,
    local_date,
    max_heart_rate,
    resting_bpm,
    light_from_bpm,
    moderate_from_bpm,
    vigorous_from_bpm,
    peak_from_bpm,
    round(covered_minutes, 1) as covered_minutes,
    round(coalesce(below_zones_minutes, 0), 1) as below_zones_minutes,
    round(coalesce(light_minutes, 0), 1) as light_minutes,
    round(coalesce(moderate_minutes, 0), 1) as moderate_minutes,
    round(coalesce(vigorous_minutes, 0), 1) as vigorous_minutes,
    round(coalesce(peak_minutes, 0), 1) as peak_minutes,
    round(
        coalesce(light_minutes, 0) + coalesce(moderate_minutes, 0) + coalesce(vigorous_minutes, 0)
        + coalesce(peak_minutes, 0), 1
    ) as zone_minutes,
    device_source,
    device_out_of_range_minutes,
    device_fat_burn_minutes,
    device_cardio_minutes,
    device_fitbit_peak_minutes,
    device_light_minutes,
    device_moderate_minutes,
    device_vigorous_minutes,
    device_peak_minutes,
    coalesce(
        device_light_minutes + device_moderate_minutes + device_vigorous_minutes + device_peak_minutes,
        device_fat_burn_minutes + device_cardio_minutes + device_fitbit_peak_minutes
    ) as device_zone_minutes
from joined
where covered_minutes is not null or device_source is not null
