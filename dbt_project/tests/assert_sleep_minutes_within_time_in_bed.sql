-- Every minute figure of a main sleep lies within [0, its time in bed], and the stage segments do not add up to
-- more than the time in bed (one clock: elapsed time). A row returned here is a night out of its physical range.
select
    person_id,
    wake_date,
    in_bed_minutes,
    asleep_minutes,
    awake_minutes,
    deep_minutes,
    light_minutes,
    rem_minutes,
    wake_minutes
from {{ ref('fct_sleep_daily') }}
where
    in_bed_minutes is not null
    and (
        asleep_minutes not between 0 and in_bed_minutes
        or awake_minutes not between 0 and in_bed_minutes
        or coalesce(deep_minutes, 0) + coalesce(light_minutes, 0) + coalesce(rem_minutes, 0)
        + coalesce(wake_minutes, 0) > in_bed_minutes + 0.5
    )
