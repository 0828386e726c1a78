with

source as (

    select * from {{ source('github', 'github__reviews') }}

),

renamed as (

    select
        -- ids
        person_id,
        review_id,
        repo,
        pr_number,
        github_login,
        html_url,
        pr_title,
        lower(state) as review_state,

        -- timestamps
        submitted_at,

        -- lineage
        _loaded_at as loaded_at

    from source

)

select * from renamed
