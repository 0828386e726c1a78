with

source as (

    select * from {{ source('netflix', 'netflix__viewing_activity') }}

),

renamed as (

    select
        -- ids
        person_id,
        profile_name,
        person_timezone,
        title,
        show_title,
        season_label,
        season_number,
        episode_title,
        episode_number,
        supplemental_video_type,
        device_type,
        country,
        attributes,

        -- timestamps
        started_at,
        started_at + make_interval(secs => duration_seconds) as ended_at,
        (started_at at time zone person_timezone) as started_at_local,
        (started_at at time zone person_timezone)::date as local_date,

        -- measures
        duration_seconds,
        bookmark_seconds,
        latest_bookmark_seconds,

        -- flags
        is_supplemental,
        is_latest_view,

        -- lineage
        source_file,
        _loaded_at as loaded_at

    from source

)

select * from renamed
