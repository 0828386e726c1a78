"""Partitioned intraday tables (ddl/065_partition_intraday.sql): a warehouse built by the previous DDL files,
holding rows, is converted in place with every row kept exactly once; loads, reruns and replace_window work on
it; a row no partition covers lands in the default partition; a one-day read prunes to one partition."""

from __future__ import annotations

import re
import subprocess
import threading
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

pytestmark = pytest.mark.integration

MIGRATION = "065_partition_intraday.sql"
INTRADAY = ("raw.fitbit__heart_rate", "raw.fitbit__steps_minute", "raw.fitbit__spo2_minute")
HR_COLS = "person_id, observed_at, bpm, confidence, source, source_file, _run_id, _loaded_at"
ROOT = Path(__file__).resolve().parents[2]


def old_ddl_files() -> list[tuple[str, str]]:
    """The DDL files as committed, without 065: the warehouse as it was before the migration existed."""
    from tracker.warehouse.schema import ddl_files

    files = []
    for name, text in ddl_files():
        if name == MIGRATION:
            continue
        shown = subprocess.run(["git", "show", f"HEAD:include/tracker/warehouse/ddl/{name}"],
                               capture_output=True, text=True, cwd=ROOT)
        files.append((name, shown.stdout if shown.returncode == 0 else text))
    return files


@contextmanager
def database(pg):
    """A brand-new database owned by the loader role; dropped afterwards."""
    from tracker import settings

    db = f"t_partition_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg.superuser_dsn(), autocommit=True) as su:
        su.execute(sql.SQL("create database {} owner {}").format(sql.Identifier(db),
                                                                  sql.Identifier(settings.LOADER_ROLE)))
    try:
        with psycopg.connect(pg.superuser_dsn(db), autocommit=True) as su:
            su.execute(sql.SQL("grant connect on database {} to {}").format(sql.Identifier(db),
                                                                            sql.Identifier(settings.ANALYST_ROLE)))
        with psycopg.connect(settings.warehouse_dsn(db=db), autocommit=True) as conn:
            yield db, conn
    finally:
        with psycopg.connect(pg.superuser_dsn(), autocommit=True) as su:
            su.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(db)))


def apply_old_ddl(conn) -> None:
    """What ensure_warehouse did before 065 existed: every older file applied and recorded."""
    from tracker.warehouse.schema import _checksum

    with conn.transaction():
        for name, text in old_ddl_files():
            conn.execute(text)
            conn.execute("insert into raw._schema_migrations (name, checksum) values (%s, %s)",
                         (name, _checksum(text)))


def fingerprint(conn, table: str) -> tuple[int, str]:
    """(rows, md5 of every row in a fixed order): equal before and after means nothing lost or doubled."""
    return conn.execute(sql.SQL("select count(*), md5(coalesce(string_agg(t::text, '|' order by t::text), ''))"
                                " from {} t").format(sql.SQL(table))).fetchone()


def relkind(conn, table: str) -> str:
    return conn.execute("select relkind::text from pg_class where oid = %s::regclass", (table,)).fetchone()[0]


def partition_of(conn, table: str, person: str, at: datetime) -> str:
    return conn.execute(sql.SQL("select tableoid::regclass::text from {} where person_id = %s and observed_at = %s")
                        .format(sql.SQL(table)), (person, at)).fetchone()[0]


