{{ config(severity='warn') }}

-- The sign-in alert: a WARN in every dbt build / test run while some person's refresh token expires within
-- var('sign_in_alert_days', 2) days or has expired (Google "Testing" apps: 7 days after sign-in). The person
-- signs in again (`tracker auth google-health --account <account>`); nothing downstream stops.
select distinct
    person_id,
    sign_in_provider,
    sign_in_account,
    refresh_token_expires_at,
    sign_in_expires_in_days
from {{ ref('dim_person_sync') }}
where sign_in_expires_in_days <= {{ var('sign_in_alert_days', 2) }}
