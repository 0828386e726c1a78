{{ config(
    materialized='incremental',
    unique_key=['person_id', 'minute_at'],
    incremental_strategy='delete+insert',
    on_schema_change='sync_all_columns',
    indexes=[{'columns': ['person_id', 'minute_at'], 'unique': true}, {'columns': ['person_id', 'local_date']}],
) }}

-- Intraday heart rate reduced to one row per person and UTC minute, with the local date in the person's zone.
--   bpm_mean         mean of the minute's samples
--   covered_seconds  time the minute's samples cover: each sample counts until the next sample of the same
--                    source, unless that gap is longer than 5 minutes (watch off the wrist): then it counts 0
-- Source precedence (macro source_rank): a minute with Google Health API samples uses only those, else the
-- export's. Incremental: each run recomputes the minutes from the minute of the earliest sample loaded since
-- the last run on (a re-imported day replaces its minutes), so daily runs stay proportional to new data
-- instead of rescanning ~30 M samples a year.
with

{% if is_incremental() %}
    -- samples loaded since the last run (BRIN on _loaded_at: no scan of the whole year)
    new_loads as (

        select
            min(h.observed_at) as first_observed_at,
            max(h._loaded_at) as loaded_through
        from {{ source('fitbit', 'fitbit__heart_rate') }} as h
        where h._loaded_at > (select coalesce(max(t.loaded_through), '-infinity') from {{ this }} as t)

    ),
{% endif %}

samples as (

    select * from {{ ref('stg_fitbit__heart_rate') }}
    {% if is_incremental() %}
        where observed_at >= (
            select coalesce(date_trunc('minute', new_loads.first_observed_at), 'infinity'::timestamptz) from new_loads
        )
    {% endif %}

),

people as (

    select * from {{ ref('stg_tracker__people') }}

),

loads as (

    {% if is_incremental() %}
        select loaded_through from new_loads
    {% else %}
        select max(_loaded_at) as loaded_through from {{ source('fitbit', 'fitbit__heart_rate') }}
    {% endif %}

),

spans as (

    select
        person_id,
        data_source,
        observed_at,
        bpm,
        extract(epoch from lead(observed_at) over (
            partition by person_id, data_source order by observed_at
        ) - observed_at) as gap_seconds
    from samples

),

per_source as (

    select
        person_id,
        data_source,
        date_trunc('minute', observed_at) as minute_at,
        avg(bpm) as bpm_mean,
        count(*) as samples,
        sum(case when gap_seconds <= 300 then gap_seconds else 0 end) as covered_seconds
    from spans
    group by 1, 2, 3

),

ranked as (

    select
        *,
        {{ source_rank('person_id, minute_at') }} as source_rank
    from per_source

)

select
    ranked.person_id,
    ranked.minute_at,
    {{ local_date('ranked.minute_at', 'people.timezone') }} as local_date,
    ranked.data_source,
    round(ranked.bpm_mean, 1) as bpm_mean,
    ranked.samples,
    round(ranked.covered_seconds::numeric, 1) as covered_seconds,
    loads.loaded_through
from ranked
inner join people on ranked.person_id = people.person_id
cross join loads
where ranked.source_rank = 1
