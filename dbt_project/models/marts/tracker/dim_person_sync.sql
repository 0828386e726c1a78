-- Per person and source family: how the collection is going (from fct_sync_completeness_daily) and the
-- sign-in it depends on (auth.oauth_tokens through stg_auth__sign_ins: provider, account, expiry — never a
-- token). Google Health (heart rate, activity, sleep) signs in per person; Trakt (watching) too. A sign-in
-- alerts when it is missing, has expired, or its refresh token expires within var('sign_in_alert_days', 2)
-- days: Google "Testing" apps expire refresh tokens 7 days after sign-in. Figures are as of the dbt run (as_of).
with

days as (

    select * from {{ ref('fct_sync_completeness_daily') }}

),

people as (

    select * from {{ ref('stg_tracker__people') }}

),

sign_ins as (

    select * from {{ ref('stg_auth__sign_ins') }}

),

per_family as (

    select
        person_id,
        source_family,
        min(local_date) filter (where has_data) as first_data_date,
        max(local_date) filter (where has_data) as last_data_date,
        count(*) filter (where is_complete_day) as days_reported,
        count(*) filter (where is_complete_day and has_data) as days_with_data,
        count(*) filter (where is_complete_day and not has_data) as days_without_data,
        count(*) filter (where looks_truncated) as days_looking_truncated,
        round(avg(coverage) filter (where is_complete_day and has_data), 4) as mean_coverage_on_days_with_data
    from days
    group by person_id, source_family

),

needed as (

    select
        per_family.*,
        people.collect_from,
        people.collect_until,
        (current_timestamp at time zone people.timezone)::date as today,
        case
            when
                per_family.source_family in ('heart_rate', 'activity', 'sleep')
                and people.config -> 'accounts' ->> 'google_health' is not null
                then 'google_health'
            when
                per_family.source_family = 'watching'
                and people.config -> 'accounts' ->> 'trakt' is not null
                then 'trakt'
        end as sign_in_provider,
        case
            when per_family.source_family in ('heart_rate', 'activity', 'sleep')
                then people.config -> 'accounts' ->> 'google_health'
            when per_family.source_family = 'watching' then people.config -> 'accounts' ->> 'trakt'
        end as sign_in_account
    from per_family
    inner join people on per_family.person_id = people.person_id

),

joined as (

    select
        needed.*,
        sign_ins.account is not null as has_sign_in,
        sign_ins.sign_in_updated_at,
        sign_ins.sign_in_rejected_at,
        sign_ins.refresh_token_expires_at,
        round(extract(epoch from sign_ins.refresh_token_expires_at - current_timestamp) / 86400.0, 1)
            as sign_in_expires_in_days
    from needed
    left join sign_ins
        on needed.sign_in_provider = sign_ins.provider and needed.sign_in_account = sign_ins.account

)

select
    person_id,
    source_family,
    collect_from,
    collect_until,
    first_data_date,
    last_data_date,
    today - last_data_date as days_since_last_data,
    days_reported,
    days_with_data,
    days_without_data,
    days_looking_truncated,
    mean_coverage_on_days_with_data,
    sign_in_provider,
    sign_in_account,
    case
        when sign_in_provider is null then 'not_needed'
        when not has_sign_in then 'missing'
        when sign_in_rejected_at is not null then 'revoked'
        when refresh_token_expires_at <= current_timestamp then 'expired'
        when sign_in_expires_in_days <= {{ var('sign_in_alert_days', 2) }} then 'expiring'
        else 'signed_in'
    end as sign_in_status,
    sign_in_updated_at,
    sign_in_rejected_at,
    refresh_token_expires_at,
    sign_in_expires_in_days,
    coalesce(
        sign_in_provider is not null
        and (
            not has_sign_in
            or sign_in_rejected_at is not null
            or sign_in_expires_in_days <= {{ var('sign_in_alert_days', 2) }}
        ),
        false
    ) as sign_in_alert,
    current_timestamp as as_of
from joined
