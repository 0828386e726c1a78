-- The sign-ins' expiry, never their secrets: the source CTE selects only provider, account, the refresh token's
-- expiry (Google "Testing" apps: 7 days after sign-in; null when the provider gives none) and updated_at.
with

source as (

    select
        provider,
        account,
        tokens ->> 'refresh_token_expires_at' as refresh_token_expires_at,
        updated_at
    from {{ source('auth', 'oauth_tokens') }}

),

renamed as (

    select
        provider,
        account,
        refresh_token_expires_at::timestamptz as refresh_token_expires_at,
        updated_at as sign_in_updated_at
    from source

)

select * from renamed
