{{ config(
    materialized='incremental',
    unique_key=['load_date', 'source', 'person_id'],
    incremental_strategy='delete+insert',
    on_schema_change='sync_all_columns',
    indexes=[{'columns': ['load_date', 'source', 'person_id'], 'unique': true}],
) }}

-- Pipeline health: per UTC day (of the load's start), source and person, what the loads of the load log did —
-- how many loads and runs, rows offered / loaded (inserted + updated) / deleted / quarantined, seconds spent.
-- A run's duration is the span from its first load's start to its last load's end for that source and person.
-- Incremental: a run rebuilds the days from the day before the last one built (a load started then may have
-- committed since; the log is append-only), keyed by (load_date, source, person_id).
with

loads as (

    select * from {{ ref('stg_tracker__load_log') }}
    {% if is_incremental() %}
        where started_at >= ((select max(t.load_date) from {{ this }} as t) - 1)::timestamp at time zone 'UTC'
    {% endif %}

),

dated as (

    select
        *,
        (started_at at time zone 'UTC')::date as load_date
    from loads

),

runs as (

    select
        load_date,
        source,
        person_id,
        run_id,
        extract(epoch from max(finished_at) - min(started_at))::numeric as run_seconds
    from dated
    group by load_date, source, person_id, run_id

),

per_day as (

    select
        load_date,
        source,
        person_id,
        count(*) as loads,
        count(distinct run_id) as runs,
        count(distinct entity) as entities,
        sum(rows_offered) as rows_offered,
        sum(rows_inserted + rows_updated) as rows_loaded,
        sum(rows_inserted) as rows_inserted,
        sum(rows_updated) as rows_updated,
        sum(rows_deleted) as rows_deleted,
        sum(rows_kept) as rows_kept,
        sum(rows_outside) as rows_outside,
        sum(rows_quarantined) as rows_quarantined,
        round(sum(load_seconds), 3) as load_seconds,
        min(started_at) as first_started_at,
        max(finished_at) as last_loaded_at
    from dated
    group by load_date, source, person_id

),

run_figures as (

    select
        load_date,
        source,
        person_id,
        round(max(run_seconds), 3) as longest_run_seconds,
        round(avg(run_seconds), 3) as mean_run_seconds
    from runs
    group by load_date, source, person_id

)

select
    per_day.*,
    run_figures.longest_run_seconds,
    run_figures.mean_run_seconds
from per_day
inner join run_figures
    on
        per_day.load_date = run_figures.load_date
        and per_day.source = run_figures.source
        and per_day.person_id = run_figures.person_id
