-- Change log of raw.fitbit__heart_rate: one row per load or replace, naming the person and the observed_at
-- range [changed_from, changed_to] (inclusive) whose samples may have been inserted or deleted, and the
-- writing transaction (txid). int_heart_rate_samples_aggregated_to_minutes rebuilds exactly those ranges: it keeps the
-- snapshot xmin of its last run as a high-water mark, so a load that started earlier but committed later
-- (concurrent export workers, API + import, backfills) is still picked up, and deletions reach silver.
-- Writers: loader.replace_window (tracker.warehouse.changes.record_window) and, for export files, the
-- trigger on raw.fitbit__heart_rate_files below (a file's rows and its manifest row share one transaction).
-- Any other code that inserts or deletes heart-rate samples must call tracker.warehouse.changes.record.
create table if not exists raw.fitbit__heart_rate_changes (
    change_id bigint generated always as identity primary key,
    person_id text not null,
    changed_from timestamptz not null,
    changed_to timestamptz not null,
    txid xid8 not null default pg_current_xact_id(),
    _run_id text,
    _loaded_at timestamptz not null default now(),
    check (changed_from <= changed_to)
);
create index if not exists fitbit__heart_rate_changes_txid_idx on raw.fitbit__heart_rate_changes (txid);

-- An export file's load (delete its old rows, COPY the new ones, upsert its manifest row): the samples of
-- the old load [OLD.first_at, OLD.last_at] and of the new one [NEW.first_at, NEW.last_at] changed.
create or replace function raw.fitbit__heart_rate_files_log_change() returns trigger
language plpgsql as $$
declare
    lo timestamptz;
    hi timestamptz;
    who text;
    run text;
begin
    if tg_op = 'DELETE' then
        lo := old.first_at; hi := old.last_at; who := old.person_id; run := old._run_id;
    elsif tg_op = 'INSERT' then
        lo := new.first_at; hi := new.last_at; who := new.person_id; run := new._run_id;
    else
        lo := least(old.first_at, new.first_at); hi := greatest(old.last_at, new.last_at);
        who := new.person_id; run := new._run_id;
    end if;
    if lo is not null then
        insert into raw.fitbit__heart_rate_changes (person_id, changed_from, changed_to, _run_id)
        values (who, lo, hi, run);
    end if;
    return null;
end
$$;

drop trigger if exists fitbit__heart_rate_files_log_change on raw.fitbit__heart_rate_files;
create trigger fitbit__heart_rate_files_log_change
    after insert or update or delete on raw.fitbit__heart_rate_files
    for each row execute function raw.fitbit__heart_rate_files_log_change();
