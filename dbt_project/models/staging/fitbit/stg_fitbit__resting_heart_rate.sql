with

source as (

    select * from {{ source('fitbit', 'fitbit__resting_heart_rate') }}

),

renamed as (

    select
        person_id,
        source as data_source,
        date as local_date,
        bpm::numeric as resting_bpm,
        error::numeric as resting_bpm_error
    from source

)

select * from renamed
