with

source as (

    select * from {{ source('tracker', 'tracker__load_log') }}

),

renamed as (

    select
        run_id,
        source,
        entity,
        person_id,
        scope,
        window_start,
        window_end,
        rows as rows_offered,
        inserted as rows_inserted,
        updated as rows_updated,
        deleted as rows_deleted,
        kept as rows_kept,
        outside as rows_outside,
        quarantined as rows_quarantined,
        started_at,
        finished_at,
        extract(epoch from finished_at - started_at)::numeric as load_seconds
    from source

)

select * from renamed
