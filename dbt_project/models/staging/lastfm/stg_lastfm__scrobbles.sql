with

source as (

    select * from {{ source('lastfm', 'lastfm__scrobbles') }}

),

renamed as (

    select
        -- ids
        person_id,
        lastfm_user,
        artist as artist_name,
        track as track_name,
        album as album_name,
        artist_mbid,
        track_mbid,
        album_mbid,
        url as track_url,

        -- timestamps
        played_at,

        -- flags
        loved as is_loved,

        -- lineage
        _loaded_at as loaded_at

    from source

)

select * from renamed
