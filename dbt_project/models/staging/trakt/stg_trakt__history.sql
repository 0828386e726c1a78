with

source as (

    select * from {{ source('trakt', 'trakt__history') }}

),

renamed as (

    select
        -- ids
        person_id,
        history_id,
        media_type,
        action as watch_action,
        title,
        show_title,
        trakt_id,
        show_trakt_id,
        slug,
        imdb_id,
        tmdb_id,

        -- dates
        year as release_year,
        season as season_number,
        episode as episode_number,

        -- timestamps
        watched_at,

        -- measures
        runtime_minutes,

        -- lineage
        _loaded_at as loaded_at

    from source

)

select * from renamed
