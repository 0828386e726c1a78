with

source as (

    select * from {{ source('github', 'github__commits') }}

),

renamed as (

    select
        -- ids
        person_id,
        repo,
        sha as commit_sha,
        github_login,
        author_login,
        author_email,
        html_url,
        message as commit_message,

        -- timestamps
        authored_at,
        committed_at,

        -- measures
        additions as lines_added,
        deletions as lines_deleted,
        parent_count,

        -- flags
        parent_count > 1 as is_merge_commit,

        -- lineage
        _loaded_at as loaded_at

    from source

)

select * from renamed
