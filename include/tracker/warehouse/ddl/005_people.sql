-- The configured people, synced from the config file on every DAG's first task: dbt reads time zones here.
create table if not exists raw.tracker__people (
    person_id text primary key,
    timezone text not null,
    config jsonb not null,
    _run_id text not null,
    _loaded_at timestamptz not null default now()
);