def seed_old_rows(conn) -> None:
    """Heart rate across years (one before the history start of the partitions, one in the far future),
    steps and SpO2 minutes, for two people; a silver view on heart rate as dbt builds it; a grant."""
    conn.execute(f"""
        insert into raw.fitbit__heart_rate ({HR_COLS})
        select p, t, 60 + (extract(epoch from t)::int % 50), null, 'fitbit_export', 'f.json', 'old', t
        from unnest(array['pa', 'pb']) as p,
             generate_series(timestamptz '2024-12-30 00:00+00', '2025-02-02 00:00+00', interval '7 minutes') as t
        union all select 'pa', '2011-06-01 12:00+00', 70, 2, 'fitbit_export', 'early.json', 'old', now()
        union all select 'pa', '2290-01-01 00:00+00', 71, null, 'fitbit_export', 'far.json', 'old', now()
        union all select 'pb', '2025-01-15 10:00+00', 72, null, 'fitbit_export', 'f.json', 'old', now()
    """)  # the last row repeats a sample: a keyless table may hold duplicates, and must keep both
    conn.execute("""
        insert into raw.fitbit__steps_minute (person_id, observed_at, source, steps, source_file, _run_id)
        select p, t, 'fitbit_export', 5, 'steps.json', 'old' from unnest(array['pa', 'pb']) as p,
             generate_series(timestamptz '2024-12-31 00:00+00', '2025-01-02 00:00+00', interval '1 minute') as t
    """)
    conn.execute("""
        insert into raw.fitbit__spo2_minute (person_id, observed_at, source, spo2_pct, source_file, _run_id)
        select 'pa', t, 'fitbit_export', 96.5, 'spo2.csv', 'old'
        from generate_series(timestamptz '2025-03-01 00:00+00', '2025-03-01 08:00+00', interval '1 minute') as t
    """)
    conn.execute("create view silver.t_heart_rate_view as select person_id, observed_at, bpm"
                 " from raw.fitbit__heart_rate")
    conn.execute("comment on column silver.t_heart_rate_view.bpm is 'beats per minute'")  # dbt persist_docs
    conn.execute("create view silver.t_heart_rate_daily as select person_id, observed_at::date as day, count(*)"
                 " from silver.t_heart_rate_view group by 1, 2")  # a view on the view
    conn.execute("grant usage on schema raw to analyst")
    conn.execute("grant select on raw.fitbit__heart_rate to analyst")


