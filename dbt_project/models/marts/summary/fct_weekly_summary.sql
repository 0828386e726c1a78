{{ config(indexes=[{'columns': ['person_id', 'iso_year', 'iso_week'], 'unique': true}]) }}

-- One row per person and ISO week (Monday to Sunday, local dates) over fct_daily_summary. Sums and means
-- skip days without the source's data, so a measure stays null for a week in which its source has none.
with

daily as (

    select * from {{ ref('fct_daily_summary') }}

)

select
    person_id,
    extract(isoyear from local_date)::integer as iso_year,
    extract(week from local_date)::integer as iso_week,
    min(date_trunc('week', local_date)::date) as week_start,
    count(*) as days_covered,
    count(*) filter (where has_github_data) as days_with_github_data,
    count(*) filter (where has_consumption_data) as days_with_consumption_data,
    count(*) filter (where has_weather_data) as days_with_weather_data,
    count(*) filter (where has_health_data) as days_with_health_data,

    -- productivity
    sum(commits) as commits,
    sum(lines_added) as lines_added,
    sum(lines_deleted) as lines_deleted,
    sum(prs_opened) as prs_opened,
    sum(prs_merged) as prs_merged,
    sum(reviews) as reviews,
    sum(issues_opened) as issues_opened,
    sum(active_coding_hours) as active_coding_hours,
    sum(focus_blocks) as focus_blocks,
    sum(focus_minutes) as focus_minutes,
    round(avg(productivity_score), 1) as productivity_score_mean,
    count(*) filter (where commits > 0 or prs_opened > 0 or reviews > 0 or issues_opened > 0) as active_coding_days,

    -- consumption
    sum(music_minutes) as music_minutes,
    sum(podcast_minutes) as podcast_minutes,
    sum(listened_minutes) as listened_minutes,
    sum(watched_minutes) as watched_minutes,
    sum(late_night_screen_minutes) as late_night_screen_minutes,
    sum(binge_sessions) as binge_sessions,

    -- health
    sum(steps) as steps,
    round(avg(steps)) as steps_daily_mean,
    round(avg(active_minutes), 1) as active_minutes_daily_mean,
    round(avg(asleep_minutes), 1) as asleep_minutes_mean,
    round(avg(sleep_efficiency_pct), 1) as sleep_efficiency_pct_mean,
    round(avg(resting_bpm), 1) as resting_bpm_mean,

    -- weather
    round(avg(temperature_mean_c), 1) as temperature_mean_c,
    max(temperature_max_c) as temperature_max_c,
    min(temperature_min_c) as temperature_min_c,
    sum(precipitation_sum_mm) as precipitation_sum_mm,
    sum(sunshine_hours) as sunshine_hours
from daily
group by person_id, extract(isoyear from local_date), extract(week from local_date)
