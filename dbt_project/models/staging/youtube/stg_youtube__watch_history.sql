with

source as (

    select * from {{ source('youtube', 'youtube__watch_history') }}

),

renamed as (

    select
        -- ids
        person_id,
        person_timezone,
        item_key,
        service,
        video_id,
        video_title,
        title as exported_title,
        title_url as video_url,
        channel_id,
        channel_name,
        channel_url,

        -- timestamps
        watched_at,
        (watched_at at time zone person_timezone) as watched_at_local,
        (watched_at at time zone person_timezone)::date as local_date,

        -- flags
        is_ad,
        is_removed,

        -- lineage
        source_file,
        _loaded_at as loaded_at

    from source

)

select * from renamed
