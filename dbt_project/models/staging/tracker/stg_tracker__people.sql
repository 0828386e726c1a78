with

source as (

    select * from {{ source('tracker', 'tracker__people') }}

),

renamed as (

    select
        person_id,
        timezone,
        config
    from source

)

select * from renamed
