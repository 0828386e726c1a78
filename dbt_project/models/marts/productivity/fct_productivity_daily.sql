{{ config(indexes=[{'columns': ['person_id', 'local_date']}]) }}

-- GitHub productivity per person and local date. Rules (focus blocks, score) are documented in the yml.
with

activity as (

    select * from {{ ref('int_github_events_unioned') }}

),

calendar as (

    select * from {{ ref('stg_github__contributions_daily') }}

),

actions as (

    -- the person's own actions in time order; one more than 30 minutes after the previous starts a block
    select
        *,
        case
            when
                lag(occurred_at) over (partition by person_id order by occurred_at, event_type, event_key)
                >= occurred_at - interval '30 minutes'
                then 0
            else 1
        end as starts_block
    from activity
    where is_person_action

),

numbered as (

    select
        *,
        sum(starts_block) over (
            partition by person_id order by occurred_at, event_type, event_key
            rows between unbounded preceding and current row
        ) as block_id
    from actions

),

blocks as (

    -- a block belongs to the local date of its first action (local dates only grow with time)
    select
        person_id,
        block_id,
        min(local_date) as local_date,
        extract(epoch from max(occurred_at) - min(occurred_at)) / 60.0 as block_minutes
    from numbered
    group by person_id, block_id

),

focus_daily as (

    select
        person_id,
        local_date,
        count(*) as focus_blocks,
        round(sum(block_minutes), 1) as focus_minutes
    from blocks
    where block_minutes >= 60
    group by person_id, local_date

),

activity_daily as (

    select
        person_id,
        local_date,
        count(*) filter (where event_type = 'commit' and not is_merge_commit) as commits,
        coalesce(sum(lines_added) filter (where event_type = 'commit' and not is_merge_commit), 0) as lines_added,
        coalesce(sum(lines_deleted) filter (where event_type = 'commit' and not is_merge_commit), 0)
            as lines_deleted,
        count(*) filter (where event_type = 'pull_request_opened') as prs_opened,
        count(*) filter (where event_type = 'pull_request_merged') as prs_merged,
        count(*) filter (where event_type = 'review') as reviews,
        count(*) filter (where event_type = 'issue_opened') as issues_opened,
        count(distinct repo) filter (where is_person_action) as distinct_repos,
        -- a local hour is identified by its start as a real instant (local hour start − the UTC offset),
        -- so the repeated hour of a fall-back night counts twice and nothing is lost in spring
        count(
            distinct date_trunc('hour', occurred_at_local) - (occurred_at_local - (occurred_at at time zone 'UTC'))
        ) filter (where is_person_action) as active_coding_hours,
        -- first / last by the instant, not by the wall clock (02:10 CET comes after 02:50 CEST)
        ((array_agg(occurred_at_local order by occurred_at) filter (where is_person_action))[1])::time
            as first_activity_local_time,
        ((array_agg(occurred_at_local order by occurred_at desc) filter (where is_person_action))[1])::time
            as last_activity_local_time,
        count(*) filter (where is_person_action) as activity_events
    from activity
    group by person_id, local_date

),

days as (

    select
        person_id,
        local_date
    from activity_daily
    union
    select
        person_id,
        contribution_date as local_date
    from calendar

),

combined as (

    select
        days.person_id,
        days.local_date,
        extract(isodow from days.local_date) in (6, 7) as is_weekend,
        coalesce(a.commits, 0) as commits,
        coalesce(a.lines_added, 0) as lines_added,
        coalesce(a.lines_deleted, 0) as lines_deleted,
        coalesce(a.prs_opened, 0) as prs_opened,
        coalesce(a.prs_merged, 0) as prs_merged,
        coalesce(a.reviews, 0) as reviews,
        coalesce(a.issues_opened, 0) as issues_opened,
        coalesce(a.distinct_repos, 0) as distinct_repos,
        coalesce(a.activity_events, 0) as activity_events,
        coalesce(a.active_coding_hours, 0) as active_coding_hours,
        a.first_activity_local_time,
        a.last_activity_local_time,
        coalesce(f.focus_blocks, 0) as focus_blocks,
        coalesce(f.focus_minutes, 0) as focus_minutes,
        c.contribution_count as github_contributions
    from days
    left join activity_daily as a on days.person_id = a.person_id and days.local_date = a.local_date
    left join focus_daily as f on days.person_id = f.person_id and days.local_date = f.local_date
    left join calendar as c on days.person_id = c.person_id and days.local_date = c.contribution_date

)

select
    *,
    -- productivity score, 0–100 (formula in the yml)
    least(
        100,
        round(
            4 * commits + 5 * prs_opened + 8 * prs_merged + 4 * reviews + 3 * issues_opened
            + 2 * active_coding_hours + focus_minutes / 6.0
        )
    )::integer as productivity_score
from combined
