{{ config(indexes=[{'columns': ['person_id', 'local_date'], 'unique': true}]) }}

-- How long the watch was worn per local date, from intraday heart rate: a minute counts as worn when it holds
-- at least one sample. Local days are 23, 24 or 25 hours long (DST); gaps are measured in UTC instants.
with

minutes as (

    select * from {{ ref('int_heart_rate_samples_aggregated_to_minutes') }}

),

people as (

    select * from {{ ref('stg_tracker__people') }}

),

days as (

    select distinct
        minutes.person_id,
        minutes.local_date,
        (minutes.local_date::timestamp at time zone people.timezone) as day_start,
        ((minutes.local_date + 1)::timestamp at time zone people.timezone) as day_end
    from minutes
    inner join people on minutes.person_id = people.person_id

),

gaps as (

    select
        minutes.person_id,
        minutes.local_date,
        minutes.minute_at,
        minutes.covered_seconds,
        days.day_start,
        days.day_end,
        extract(epoch from minutes.minute_at - coalesce(
            lag(minutes.minute_at) over (partition by minutes.person_id, minutes.local_date order by minutes.minute_at)
            + interval '1 minute',
            days.day_start
        )) / 60.0 as gap_before_minutes
    from minutes
    inner join days on minutes.person_id = days.person_id and minutes.local_date = days.local_date

),

per_day as (

    select
        person_id,
        local_date,
        min(day_start) as day_start,
        min(day_end) as day_end,
        count(*) as worn_minutes,
        sum(covered_seconds) / 60.0 as covered_minutes,
        min(minute_at) as first_worn_at,
        max(minute_at) as last_worn_at,
        max(gap_before_minutes) as longest_inner_gap_minutes
    from gaps
    group by person_id, local_date

)

select
    per_day.person_id,
    per_day.local_date,
    round(extract(epoch from per_day.day_end - per_day.day_start) / 60.0) as day_minutes,
    per_day.worn_minutes,
    round(per_day.covered_minutes, 1) as covered_minutes,
    round(per_day.worn_minutes / (extract(epoch from per_day.day_end - per_day.day_start) / 60.0), 4)
        as worn_share,
    round(greatest(
        per_day.longest_inner_gap_minutes,
        extract(epoch from per_day.day_end - (per_day.last_worn_at + interval '1 minute')) / 60.0
    ), 1) as longest_gap_minutes,
    (per_day.first_worn_at at time zone people.timezone)::time as first_worn_local,
    ((per_day.last_worn_at + interval '1 minute') at time zone people.timezone)::time as last_worn_local
from per_day
inner join people on per_day.person_id = people.person_id
