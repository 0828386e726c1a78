with

source as (

    select * from {{ source('github', 'github__pull_requests') }}

),

renamed as (

    select
        -- ids
        person_id,
        pull_request_id,
        repo,
        number as pr_number,
        github_login,
        author_login,
        html_url,
        title as pr_title,
        state as pr_state,

        -- timestamps
        created_at,
        updated_at,
        closed_at,
        merged_at,

        -- flags
        coalesce(draft, false) as is_draft,
        merged_at is not null as is_merged,

        -- lineage
        _loaded_at as loaded_at

    from source

)

select * from renamed
