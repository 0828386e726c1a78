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
        seconds
    from source

)

select * from renamed
