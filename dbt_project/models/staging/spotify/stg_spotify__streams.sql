with

source as (

    select * from {{ source('spotify', 'spotify__streams') }}

),

renamed as (

    select
        -- ids
        person_id,
        person_timezone,
        item_key,
        content_type,
        track_uri,
        track_name,
        artist_name,
        album_name,
        episode_uri,
        episode_name,
        show_name,
        audiobook_uri,
        audiobook_title,
        audiobook_chapter_uri,
        audiobook_chapter_title,
        platform,
        conn_country as country_code,
        reason_start,
        reason_end,

        -- timestamps
        started_at,
        ended_at,
        (started_at at time zone person_timezone) as started_at_local,
        (started_at at time zone person_timezone)::date as local_date,
        offline_at,

        -- measures
        ms_played,
        ms_played / 1000.0 as seconds_played,

        -- flags
        shuffle as is_shuffle,
        skipped as is_skipped,
        offline as is_offline,
        incognito_mode as is_incognito,

        -- lineage
        source_file,
        _loaded_at as loaded_at

    from source

)

select * from renamed
