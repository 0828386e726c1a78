with

source as (

    select * from {{ source('tracker', 'tracker__people') }}

),

renamed as (

    select
        person_id,
        timezone,
        (config ->> 'max_heart_rate')::integer as max_heart_rate,
        (config ->> 'birth_year')::integer as birth_year,
        (config ->> 'collect_from')::date as collect_from,
        (config ->> 'collect_until')::date as collect_until,
        config
    from source

)

select * from renamed
