-- Every GitHub activity event of each person, one row per event, with the local time and date in the
-- person's configured zone: commits authored, pull requests opened, reviews submitted, issues opened — the
-- person's own actions — and pull requests merged (by whoever merged them: not counted as the person's
-- activity time).
with

commits as (

    select * from {{ ref('stg_github__commits') }}

),

pull_requests as (

    select * from {{ ref('stg_github__pull_requests') }}

),

reviews as (

    select * from {{ ref('stg_github__reviews') }}

),

issues as (

    select * from {{ ref('stg_github__issues') }}

),

people as (

    select * from {{ ref('stg_tracker__people') }}

),

events as (

    select
        person_id,
        'commit' as event_type,
        repo || '@' || commit_sha as event_key,
        repo,
        authored_at as occurred_at,
        lines_added,
        lines_deleted,
        is_merge_commit,
        true as is_person_action
    from commits

    union all

    select
        person_id,
        'pull_request_opened' as event_type,
        pull_request_id::text as event_key,
        repo,
        created_at as occurred_at,
        null::integer as lines_added,
        null::integer as lines_deleted,
        false as is_merge_commit,
        true as is_person_action
    from pull_requests

    union all

    select
        person_id,
        'pull_request_merged' as event_type,
        pull_request_id::text as event_key,
        repo,
        merged_at as occurred_at,
        null::integer as lines_added,
        null::integer as lines_deleted,
        false as is_merge_commit,
        false as is_person_action
    from pull_requests
    where merged_at is not null

    union all

    select
        person_id,
        'review' as event_type,
        review_id::text as event_key,
        repo,
        submitted_at as occurred_at,
        null::integer as lines_added,
        null::integer as lines_deleted,
        false as is_merge_commit,
        true as is_person_action
    from reviews

    union all

    select
        person_id,
        'issue_opened' as event_type,
        issue_id::text as event_key,
        repo,
        created_at as occurred_at,
        null::integer as lines_added,
        null::integer as lines_deleted,
        false as is_merge_commit,
        true as is_person_action
    from issues

)

select
    events.person_id,
    events.event_type,
    events.event_key,
    events.repo,
    events.occurred_at,
    events.occurred_at at time zone people.timezone as occurred_at_local,
    (events.occurred_at at time zone people.timezone)::date as local_date,
    events.lines_added,
    events.lines_deleted,
    events.is_merge_commit,
    events.is_person_action
from events
left join people on events.person_id = people.person_id
