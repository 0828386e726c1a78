-- GitHub activity of each person's `accounts.github` login, UTC instants. Loads are keyed merges bounded by
-- the run's window on each table's time column, so a rerun of a day changes nothing that is unchanged.
-- record holds the original API item; github_login the account it was fetched for.

-- Commits authored by the user (search API), with line counts from the commit detail.
create table if not exists raw.github__commits (
    person_id text not null,
    repo text not null,                    -- owner/name
    sha text not null,
    authored_at timestamptz not null,      -- window column
    committed_at timestamptz,
    message text not null,
    author_login text,                     -- null when the e-mail is not linked to an account
    author_email text,
    parent_count integer not null,         -- > 1: a merge commit
    html_url text,
    additions integer,                     -- null when GitHub has no stats
    deletions integer,
    github_login text not null,
    record jsonb not null,
    _run_id text not null,
    _loaded_at timestamptz not null default now(),
    primary key (person_id, repo, sha)
);
create index if not exists github__commits_person_time_idx on raw.github__commits (person_id, authored_at);

-- Pull requests the user opened (by creation time; state, merge and close as of the last load).
create table if not exists raw.github__pull_requests (
    person_id text not null,
    pull_request_id bigint not null,       -- GitHub's issue id of the PR (unique across repos)
    repo text not null,
    number integer not null,
    title text not null,
    state text not null,                   -- open | closed
    draft boolean,
    created_at timestamptz not null,       -- window column
    updated_at timestamptz not null,
    closed_at timestamptz,
    merged_at timestamptz,
    author_login text,
    html_url text,
    github_login text not null,
    record jsonb not null,
    _run_id text not null,
    _loaded_at timestamptz not null default now(),
    primary key (person_id, pull_request_id)
);
create index if not exists github__pull_requests_person_time_idx
    on raw.github__pull_requests (person_id, created_at);

-- Reviews the user submitted on pull requests (their own or teammates').
create table if not exists raw.github__reviews (
    person_id text not null,
    review_id bigint not null,
    repo text not null,
    pr_number integer not null,
    pr_title text not null,
    state text not null,                   -- APPROVED | CHANGES_REQUESTED | COMMENTED | DISMISSED
    submitted_at timestamptz not null,     -- window column
    html_url text,
    github_login text not null,
    record jsonb not null,
    _run_id text not null,
    _loaded_at timestamptz not null default now(),
    primary key (person_id, review_id)
);
create index if not exists github__reviews_person_time_idx on raw.github__reviews (person_id, submitted_at);

-- Issues the user opened.
create table if not exists raw.github__issues (
    person_id text not null,
    issue_id bigint not null,
    repo text not null,
    number integer not null,
    title text not null,
    state text not null,
    created_at timestamptz not null,       -- window column
    updated_at timestamptz not null,
    closed_at timestamptz,
    author_login text,
    html_url text,
    github_login text not null,
    record jsonb not null,
    _run_id text not null,
    _loaded_at timestamptz not null default now(),
    primary key (person_id, issue_id)
);
create index if not exists github__issues_person_time_idx on raw.github__issues (person_id, created_at);

-- The contribution calendar (GraphQL): one row per calendar day. Days follow the GitHub profile's time
-- zone, not UTC; day_start is the day's date at 00:00 UTC, the window column (a run loads the days
-- its window's dates cover). The primary key (person_id, day) is also the person-and-time index.
create table if not exists raw.github__contributions_daily (
    person_id text not null,
    day date not null,
    day_start timestamptz not null,        -- day at 00:00 UTC
    contribution_count integer not null,
    weekday smallint,                      -- 0 = Sunday, as GitHub sends it
    color text,
    github_login text not null,
    record jsonb not null,
    _run_id text not null,
    _loaded_at timestamptz not null default now(),
    primary key (person_id, day)
);
create index if not exists github__contributions_daily_person_time_idx
    on raw.github__contributions_daily (person_id, day_start);
