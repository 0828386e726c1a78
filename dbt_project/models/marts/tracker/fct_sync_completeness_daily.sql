{{ config(indexes=[{'columns': ['person_id', 'source_family', 'local_date'], 'unique': true}]) }}

-- The sync and completeness report: one row per person, source family and local date, from the first day of
-- the person's collection window (collect_from; without one, the family's first day with data) up to today in
-- their zone (or the last day before collect_until). A family is reported for a person when their config
-- collects it (an account, a location) or the warehouse holds data of it.
-- Heart rate is checked against the device's expected count: one minute with samples per minute of the local
-- day — 1440, or 1380 / 1500 on DST days (the day's length in the zone). looks_truncated marks the failure
-- people hit with clients that drop pages (fitbit-grafana's Google mode kept only a day's last ~4 hours by
-- ignoring nextPageToken): the day has samples only in its last 6 hours, although the watch was worn into the
-- last hour of the previous day — it was on the wrist at midnight, yet the first 18+ hours are missing.
with

people as (

    select * from {{ ref('stg_tracker__people') }}

),

data_days as (

    select * from {{ ref('int_data_days_unioned') }}

),

collected_by as (

    -- which config key collects a family: an account (accounts.<key>), or any location for the weather
    select * from (
        values
        ('heart_rate', 'google_health'),
        ('activity', 'google_health'),
        ('sleep', 'google_health'),
        ('github', 'github'),
        ('music', 'lastfm'),
        ('watching', 'trakt'),
        ('watching', 'netflix_profile'),
        ('weather', 'locations')
    ) as family_keys (source_family, config_key)

),

configured as (

    select distinct
        people.person_id,
        collected_by.source_family
    from people
    inner join collected_by
        on
            people.config -> 'accounts' ->> collected_by.config_key is not null
            or (
                collected_by.config_key = 'locations'
                and jsonb_array_length(coalesce(people.config -> 'locations', '[]')) > 0
            )

),

first_data as (

    select
        person_id,
        source_family,
        min(local_date) as first_data_date
    from data_days
    group by person_id, source_family

),

families as (

    select
        person_id,
        source_family
    from configured
    union
    select
        person_id,
        source_family
    from first_data

),

spans as (

    select
        families.person_id,
        families.source_family,
        people.timezone,
        coalesce(people.collect_from, first_data.first_data_date) as span_from,
        least(
            (current_timestamp at time zone people.timezone)::date,
            people.collect_until - 1
        ) as span_to,
        (current_timestamp at time zone people.timezone)::date as today
    from families
    inner join people on families.person_id = people.person_id
    left join first_data
        on families.person_id = first_data.person_id and families.source_family = first_data.source_family

),

spine as (

    select
        spans.person_id,
        spans.source_family,
        spans.timezone,
        spans.today,
        spine_days.spine_day::date as local_date
    from spans
    cross join lateral generate_series(spans.span_from, spans.span_to, interval '1 day') as spine_days (spine_day)

),

heart_rate_days as (

    select
        person_id,
        local_date,
        lag(last_sample_until) over (partition by person_id order by local_date) as previous_last_sample_until,
        lag(local_date) over (partition by person_id order by local_date) as previous_local_date
    from data_days
    where source_family = 'heart_rate'

),

days as (

    select
        spine.person_id,
        spine.source_family,
        spine.local_date,
        spine.timezone,
        spine.local_date < spine.today as is_complete_day,
        data_days.local_date is not null as has_data,
        coalesce(data_days.data_rows, 0) as data_rows,
        data_days.minutes_with_samples,
        data_days.first_sample_at,
        data_days.last_sample_until,
        heart_rate_days.previous_last_sample_until,
        heart_rate_days.previous_local_date,
        (spine.local_date::timestamp at time zone spine.timezone) as day_start,
        ((spine.local_date + 1)::timestamp at time zone spine.timezone) as day_end
    from spine
    left join data_days
        on
            spine.person_id = data_days.person_id
            and spine.source_family = data_days.source_family
            and spine.local_date = data_days.local_date
    left join heart_rate_days
        on
            spine.source_family = 'heart_rate'
            and spine.person_id = heart_rate_days.person_id
            and spine.local_date = heart_rate_days.local_date

)

select
    person_id,
    source_family,
    local_date,
    is_complete_day,
    has_data,
    data_rows,
    case
        when source_family = 'heart_rate' then round(extract(epoch from day_end - day_start) / 60.0)::integer
    end as expected_minutes,
    case when source_family = 'heart_rate' then coalesce(minutes_with_samples, 0)::integer end
        as minutes_with_samples,
    case
        when source_family = 'heart_rate'
            then round(coalesce(minutes_with_samples, 0) / (extract(epoch from day_end - day_start) / 60.0), 4)
    end as coverage,
    (first_sample_at at time zone timezone)::time as first_sample_local,
    (last_sample_until at time zone timezone)::time as last_sample_until_local,
    case
        when source_family = 'heart_rate'
            then coalesce(
                first_sample_at >= day_end - interval '6 hours'
                and previous_local_date = local_date - 1
                and previous_last_sample_until >= day_start - interval '1 hour',
                false
            )
    end as looks_truncated
from days
