{{ config(
    materialized='incremental',
    unique_key=['person_id', 'minute_at'],
    incremental_strategy='delete+insert',
    indexes=[{'columns': ['person_id', 'minute_at'], 'unique': true}],
) }}

-- Intraday heart rate reduced to one row per person and UTC minute (mean of the minute's samples), with the
-- local date in the person's zone. Incremental: each run recomputes only minutes at or after the earliest
-- sample loaded since the last run (a re-imported day replaces its minutes), so daily runs stay
-- proportional to new data instead of rescanning ~30 M samples a year.
with

samples as (

    select * from {{ ref('stg_fitbit__heart_rate') }}
    {% if is_incremental() %}
        where observed_at >= (
            select coalesce(min(h.observed_at), 'infinity'::timestamptz)
            from {{ source('fitbit', 'fitbit__heart_rate') }} as h
            where h._loaded_at > (select coalesce(max(t.loaded_through), '-infinity') from {{ this }} as t)
        )
    {% endif %}

),

people as (

    select * from {{ ref('stg_tracker__people') }}

),

loads as (

    select max(_loaded_at) as loaded_through from {{ source('fitbit', 'fitbit__heart_rate') }}

)

select
    samples.person_id,
    date_trunc('minute', samples.observed_at) as minute_at,
    (date_trunc('minute', samples.observed_at) at time zone people.timezone)::date as local_date,
    round(avg(samples.bpm), 1) as bpm_mean,
    count(*) as samples,
    max(loads.loaded_through) as loaded_through
from samples
inner join people on samples.person_id = people.person_id
cross join loads
group by samples.person_id, date_trunc('minute', samples.observed_at), people.timezone
