-- The daily vitals (HRV, SpO2, respiratory rate), one row per person, source and local date.
with

hrv as (

    select * from {{ source('fitbit', 'fitbit__hrv_daily') }}

),

spo2 as (

    select * from {{ source('fitbit', 'fitbit__spo2_daily') }}

),

respiratory as (

    select * from {{ source('fitbit', 'fitbit__respiratory_rate_daily') }}

),

keys as (

    select
        person_id,
        source,
        date
    from hrv
    union
    select
        person_id,
        source,
        date
    from spo2
    union
    select
        person_id,
        source,
        date
    from respiratory

)

select
    keys.person_id,
    keys.source as data_source,
    keys.date as local_date,
    hrv.rmssd_ms::numeric as hrv_rmssd_ms,
    hrv.nrem_hr_bpm::numeric as nrem_heart_rate_bpm,
    spo2.average_pct::numeric as spo2_avg_pct,
    respiratory.breaths_per_minute::numeric as respiratory_rate_bpm
from keys
left join hrv on keys.person_id = hrv.person_id and keys.source = hrv.source and keys.date = hrv.date
left join spo2 on keys.person_id = spo2.person_id and keys.source = spo2.source and keys.date = spo2.date
left join respiratory
    on keys.person_id = respiratory.person_id and keys.source = respiratory.source and keys.date = respiratory.date
