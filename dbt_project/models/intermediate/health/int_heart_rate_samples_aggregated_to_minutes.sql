{{ config(
    materialized='incremental',
    unique_key=['person_id', 'minute_at'],
    incremental_strategy='delete+insert',
    on_schema_change='sync_all_columns',
    indexes=[{'columns': ['person_id', 'minute_at'], 'unique': true}, {'columns': ['person_id', 'local_date']}],
    pre_hook=["
        {% if is_incremental() %}
        {%- set marked = 'changes_through' in (adapter.get_columns_in_relation(this) | map(attribute='name')) -%}
        -- the ranges to rebuild, read once (every later statement uses this batch, not a newer snapshot)
        create temp table int_heart_rate_samples_aggregated_to_minutes_rebuild on commit drop as
        with
        previous as (
            {%- if marked %}
            select coalesce(max(t.changes_through), 0)::text::xid8 as through from {{ this }} as t
            {%- else %}
            -- a table built by the previous version (no changes_through): rebuild every person's range once
            select '0'::xid8 as through
            {%- endif %}
        ),
        bounds as (
            select
                c.person_id,
                date_trunc('minute', c.changed_from) - interval '5 minutes' as rebuild_from,
                date_trunc('minute', c.changed_to) + interval '1 minute' as rebuild_to
            from raw.fitbit__heart_rate_changes as c
            cross join previous
            where c.txid >= previous.through
            {%- if not marked %}
            union all
            select
                person_id,
                date_trunc('minute', min(observed_at)) - interval '5 minutes',
                date_trunc('minute', max(observed_at)) + interval '1 minute'
            from raw.fitbit__heart_rate
            group by person_id
            {%- endif %}
        ),
        ordered as (
            select
                *,
                max(rebuild_to) over (
                    partition by person_id order by rebuild_from, rebuild_to
                    rows between unbounded preceding and 1 preceding
                ) as earlier_to
            from bounds
        ),
        islands as (
            select
                *,
                count(*) filter (where earlier_to is null or earlier_to + interval '5 minutes' < rebuild_from)
                    over (partition by person_id order by rebuild_from, rebuild_to) as island
            from ordered
        )
        select
            person_id,
            min(rebuild_from) as rebuild_from,
            max(rebuild_to) as rebuild_to,
            pg_snapshot_xmin(pg_current_snapshot())::text::bigint as changes_through
        from islands
        group by person_id, island;
        analyze int_heart_rate_samples_aggregated_to_minutes_rebuild;
        delete from {{ this }} as t
        using int_heart_rate_samples_aggregated_to_minutes_rebuild as r
        where t.person_id = r.person_id and t.minute_at >= r.rebuild_from and t.minute_at < r.rebuild_to;
        {% endif %}
    "],
) }}

-- Intraday heart rate reduced to one row per person and UTC minute, with the local date in the person's zone.
--   bpm_mean         mean of the minute's samples
--   covered_seconds  time the minute's samples cover: each sample counts until the next sample of the same
--                    source, unless that gap is longer than 5 minutes (watch off the wrist): then it counts 0
-- Source precedence (macro source_rank): a minute with Google Health API samples uses only those, else the
-- export's.
-- Incremental by change log, not by load time: every load writes the person and observed_at range it
-- replaced into raw.fitbit__heart_rate_changes in its own transaction (ddl/021). A run rebuilds the ranges
-- of every transaction not yet visible to the previous run (txid ≥ that run's snapshot xmin, kept in
-- changes_through), widened by the 5 minutes a sample can cover before them: the pre-hook reads that batch
-- once and deletes its minutes, the model recomputes them from raw. So a load that commits after a
-- later-started one is not skipped, samples deleted from raw leave silver, and a run costs the changed
-- ranges, not the year (~30 M samples). A table left by the previous version (marker loaded_through, no
-- change log yet) is rebuilt over every person's whole range by its first run: no --full-refresh needed.
with

{% if is_incremental() %}
    rebuild as (

        select * from int_heart_rate_samples_aggregated_to_minutes_rebuild

    ),
{% endif %}

samples as (

    {% if is_incremental() %}
        select heart_rate.*
        from {{ ref('stg_fitbit__heart_rate') }} as heart_rate
        inner join rebuild
            on
                heart_rate.person_id = rebuild.person_id
                and heart_rate.observed_at >= rebuild.rebuild_from
                and heart_rate.observed_at < rebuild.rebuild_to + interval '5 minutes'
    {% else %}
        select * from {{ ref('stg_fitbit__heart_rate') }}
    {% endif %}

),

people as (

    select * from {{ ref('stg_tracker__people') }}

),

batch as (

    {% if is_incremental() %}
        select max(changes_through) as changes_through from rebuild
    {% else %}
        select pg_snapshot_xmin(pg_current_snapshot())::text::bigint as changes_through
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
    {% if is_incremental() %}
        -- only the rebuilt minutes (the 5 minutes read after a range only feed the last samples' gaps)
        where exists (
            select 1 from rebuild
            where
                rebuild.person_id = per_source.person_id
                and per_source.minute_at >= rebuild.rebuild_from
                and per_source.minute_at < rebuild.rebuild_to
        )
    {% endif %}

)

select
    ranked.person_id,
    ranked.minute_at,
    {{ local_date('ranked.minute_at', 'people.timezone') }} as local_date,
    ranked.data_source,
    round(ranked.bpm_mean, 1) as bpm_mean,
    ranked.samples,
    round(ranked.covered_seconds::numeric, 1) as covered_seconds,
    batch.changes_through
from ranked
inner join people on ranked.person_id = people.person_id
cross join batch
where ranked.source_rank = 1
