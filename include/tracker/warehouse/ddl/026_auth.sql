-- OAuth sign-ins the DAGs refresh (`tracker auth google-health` writes the first pair). Only the loader role
-- (the warehouse owner) can read this schema: the analyst role is granted gold only.
create schema if not exists auth;
create table if not exists auth.oauth_tokens (
    provider text not null,         -- google_health
    account text not null,          -- the person's accounts.<provider> value in the config
    tokens jsonb not null,          -- access_token, refresh_token, expires_at, scope, refresh_token_expires_at
    updated_at timestamptz not null default now(),
    primary key (provider, account)
);
