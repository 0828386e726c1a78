with

source as (

    select * from {{ source('github', 'github__issues') }}

),

renamed as (

    select
        -- ids
        person_id,
        issue_id,
        repo,
        number as issue_number,
        github_login,
        author_login,
        html_url,
        title as issue_title,
        state as issue_state,

        -- timestamps
        created_at,
        updated_at,
        closed_at,

        -- lineage
        _loaded_at as loaded_at

    from source

)

select * from renamed
