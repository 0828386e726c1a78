with

source as (

    select * from {{ source('fitbit', 'fitbit__exercises') }}

),

renamed as (

    select
        person_id,
        source as data_source,
        exercise_id,
        upper(exercise_type) as exercise_type,
        display_name,
        start_at,
        end_at,
        active_seconds,
        distance_m::numeric as distance_m,
        steps,
        calories_kcal::numeric as calories_kcal,
        average_hr_bpm::numeric as device_average_hr_bpm,
        light_s,
        moderate_s,
        vigorous_s,
        peak_s
    from source

)

select * from renamed