def test_a_warehouse_built_by_the_old_ddl_is_converted_keeping_every_row(pg):
    from tracker import settings
    from tracker.warehouse.schema import ensure_warehouse

    with database(pg) as (db, conn):
        # GIVEN a warehouse made by the DDL files before 065, holding rows, a dependent view and a grant
        apply_old_ddl(conn)
        seed_old_rows(conn)
        assert {t: relkind(conn, t) for t in INTRADAY} == dict.fromkeys(INTRADAY, "r")
        before = {t: fingerprint(conn, t) for t in INTRADAY}
        view_before = fingerprint(conn, "silver.t_heart_rate_view")
        daily_before = fingerprint(conn, "silver.t_heart_rate_daily")
        indexes_before = set(conn.execute("select indexname from pg_indexes where schemaname = 'raw' and"
                                          " tablename = any(%s)", ([t[4:] for t in INTRADAY],)).fetchall())
        assert before["raw.fitbit__heart_rate"][0] == 2 * (34 * 1440 // 7 + 1) + 3

        # WHEN the warehouse is ensured (the migration runs), then again
        assert ensure_warehouse(conn) == [MIGRATION]
        assert ensure_warehouse(conn) == []

        # THEN each table is partitioned and holds exactly its rows, no more, no fewer
        assert {t: relkind(conn, t) for t in INTRADAY} == dict.fromkeys(INTRADAY, "p")
        assert {t: fingerprint(conn, t) for t in INTRADAY} == before
        assert conn.execute("select to_regclass('raw.fitbit__heart_rate_unpartitioned')").fetchone()[0] is None
        # AND the rows sit in their periods: monthly heart rate (from 2011, the data's first month), yearly
        # minutes; the sample of 2290 (beyond now + 10 years) in the default partition
        hr = "raw.fitbit__heart_rate"
        first = datetime(2024, 12, 30, tzinfo=UTC)
        assert partition_of(conn, hr, "pa", first) == "raw.fitbit__heart_rate_p202412"
        assert partition_of(conn, hr, "pb", first + timedelta(minutes=7 * 1000)) == "raw.fitbit__heart_rate_p202501"
        assert partition_of(conn, hr, "pa", datetime(2011, 6, 1, 12, tzinfo=UTC)) == "raw.fitbit__heart_rate_p201106"
        assert partition_of(conn, hr, "pa", datetime(2290, 1, 1, tzinfo=UTC)) == "raw.fitbit__heart_rate_default"
        assert partition_of(conn, "raw.fitbit__steps_minute", "pb", datetime(2024, 12, 31, 23, 59, tzinfo=UTC)) \
            == "raw.fitbit__steps_minute_p2024"
        assert conn.execute("select count(*) from only raw.fitbit__heart_rate").fetchone()[0] == 0
        # AND the view reads the new table (same rows), the indexes keep their names, the primary keys hold
        assert fingerprint(conn, "silver.t_heart_rate_view") == view_before
        assert fingerprint(conn, "silver.t_heart_rate_daily") == daily_before
        assert conn.execute("select col_description('silver.t_heart_rate_view'::regclass, 3)").fetchone() == \
            ("beats per minute",)
        assert conn.execute("select count(*) from pg_depend d join pg_rewrite r on r.oid = d.objid"
                            " where r.ev_class = 'silver.t_heart_rate_view'::regclass"
                            " and d.refobjid = 'raw.fitbit__heart_rate'::regclass").fetchone()[0] > 0
        indexes_after = set(conn.execute("select indexname from pg_indexes where schemaname = 'raw' and"
                                         " tablename = any(%s)", ([t[4:] for t in INTRADAY],)).fetchall())
        assert indexes_before < indexes_after
        assert ("fitbit__heart_rate_person_observed_at_brin",) in indexes_after
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("insert into raw.fitbit__steps_minute (person_id, observed_at, source, steps, source_file,"
                         " _run_id) values ('pa', '2025-01-01 00:00+00', 'fitbit_export', 1, 'x', 'x')")
        # AND every unique key holds person_id (a Citus distribution column must be in each)
        keys = conn.execute("select conrelid::regclass::text, array(select attname from pg_attribute"
                            " where attrelid = conrelid and attnum = any(conkey)) from pg_constraint"
                            " where contype in ('p', 'u') and conrelid = any(%s::regclass[])", (list(INTRADAY),))
        assert all("person_id" in cols and "observed_at" in cols for _, cols in keys.fetchall())
        # AND the analyst's grant carried over
        with psycopg.connect(settings.warehouse_dsn(settings.ANALYST_ROLE, db=db), autocommit=True) as analyst:
            assert analyst.execute("select count(*) from raw.fitbit__heart_rate").fetchone()[0] == before[hr][0]
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                analyst.execute("select count(*) from raw.fitbit__steps_minute")
        # AND converting again changes nothing
        moved = conn.execute("select raw.partition_by_range('raw.fitbit__heart_rate', 'observed_at',"
                             " '2014-01-01 00:00+00', interval '12 months')").fetchone()[0]
        assert moved == 0 and fingerprint(conn, hr) == before[hr]


def test_loads_reruns_and_replace_window_on_the_converted_tables(pg):
    from tracker.sources.fitbit import tables
    from tracker.warehouse.loader import Window, load, replace_window
    from tracker.warehouse.schema import ensure_warehouse

    with database(pg) as (_, conn):
        apply_old_ddl(conn)
        seed_old_rows(conn)
        ensure_warehouse(conn)
        hr = tables.HEART_RATE
        start = datetime(2025, 1, 10, tzinfo=UTC)
        window = Window(start, start + timedelta(days=1), {"person_id": "pa", "source": "google_health_api"})

        def samples(first: datetime, n: int, bpm: int = 80):
            return [("pa", first + timedelta(seconds=15 * i), bpm, None, "google_health_api", "api")
                    for i in range(n)]

        # WHEN a day is replaced, then replaced again (a rerun)
        first = replace_window(conn, hr, samples(start, 5760), run_id="r1", window=window)
        again = replace_window(conn, hr, samples(start, 5760, bpm=81), run_id="r2", window=window)
        # THEN the rerun deletes what the first run wrote and writes it once
        assert (first.inserted, first.deleted) == (5760, 0)
        assert (again.inserted, again.deleted) == (5760, 5760)
        assert conn.execute("select count(*), min(bpm), max(bpm) from raw.fitbit__heart_rate_p202501"
                            " where source = 'google_health_api'").fetchone() == (5760, 81, 81)
        # AND the change log still records the replaced window (incremental silver picks it up)
        assert conn.execute("select count(*) from raw.fitbit__heart_rate_changes where _run_id = 'r2'"
                            ).fetchone()[0] == 1

        # WHEN a month no partition covers yet (beyond the ones made ahead) is loaded
        later = datetime(2031, 5, 3, tzinfo=UTC)
        late = Window(later, later + timedelta(days=1), {"person_id": "pa", "source": "google_health_api"})
        assert replace_window(conn, hr, samples(later, 100), run_id="r3", window=late).inserted == 100
        # THEN the loader made its partition (and the next month's), and the rows are in it, not in the default
        assert partition_of(conn, "raw.fitbit__heart_rate", "pa", later) == "raw.fitbit__heart_rate_p203105"
        assert conn.execute("select to_regclass('raw.fitbit__heart_rate_p203106') is not null").fetchone()[0]

        # WHEN minutes are merged by the keyed load, twice
        steps = [("pa", datetime(2033, 2, 1, tzinfo=UTC) + timedelta(minutes=m), "fitbit_export", m, "s.json")
                 for m in range(120)]
        one = load(conn, tables.STEPS_MINUTE, steps, run_id="s1")
        two = load(conn, tables.STEPS_MINUTE, steps, run_id="s2")
        # THEN the second changes nothing, and the year 2033 got its partition
        assert (one.inserted, two.inserted, two.updated) == (120, 0, 0)
        assert partition_of(conn, "raw.fitbit__steps_minute", "pa", steps[0][1]) == "raw.fitbit__steps_minute_p2033"


def test_a_row_no_partition_covers_lands_in_the_default_and_moves_out_when_its_month_is_made(pg):
    with database(pg) as (_, conn):
        apply_old_ddl(conn)
        from tracker.warehouse.schema import ensure_warehouse

        ensure_warehouse(conn)
        # GIVEN rows written straight in (as the export importer's COPY does) for a month not made yet
        at = datetime(2034, 7, 14, 8, tzinfo=UTC)
        conn.execute(f"insert into raw.fitbit__heart_rate ({HR_COLS}) select 'pd', %s + i * interval '1 minute',"
                     " 60, null, 'fitbit_export', 'x.json', 'x', now() from generate_series(0, 99) as i", (at,))
        conn.execute(f"insert into raw.fitbit__heart_rate ({HR_COLS}) values"
                     " ('pd', '1975-01-01 00:00+00', 60, null, 'fitbit_export', 'x.json', 'x', now())")
        before = fingerprint(conn, "raw.fitbit__heart_rate")
        # THEN no row is refused: they are in the default partition
        assert partition_of(conn, "raw.fitbit__heart_rate", "pd", at) == "raw.fitbit__heart_rate_default"
        # WHEN that month's partition is made
        made = conn.execute("select raw.ensure_partitions('raw.fitbit__heart_rate', %s, %s)", (at, at)).fetchone()
        # THEN the rows moved into it, none lost or doubled; 1975 (before 2000) stays in the default
        assert made == (1,)
        assert partition_of(conn, "raw.fitbit__heart_rate", "pd", at) == "raw.fitbit__heart_rate_p203407"
        assert fingerprint(conn, "raw.fitbit__heart_rate") == before
        assert conn.execute("select count(*) from raw.fitbit__heart_rate_default").fetchone()[0] == 1
        # AND asking again makes nothing
        assert conn.execute("select raw.ensure_partitions('raw.fitbit__heart_rate', %s, %s)",
                            (at, at)).fetchone() == (0,)


def test_a_load_that_cannot_lock_the_table_for_a_new_month_puts_its_rows_in_the_default(pg):
    from tracker import settings
    from tracker.sources.fitbit import tables
    from tracker.warehouse.loader import Window, replace_window
    from tracker.warehouse.schema import ensure_warehouse

    with database(pg) as (db, conn):
        ensure_warehouse(conn)
        at = datetime(2035, 3, 1, tzinfo=UTC)
        window = Window(at, at + timedelta(days=1), {"person_id": "pe", "source": "google_health_api"})
        rows = [("pe", at + timedelta(minutes=i), 70, None, "google_health_api", "api") for i in range(60)]
        # GIVEN another session in the middle of a load into the table (it holds a row-exclusive lock)
        with psycopg.connect(settings.warehouse_dsn(db=db)) as other:
            other.execute(f"insert into raw.fitbit__heart_rate ({HR_COLS}) values"
                          " ('pf', '2025-01-01 00:00+00', 60, null, 'fitbit_export', 'y.json', 'y', now())")
            # WHEN a load needs a partition that does not exist yet
            done = threading.Event()
            result = {}

            def run():
                with psycopg.connect(settings.warehouse_dsn(db=db), autocommit=True) as mine:
                    result["load"] = replace_window(mine, tables.HEART_RATE, rows, run_id="busy", window=window)
                done.set()

            worker = threading.Thread(target=run)
            worker.start()
            # THEN it gives up waiting after 5 s and loads into the default partition: nothing refused
            assert done.wait(30), "the load waited for the other session"
            worker.join()
            other.rollback()
        assert result["load"].inserted == 60
        assert conn.execute("select count(*) from raw.fitbit__heart_rate_default where person_id = 'pe'"
                            ).fetchone()[0] == 60
        # AND the next load of that month makes the partition and moves them out
        replace_window(conn, tables.HEART_RATE, rows, run_id="calm", window=window)
        assert conn.execute("select count(*), min(tableoid::regclass::text), max(tableoid::regclass::text)"
                            " from raw.fitbit__heart_rate where person_id = 'pe'").fetchone() \
            == (60, "raw.fitbit__heart_rate_p203503", "raw.fitbit__heart_rate_p203503")


def test_a_one_day_read_prunes_to_one_partition(warehouse):
    # GIVEN the session warehouse (converted at set-up)
    assert relkind(warehouse, "raw.fitbit__heart_rate") == "p"
    # WHEN one person's day is read (literal bounds, and bounds as parameters)
    plan = "\n".join(r[0] for r in warehouse.execute(
        "explain select * from raw.fitbit__heart_rate where person_id = 'x'"
        " and observed_at >= '2026-03-04 00:00+00' and observed_at < '2026-03-05 00:00+00'").fetchall())
    # THEN only March 2026's partition is scanned
    assert set(re.findall(r"fitbit__heart_rate_(p\d{6}|default)", plan)) == {"p202603"}, plan
    with warehouse.transaction():
        warehouse.execute("prepare t_day (timestamptz) as select count(*) from raw.fitbit__heart_rate"
                          " where person_id = 'x' and observed_at >= $1 and observed_at < $1 + interval '1 day'")
        warehouse.execute("set local plan_cache_mode = force_generic_plan")
        plan = "\n".join(r[0] for r in warehouse.execute(
            "explain (analyze, costs off, timing off, summary off) execute t_day('2026-03-04 00:00+00')"))
        warehouse.execute("deallocate t_day")
    # a generic plan prunes at execution: every other partition is "removed"
    assert "Subplans Removed" in plan, plan


def test_an_export_file_of_a_month_not_made_yet_gets_its_partition(pg):
    import numpy as np
    from tracker.sources.fitbit_export.tables import HeartRateFileLoad, encode_heart_rate, replace_heart_rate_file
    from tracker.warehouse.schema import ensure_warehouse

    with database(pg) as (_, conn):
        ensure_warehouse(conn)
        # GIVEN an export file of a day in a month beyond the partitions made ahead
        day = datetime(2036, 2, 10, tzinfo=UTC)
        instants = np.array([int((day + timedelta(seconds=10 * i)).timestamp() * 1_000_000) for i in range(360)])
        payload = encode_heart_rate("pg_export", "fitbit_export", "heart_rate-2036-02-10.json", "exp", instants,
                                    np.full(360, 66, dtype=np.int16), np.full(360, 2, dtype=np.int16), None)
        job = HeartRateFileLoad("pg_export", "heart_rate-2036-02-10.json", day.date(),
                                (day - timedelta(days=1), day + timedelta(days=2)), payload, 360, [], "f", "utc",
                                "option", "UTC", day, day + timedelta(seconds=3590), "exp", delete_previous=False)
        # WHEN the importer's writer loads it, twice (a forced re-import)
        assert replace_heart_rate_file(conn, job) == (0, 360)
        assert replace_heart_rate_file(conn, HeartRateFileLoad(**{**job.__dict__, "delete_previous": True})) \
            == (360, 360)
        # THEN its samples are in their month's partition, once
        assert conn.execute("select count(*), min(tableoid::regclass::text), max(tableoid::regclass::text)"
                            " from raw.fitbit__heart_rate where person_id = 'pg_export'").fetchone() \
            == (360, "raw.fitbit__heart_rate_p203602", "raw.fitbit__heart_rate_p203602")
