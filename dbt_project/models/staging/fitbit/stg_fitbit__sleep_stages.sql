with

source as (

    select * from {{ source('fitbit', 'fitbit__sleep_stages') }}

),

renamed as (

    select
        person_id,
        source as data_source,
        log_id,
        kind as segment_kind,
        seq,
        level as sleep_stage,
        started_at,
        ended_at,
        seconds,
        -- real elapsed time of the segment (the file's seconds follow the wall clock on some DST nights)
        extract(epoch from ended_at - started_at) as elapsed_seconds
    from source

)

select * from renamed
