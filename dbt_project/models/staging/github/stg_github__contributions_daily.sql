with

source as (

    select * from {{ source('github', 'github__contributions_daily') }}

),

renamed as (

    select
        -- ids
        person_id,
        github_login,
        color as calendar_color,

        -- dates
        day as contribution_date,
        weekday as day_of_week,

        -- measures
        contribution_count,

        -- lineage
        _loaded_at as loaded_at

    from source

)

select * from renamed
