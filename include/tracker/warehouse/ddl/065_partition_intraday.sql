-- The tables that grow per person-minute are range-partitioned on their time column, so that a one-day
-- query reads one partition, old months can be detached or archived whole, and a move to Citus
-- (`create_distributed_table(<table>, 'person_id')`, docs/scale-out.md) is a configuration step:
--   raw.fitbit__heart_rate   monthly  (keyless; BRIN (person_id, observed_at) + the BRINs of 020/025)
--   raw.fitbit__steps_minute yearly   (primary key (person_id, source, observed_at))
--   raw.fitbit__spo2_minute  yearly   (primary key (person_id, observed_at, source))
-- Every unique key holds person_id (Citus' distribution column) and observed_at (the partition key).
-- Partitions are <table>_pYYYYMM (monthly) or <table>_pYYYY (yearly), bounds in UTC, plus <table>_default,
-- which takes any row no partition covers: no row is ever refused.
--
-- New partitions: raw.ensure_partitions(table, from, to) creates the periods overlapping [from, to]
-- (moving any rows the default partition holds for them). The loader calls it for the time range of every
-- load into a partitioned table (one period ahead), the export importer's heart-rate writer for each file's;
-- you may call it by hand, e.g.
--   select raw.ensure_partitions('raw.fitbit__heart_rate', now(), now() + interval '1 year');
--
-- The migration: raw.partition_by_range converts an existing plain table in place, in this file's one
-- transaction, only when it is not partitioned yet (a fresh warehouse converts its empty tables): it
-- renames the table, creates the partitioned one like it, moves every row (the count is checked; a
-- mismatch aborts everything), re-points dependent views (dbt's silver views), recreates the indexes,
-- constraints and triggers under their own names, the grants, owner and comment, then drops the old
-- table. It holds an ACCESS EXCLUSIVE lock on the table while it runs.

-- 'month' or 'year': the period of a partitioned table (the tables above; any other: 'month').
create or replace function raw.partition_grain(parent regclass) returns text
language sql stable as $$
    select case parent::text
        when 'raw.fitbit__steps_minute' then 'year'
        when 'raw.fitbit__spo2_minute' then 'year'
        else 'month'
    end
$$;

-- Create the missing partitions of the periods overlapping [from_at, to_at] (UTC periods, at most within
-- 2000-01-01 .. now() + 10 years: a wild timestamp goes to the default partition instead of making
-- thousands of tables). Returns the number created; 0 when parent is not partitioned.
-- With lock_wait (e.g. '5s'), a creation that cannot get its locks in time (another load holds the table)
-- is skipped and returns -1: the rows go to the default partition and move out on a later call.
create or replace function raw.ensure_partitions(parent regclass, from_at timestamptz, to_at timestamptz,
                                                 lock_wait text default null) returns integer
language plpgsql as $$
declare
    nsp text;
    rel text;
    col text;
    grain text := raw.partition_grain(parent);
    step interval;
    fmt text;
    lo timestamp;
    hi timestamp;
    period timestamp;
    missing boolean := false;
    saved text;
    created integer;
begin
    select n.nspname, c.relname, a.attname into nsp, rel, col
    from pg_partitioned_table pt
    join pg_class c on c.oid = pt.partrelid
    join pg_namespace n on n.oid = c.relnamespace
    join pg_attribute a on a.attrelid = pt.partrelid and a.attnum = pt.partattrs[0]
    where pt.partrelid = parent;
    if rel is null or from_at is null or to_at is null then
        return 0;
    end if;
    step := case grain when 'year' then interval '1 year' else interval '1 month' end;
    fmt := case grain when 'year' then 'YYYY' else 'YYYYMM' end;
    lo := greatest(date_trunc(grain, least(from_at, to_at) at time zone 'UTC'), timestamp '2000-01-01');
    hi := least(date_trunc(grain, greatest(from_at, to_at) at time zone 'UTC'),
                date_trunc(grain, (now() + interval '10 years') at time zone 'UTC'));
    period := lo;
    while period <= hi loop  -- a catalog look-up per period, no lock: the common case creates nothing
        if to_regclass(format('%I.%I', nsp, rel || '_p' || to_char(period, fmt))) is null then
            missing := true;
            exit;
        end if;
        period := period + step;
    end loop;
    if not missing then
        return 0;
    end if;
    if lock_wait is null then
        return raw._create_partitions(parent, nsp, rel, col, lo, hi, step, fmt);
    end if;
    saved := current_setting('lock_timeout');
    begin
        perform set_config('lock_timeout', lock_wait, true);
        created := raw._create_partitions(parent, nsp, rel, col, lo, hi, step, fmt);
        perform set_config('lock_timeout', saved, true);
        return created;
    exception when lock_not_available or deadlock_detected then
        -- the block's changes (and its lock_timeout) are rolled back; the caller's transaction goes on
        raise notice '% partitions not created now (the table is busy): its rows go to %_default', parent, rel;
        return -1;
    end;
end
$$;

create or replace function raw._create_partitions(parent regclass, nsp text, rel text, col text, lo timestamp,
                                                  hi timestamp, step interval, fmt text) returns integer
language plpgsql as $$
declare
    period timestamp := lo;
    part text;
    has_default boolean := to_regclass(format('%I.%I', nsp, rel || '_default')) is not null;
    moved bigint;
    put bigint;
    created integer := 0;
begin
    -- two loads creating the same period: the second waits here, then finds it made
    perform pg_advisory_xact_lock(hashtext('tracker.partitions:' || parent::text));
    while period <= hi loop
        part := rel || '_p' || to_char(period, fmt);
        if to_regclass(format('%I.%I', nsp, part)) is null then
            moved := 0;
            if has_default then
                -- rows the default partition took for this period: out first (a partition cannot be
                -- created while the default holds rows of its range), back in right after, counted
                execute format('create temp table _tracker_moving on commit drop as with d as ('
                               'delete from %I.%I where %I >= $1 and %I < $2 returning *) select * from d',
                               nsp, rel || '_default', col, col)
                    using period at time zone 'UTC', (period + step) at time zone 'UTC';
                get diagnostics moved = row_count;
            end if;
            execute format('create table %I.%I partition of %s for values from (%L) to (%L)', nsp, part,
                           parent, period at time zone 'UTC', (period + step) at time zone 'UTC');
            if has_default then
                execute format('insert into %s select * from _tracker_moving', parent);
                get diagnostics put = row_count;
                if put <> moved then
                    raise exception '%: % rows taken out of the default partition, % put back', part, moved, put;
                end if;
                drop table _tracker_moving;
            end if;
            created := created + 1;
        end if;
        period := period + step;
    end loop;
    return created;
end
$$;

-- Convert parent (a plain table) into one partitioned by range on col, in place, every row kept; then make
-- sure the periods from history_from (or the data's first row) to now() + ahead exist. Idempotent: a table
-- that is partitioned already only gets its missing partitions. Returns the rows moved.
create or replace function raw.partition_by_range(parent regclass, col text, history_from timestamptz,
                                                  ahead interval) returns bigint
language plpgsql as $$
declare
    kind "char";
    nsp text;
    rel text;
    owner regrole;
    acl aclitem[];
    note text;
    old_name text;
    first_at timestamptz;
    last_at timestamptz;
    before bigint;
    moved bigint;
    views text[] := '{}';
    view_defs text[] := '{}';
    rebuild text[] := '{}';
    statement text;
    i integer;
    grant_row record;
begin
    select c.relkind, n.nspname, c.relname, c.relowner::regrole, c.relacl, obj_description(c.oid, 'pg_class')
    into kind, nsp, rel, owner, acl, note
    from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.oid = parent;
    if kind = 'p' then
        perform raw.ensure_partitions(parent, history_from, now() + ahead);
        return 0;
    end if;
    if kind is distinct from 'r' then
        raise exception '% is not a table', parent;
    end if;
    execute format('lock table %s in access exclusive mode', parent);

    -- what cannot be carried over safely stops the migration (nothing is changed)
    if exists (select 1 from pg_attribute where attrelid = parent and attnum > 0 and not attisdropped
               and (attidentity <> '' or pg_get_expr(
                   (select adbin from pg_attrdef where adrelid = parent and adnum = attnum), parent)
                   like 'nextval(%')) then
        raise exception '% has an identity or serial column: not converted', parent;
    end if;
    if exists (select 1 from pg_constraint where confrelid = parent) then
        raise exception '% is referenced by a foreign key: not converted', parent;
    end if;
    if exists (select 1 from pg_class where oid = parent and relrowsecurity) then
        raise exception '% has row level security: not converted', parent;
    end if;
    if exists (select 1 from pg_depend d join pg_rewrite r on r.oid = d.objid join pg_class v on v.oid = r.ev_class
               where d.classid = 'pg_rewrite'::regclass and d.refobjid = parent and v.oid <> parent
               and v.relkind = 'm') then
        raise exception '% has a materialized view depending on it: not converted', parent;
    end if;

    -- dependent views (dbt's silver views): their definitions, read before the rename so that replaying
    -- them binds to the new table
    select coalesce(array_agg(v.oid::regclass::text order by v.oid), '{}'),
           coalesce(array_agg(
               'create or replace view ' || v.oid::regclass::text
               || coalesce(' with (' || array_to_string(v.reloptions, ', ') || ')', '')
               || ' as ' || pg_get_viewdef(v.oid) order by v.oid), '{}')
    into views, view_defs
    from (select distinct v.oid, v.reloptions from pg_depend d
          join pg_rewrite r on r.oid = d.objid
          join pg_class v on v.oid = r.ev_class
          where d.classid = 'pg_rewrite'::regclass and d.refobjid = parent and v.oid <> parent) as v;
    -- indexes, key/check/foreign constraints and triggers, recreated under their own names after the swap
    -- (so that `create index if not exists` in the older files stays a no-op)
    select coalesce(array_agg(pg_get_indexdef(x.indexrelid) order by x.indexrelid), '{}') into rebuild
    from pg_index x where x.indrelid = parent
    and not exists (select 1 from pg_constraint k where k.conindid = x.indexrelid and k.conrelid = parent);
    select rebuild || coalesce(array_agg(format('alter table %s add constraint %I %s', parent, k.conname,
                                                pg_get_constraintdef(k.oid)) order by k.oid), '{}')
    into rebuild from pg_constraint k where k.conrelid = parent and k.contype in ('p', 'u', 'x', 'f');
    select rebuild || coalesce(array_agg(pg_get_triggerdef(t.oid) order by t.oid), '{}') into rebuild
    from pg_trigger t where t.tgrelid = parent and not t.tgisinternal;

    old_name := rel || '_unpartitioned';
    execute format('alter table %s rename to %I', parent, old_name);
    execute format('create table %I.%I (like %I.%I including all excluding indexes) partition by range (%I)',
                   nsp, rel, nsp, old_name, col);
    parent := format('%I.%I', nsp, rel)::regclass;

    execute format('select count(*), min(%I), max(%I) from %I.%I', col, col, nsp, old_name)
        into before, first_at, last_at;
    perform raw.ensure_partitions(parent, least(history_from, first_at), greatest(now() + ahead, last_at));
    execute format('create table %I.%I partition of %s default', nsp, rel || '_default', parent);
    execute format('insert into %s select * from %I.%I', parent, nsp, old_name);
    get diagnostics moved = row_count;
    if moved <> before then
        raise exception '%: % rows in the old table, % moved', parent, before, moved;
    end if;

    for i in 1 .. coalesce(array_length(view_defs, 1), 0) loop
        execute view_defs[i];
    end loop;
    execute format('drop table %I.%I', nsp, old_name);  -- restrict: anything else depending on it aborts
    foreach statement in array rebuild loop
        execute statement;
    end loop;

    if owner::oid <> (select oid from pg_roles where rolname = current_user) then
        execute format('alter table %s owner to %s', parent, owner);
    end if;
    for grant_row in select a.privilege_type, a.is_grantable,
                            case a.grantee when 0 then 'public' else a.grantee::regrole::text end
                                as grantee
                     from aclexplode(acl) as a where a.grantee <> owner::oid loop
        execute format('grant %s on %s to %s%s', grant_row.privilege_type, parent, grant_row.grantee,
                       case when grant_row.is_grantable then ' with grant option' else '' end);
    end loop;
    if note is not null then
        execute format('comment on table %s is %L', parent, note);
    end if;
    execute format('analyze %s', parent);
    raise notice '% partitioned by range (%): % rows moved, views re-pointed: %', parent, col, moved, views;
    return moved;
end
$$;

select raw.partition_by_range('raw.fitbit__heart_rate', 'observed_at', '2014-01-01 00:00+00', interval '12 months');
select raw.partition_by_range('raw.fitbit__steps_minute', 'observed_at', '2009-01-01 00:00+00', interval '2 years');
select raw.partition_by_range('raw.fitbit__spo2_minute', 'observed_at', '2019-01-01 00:00+00', interval '2 years');

-- person leads: a one-person, one-day read of a month's partition touches only that person's page ranges
-- (rows arrive one person-file at a time). BRIN, not B-tree: a B-tree cuts the COPY rate (020_fitbit.sql).
create index if not exists fitbit__heart_rate_person_observed_at_brin
    on raw.fitbit__heart_rate using brin (person_id, observed_at) with (autosummarize = on);
