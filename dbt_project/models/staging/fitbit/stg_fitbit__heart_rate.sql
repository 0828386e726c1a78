with

source as (

    select * from {{ source('fitbit', 'fitbit__heart_rate') }}

),

renamed as (

    select
        person_id,
        source as data_source,
        observed_at,
        bpm,
        confidence
    from source

)

select * from renamed
