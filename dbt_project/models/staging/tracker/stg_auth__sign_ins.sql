-- The sign-ins' expiry, never their secrets: the source CTE selects only provider, account, the refresh token's
-- expiry (Google "Testing" apps: 7 days after sign-in; null when the provider gives none), when the provider
-- last refused the refresh token (revoked or expired: the row's rejected_at, cleared by a new sign-in) and
-- updated_at.
with

source as (

    select
        provider,
        account,
        tokens ->> 'refresh_token_expires_at' as refresh_token_expires_at,
        tokens ->> 'rejected_at' as rejected_at,
        updated_at
    from {{ source('auth', 'oauth_tokens') }}

),

renamed as (

    select
        provider,
        account,
        refresh_token_expires_at::timestamptz as refresh_token_expires_at,
        rejected_at::timestamptz as sign_in_rejected_at,
        updated_at as sign_in_updated_at
    from source

)

select * from renamed
