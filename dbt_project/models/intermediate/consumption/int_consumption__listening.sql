-- Every listening play from every audio source, one row per play (Last.fm joins here when it lands).
with

spotify as (

    select * from {{ ref('stg_spotify__streams') }}

),

plays as (

    select
        person_id,
        'spotify' as service,
        case content_type when 'track' then 'music' when 'episode' then 'podcast' else content_type end
            as content_type,
        item_key,
        coalesce(track_name, episode_name, audiobook_chapter_title) as title,
        coalesce(artist_name, show_name, audiobook_title) as creator,
        started_at,
        ended_at,
        started_at_local,
        local_date,
        seconds_played,
        coalesce(is_skipped, false) as is_skipped
    from spotify

)

select * from plays
