-- API request quotas shared by every process (tracker.sources.quota.PostgresRateLimiter): one row per request
-- an API client was allowed to send, in the database's clock. A request is admitted only while fewer than the
-- quota's limit were admitted for the same (api, subject) in the sliding window before it, checked and
-- recorded in one transaction under a per-subject advisory lock — so concurrent tasks, runs and backfills on
-- any worker share one budget. Rows older than a day are deleted as new ones arrive; the day kept is the
-- audit of peak requests per minute.
create schema if not exists quota;
create table if not exists quota.requests (
    api text not null,              -- google_health, github, …
    subject text not null,          -- what the limit is counted per: user:<account>, project:<client id>, …
    admitted_at timestamptz not null default clock_timestamp()
);
create index if not exists requests_subject_time on quota.requests (api, subject, admitted_at);
