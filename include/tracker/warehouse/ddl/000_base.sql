-- Schemas, the quarantine and the analyst's read-only access to gold.
create schema if not exists raw;
create schema if not exists silver;
create schema if not exists gold;

create table if not exists raw._schema_migrations (
    name text primary key,
    applied_at timestamptz not null default now()
);
-- sha256 of the file's text when it was last applied: a file is re-applied only when it changes
alter table raw._schema_migrations add column if not exists checksum text;

-- Records that failed validation: never dropped silently, never crashing the whole load.
create table if not exists raw.quarantine (
    id bigint generated always as identity primary key,
    person_id text not null,
    source text not null,
    entity text not null,
    window_start timestamptz,
    window_end timestamptz,
    locator text,              -- file and line, URL, or record key: where to look
    record_at timestamptz,     -- the record's own time, when it has one
    reason text not null,
    raw_text text not null,
    _run_id text not null,
    _loaded_at timestamptz not null default now()
);
create index if not exists quarantine_person_source_idx
    on raw.quarantine (person_id, source, entity, window_start);

grant usage on schema gold to analyst;
grant select on all tables in schema gold to analyst;
alter default privileges in schema gold grant select on tables to analyst;
