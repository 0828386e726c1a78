-- API request quotas shared by every process (tracker.sources.quota.PostgresRateLimiter): how many requests an
-- API client was allowed to send, per (api, subject) and second of the database's clock. A request is admitted
-- only while the seconds of the quota's window (plus the current one: a conservative cover of any sliding
-- window) hold fewer than its limit — checked and counted in one transaction under a per-subject advisory lock,
-- so concurrent tasks, runs and backfills on any worker share one budget, and a check reads at most window+1
-- rows however many users share a project quota. Seconds older than a day are deleted as new ones arrive; the
-- day kept is the audit of peak requests per minute.
drop table if exists quota.requests;  -- the first version (one row per request, 2026-12-02): counts only
create schema if not exists quota;
create table if not exists quota.request_counts (
    api text not null,              -- google_health, …
    subject text not null,          -- what the limit is counted per: user:<account>, project:<client id>, …
    second timestamptz not null,    -- date_trunc('second', clock_timestamp()) of the admissions
    requests integer not null check (requests > 0),
    primary key (api, subject, second)
);
