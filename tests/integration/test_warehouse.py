"""The warehouse loader, quarantine and schema against the session's real PostgreSQL (no mocks).

Every loader test gets its own schema (created and dropped around the test) holding its own table, so tests
never depend on each other or on the raw tables the pipelines fill. Quarantine tests use a person id of their
own in raw.quarantine and delete it afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg import sql
from tracker import settings
from tracker.warehouse import quarantine
from tracker.warehouse.loader import LoadResult, RawTable, Window, load, replace_window
from tracker.warehouse.quarantine import Rejected
from tracker.warehouse.schema import ddl_files, ensure_warehouse, is_first_run

pytestmark = pytest.mark.integration

DAY = datetime(2026, 3, 1, tzinfo=UTC)
NEXT_DAY = DAY + timedelta(days=1)

HOURLY_COLUMNS = {"person_id": "text", "observed_at": "timestamptz", "value": "int2", "note": "text"}
HOURLY_KEY = ("person_id", "observed_at")


def hour(h: int, day: datetime = DAY) -> datetime:
    return day + timedelta(hours=h)


def counts(result: LoadResult) -> tuple[int, int, int]:
    return result.inserted, result.updated, result.deleted


def checksum(conn: psycopg.Connection, table: RawTable) -> tuple[int, str]:
    """Row count and md5 over every column (load metadata included) of the whole table, in a stable order."""
    return conn.execute(sql.SQL("select count(*), md5(coalesce(string_agg(t::text, '|' order by t::text), '')) "
                                "from {} t").format(table.ident)).fetchone()


def metadata(conn: psycopg.Connection, table: RawTable) -> dict[tuple, tuple[str, datetime]]:
    """key → (_run_id, _loaded_at)."""
    key = sql.SQL(", ").join(map(sql.Identifier, table.key))
    rows = conn.execute(sql.SQL("select {}, _run_id, _loaded_at from {}").format(key, table.ident)).fetchall()
    return {tuple(r[:-2]): tuple(r[-2:]) for r in rows}


def values(conn: psycopg.Connection, table: RawTable) -> list[tuple]:
    """Data columns of every row, ordered by key."""
    return conn.execute(sql.SQL("select {} from {} order by {}").format(
        sql.SQL(", ").join(map(sql.Identifier, table.columns)), table.ident,
        sql.SQL(", ").join(map(sql.Identifier, table.key)))).fetchall()


def day_rows(person: str, hours=range(6), value: int = 10, day: datetime = DAY) -> list[tuple]:
    return [(person, hour(h, day), value + h, f"{person}-{h}") for h in hours]


# --- load(): keyed merge --------------------------------------------------------------------------------------


def test_load_first_run_inserts_every_row(warehouse, hourly):
    # GIVEN an empty table
    rows = day_rows("ann")
    # WHEN a batch is loaded
    result = load(warehouse, hourly, rows, run_id="run-1")
    # THEN every row is counted as inserted and lands with the run's id
    assert (result.staged, *counts(result), result.unchanged) == (6, 6, 0, 0, 0)
    assert values(warehouse, hourly) == rows
    assert {run for run, _ in metadata(warehouse, hourly).values()} == {"run-1"}


def test_load_rerun_of_identical_rows_changes_nothing_not_even_load_metadata(warehouse, hourly):
    # GIVEN a loaded window
    rows = day_rows("ann") + day_rows("bob")
    load(warehouse, hourly, rows, run_id="run-1", window=Window(DAY, NEXT_DAY, {"person_id": "ann"}))
    before = checksum(warehouse, hourly)
    # WHEN the identical batch is loaded again by another run (same window, same scope)
    result = load(warehouse, hourly, rows, run_id="run-2", window=Window(DAY, NEXT_DAY, {"person_id": "ann"}))
    # THEN nothing is inserted, updated or deleted, and the whole table (_loaded_at/_run_id too) is identical
    assert counts(result) == (0, 0, 0)
    assert result.unchanged == result.staged == 12
    assert checksum(warehouse, hourly) == before
    assert before[0] == 12


def test_load_changed_value_updates_only_that_row(warehouse, hourly):
    # GIVEN a loaded batch
    rows = day_rows("ann")
    load(warehouse, hourly, rows, run_id="run-1")
    before = metadata(warehouse, hourly)
    # WHEN the same batch comes back with one value changed
    changed = list(rows)
    changed[2] = ("ann", hour(2), 99, changed[2][3])
    result = load(warehouse, hourly, changed, run_id="run-2")
    # THEN exactly that row is updated: new value, new _run_id and _loaded_at; every other row untouched
    assert counts(result) == (0, 1, 0)
    assert result.unchanged == 5
    assert values(warehouse, hourly) == changed
    after = metadata(warehouse, hourly)
    assert after[("ann", hour(2))][0] == "run-2"
    assert after[("ann", hour(2))][1] > before[("ann", hour(2))][1]
    del after[("ann", hour(2))], before[("ann", hour(2))]
    assert after == before


def test_load_null_to_value_and_back_counts_as_a_change(warehouse, hourly):
    # GIVEN a row whose note is NULL
    load(warehouse, hourly, [("ann", hour(0), 1, None)], run_id="run-1")
    # WHEN the note gets a value, then becomes NULL again
    to_value = load(warehouse, hourly, [("ann", hour(0), 1, "set")], run_id="run-2")
    to_null = load(warehouse, hourly, [("ann", hour(0), 1, None)], run_id="run-3")
    # THEN both are updates (IS DISTINCT FROM, not =, which would miss NULLs)
    assert counts(to_value) == counts(to_null) == (0, 1, 0)
    assert values(warehouse, hourly) == [("ann", hour(0), 1, None)]


def test_load_with_window_deletes_only_dropped_rows_inside_window_and_scope(warehouse, hourly):
    # GIVEN ann's and bob's hours 0-5 of one day, and ann's hour 3 of the next day
    load(warehouse, hourly, day_rows("ann") + day_rows("bob") + day_rows("ann", hours=[3], day=NEXT_DAY),
         run_id="run-1")
    # WHEN ann's day is reloaded and the source no longer returns her hour 3
    batch = day_rows("ann", hours=[0, 1, 2, 4, 5])
    result = load(warehouse, hourly, batch, run_id="run-2", window=Window(DAY, NEXT_DAY, {"person_id": "ann"}))
    # THEN only ann's hour 3 inside the window is deleted; next day's hour 3 and bob's hour 3 are kept
    assert counts(result) == (0, 0, 1)
    keys = set(metadata(warehouse, hourly))
    assert ("ann", hour(3)) not in keys
    assert ("ann", hour(3, NEXT_DAY)) in keys
    assert ("bob", hour(3)) in keys
    assert len(keys) == 6 + 5 + 1


def test_load_window_end_is_exclusive_and_without_window_nothing_is_deleted(warehouse, hourly):
    # GIVEN ann's hours 0-5
    load(warehouse, hourly, day_rows("ann"), run_id="run-1")
    # WHEN an empty batch is loaded without a window
    no_window = load(warehouse, hourly, [], run_id="run-2")
    # THEN nothing is deleted
    assert counts(no_window) == (0, 0, 0)
    # WHEN a batch holding only hour 4 is loaded for the half-open window [00:00, 03:00) of the same day
    windowed = load(warehouse, hourly, [("ann", hour(4), 14, "ann-4")], run_id="run-3",
                    window=Window(hour(0), hour(3), {"person_id": "ann"}))
    # THEN the window's day was answered: hours 0-2 are deleted and hour 3 (the window's end) is kept
    assert counts(windowed) == (0, 0, 3)
    assert sorted(k[1] for k in metadata(warehouse, hourly)) == [hour(3), hour(4), hour(5)]
    # WHEN an empty batch is loaded for [03:00, 06:00): an answer without a single row for a day
    empty = load(warehouse, hourly, [], run_id="run-4", window=Window(hour(3), hour(6), {"person_id": "ann"}))
    # THEN it is not taken as "the day is gone": nothing is deleted, the 3 rows are reported kept
    assert (counts(empty), empty.kept) == ((0, 0, 0), 3)


def test_load_window_on_table_without_window_column_raises_and_rolls_back(warehouse, scratch):
    # GIVEN a keyed table with no window column and one loaded row
    table = scratch.table("no_window", {"id": "int4", "v": "text"}, ("id",))
    load(warehouse, table, [(1, "a")], run_id="run-1")
    before = checksum(warehouse, table)
    # WHEN a windowed load is attempted (the merge runs before the window check)
    with pytest.raises(ValueError, match="no window column"):
        load(warehouse, table, [(1, "changed"), (2, "new")], run_id="run-2", window=Window(DAY, NEXT_DAY))
    # THEN the already-merged rows were rolled back
    assert checksum(warehouse, table) == before


# --- repeated keys --------------------------------------------------------------------------------------------


def test_repeated_keys_in_one_batch_last_occurrence_wins(warehouse, scratch):
    # GIVEN a keyed table with key 1 already loaded
    table = scratch.table("dupes", {"id": "int4", "v": "text"}, ("id",))
    load(warehouse, table, [(1, "old")], run_id="run-1")
    # WHEN one batch repeats keys 1 (existing) and 2 (new) several times
    result = load(warehouse, table, [(1, "a"), (2, "x"), (1, "b"), (2, "y"), (1, "c")], run_id="run-2")
    # THEN there is no error and the last occurrence of each key is what is stored
    assert result.staged == 5
    assert counts(result) == (1, 1, 0)
    assert values(warehouse, table) == [(1, "c"), (2, "y")]


def test_repeated_keys_across_many_pages_keep_batch_order(warehouse, scratch):
    # GIVEN a batch large enough to span many heap pages, every key repeated three times in sequence
    table = scratch.table("dupes_many", {"id": "int4", "v": "text"}, ("id",))
    batch = [(i, f"round{r}-{'x' * 40}") for r in range(3) for i in range(5000)]
    # WHEN it is loaded
    result = load(warehouse, table, batch, run_id="run-1")
    # THEN each key keeps its value from the last round
    assert counts(result) == (5000, 0, 0)
    assert {v.split("-")[0] for _, v in values(warehouse, table)} == {"round2"}


# --- jsonb ----------------------------------------------------------------------------------------------------


def test_jsonb_round_trip_and_key_order_does_not_count_as_change(warehouse, scratch):
    # GIVEN a table with a jsonb column
    table = scratch.table("records", {"id": "text", "record": "jsonb"}, ("id",))
    record = {"b": 1, "a": [1, 2.5, None], "nested": {"z": "ü", "y": True}, "empty": {}}
    # WHEN a dict is loaded
    load(warehouse, table, [("r1", record), ("r2", None)], run_id="run-1")
    # THEN the same dict comes back (and None stays SQL NULL)
    assert values(warehouse, table) == [("r1", record), ("r2", None)]
    before = checksum(warehouse, table)
    # WHEN the same record comes back with its keys in another order
    reordered = {"empty": {}, "nested": {"y": True, "z": "ü"}, "a": [1, 2.5, None], "b": 1}
    assert list(reordered) != list(record)
    result = load(warehouse, table, [("r1", reordered), ("r2", None)], run_id="run-2")
    # THEN it is unchanged: nothing updated, table identical
    assert counts(result) == (0, 0, 0)
    assert checksum(warehouse, table) == before
    # WHEN a value inside the document really changes
    result = load(warehouse, table, [("r1", {**record, "b": 2}), ("r2", None)], run_id="run-3")
    # THEN that is an update
    assert counts(result) == (0, 1, 0)


# --- replace_window() -----------------------------------------------------------------------------------------


def test_replace_window_deletes_window_then_inserts_leaving_other_rows(warehouse, hourly):
    # GIVEN ann's and bob's day and ann's next day
    scope = {"person_id": "ann"}
    replace_window(warehouse, hourly, day_rows("ann"), run_id="run-1", window=Window(DAY, NEXT_DAY, scope))
    replace_window(warehouse, hourly, day_rows("bob"), run_id="run-1",
                   window=Window(DAY, NEXT_DAY, {"person_id": "bob"}))
    replace_window(warehouse, hourly, day_rows("ann", day=NEXT_DAY), run_id="run-1",
                   window=Window(NEXT_DAY, NEXT_DAY + timedelta(days=1), scope))
    others = "person_id <> 'ann' or observed_at >= %s"
    others_before = warehouse.execute(sql.SQL("select * from {} where " + others + " order by 1, 2").format(
        hourly.ident), (NEXT_DAY,)).fetchall()
    # WHEN ann's first day is replaced by a smaller, different batch
    batch = [("ann", hour(1), 7, "new"), ("ann", hour(2), 8, "new")]
    result = replace_window(warehouse, hourly, batch, run_id="run-2", window=Window(DAY, NEXT_DAY, scope))
    # THEN the window's six rows are deleted and the two new ones inserted
    assert (result.staged, *counts(result)) == (2, 2, 0, 6)
    in_window = warehouse.execute(sql.SQL("select person_id, observed_at, value, note, _run_id from {} "
                                          "where person_id = 'ann' and observed_at < %s order by 2").format(
        hourly.ident), (NEXT_DAY,)).fetchall()
    assert in_window == [(*r, "run-2") for r in batch]
    # AND rows outside the window and of other scopes are untouched (load metadata included)
    assert warehouse.execute(sql.SQL("select * from {} where " + others + " order by 1, 2").format(
        hourly.ident), (NEXT_DAY,)).fetchall() == others_before
    # WHEN the same window is replaced again
    total = checksum(warehouse, hourly)[0]
    again = replace_window(warehouse, hourly, batch, run_id="run-3", window=Window(DAY, NEXT_DAY, scope))
    # THEN the row count is the same
    assert counts(again) == (2, 0, 2)
    assert checksum(warehouse, hourly)[0] == total == 2 + 6 + 6


def test_concurrent_overlapping_replace_windows_never_duplicate(warehouse, hourly):
    """Two runs of a backfill with trailing re-pulls replace overlapping windows at the same moment."""
    import threading
    import time

    from tracker import settings

    scope = {"person_id": "ann"}
    windows = [(DAY, DAY + timedelta(hours=12)), (DAY + timedelta(hours=6), DAY + timedelta(hours=18))]
    barrier, errors = threading.Barrier(2), []

    def run(start: datetime, end: datetime) -> None:
        hours = int((end - start).total_seconds() // 3600)
        rows = [("ann", start + timedelta(hours=h), h, "x") for h in range(hours)]

        def slow_rows():  # the COPY takes a while: time for the other run to delete in between
            time.sleep(0.5)
            yield from rows

        try:
            with psycopg.connect(settings.warehouse_dsn()) as conn:
                barrier.wait(timeout=10)  # both runs call replace_window at the same moment
                replace_window(conn, hourly, slow_rows(), run_id="run", window=Window(start, end, scope))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    for _ in range(3):
        barrier.reset()
        threads = [threading.Thread(target=run, args=w) for w in windows]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        n, distinct = warehouse.execute(sql.SQL("select count(*), count(distinct observed_at) from {}").format(
            hourly.ident)).fetchone()
        assert not errors and n == distinct == 18, (errors, n, distinct)


def test_replace_window_requires_a_window_column(warehouse, scratch):
    table = scratch.table("plain", {"id": "int4"}, ("id",))
    with pytest.raises(ValueError, match="no window column"):
        replace_window(warehouse, table, [(1,)], run_id="run-1", window=Window(DAY, NEXT_DAY))


# --- transactionality -----------------------------------------------------------------------------------------


def bad_batch() -> list[tuple]:
    """Good rows, then a string in the int2 column, then more good rows: the COPY fails midway."""
    return [("ann", hour(0), 1, "changed"), ("ann", hour(9), 1, "new"),
            ("ann", hour(10), "not a number", "bad"), ("ann", hour(11), 1, "never reached")]


def test_load_failing_mid_copy_leaves_table_exactly_as_before(warehouse, hourly):
    # GIVEN a loaded day
    load(warehouse, hourly, day_rows("ann"), run_id="run-1")
    before = checksum(warehouse, hourly)
    # WHEN a windowed batch fails in the middle of the COPY (psycopg's binary int2 dumper rejects the string)
    with pytest.raises(TypeError):
        load(warehouse, hourly, bad_batch(), run_id="run-2", window=Window(DAY, NEXT_DAY, {"person_id": "ann"}))
    # THEN the table is exactly as before
    assert checksum(warehouse, hourly) == before
    # AND the connection is usable and the staging table gone: the next load works
    result = load(warehouse, hourly, day_rows("ann"), run_id="run-3")
    assert counts(result) == (0, 0, 0)
    assert checksum(warehouse, hourly) == before


def test_load_failing_after_the_update_rolls_the_update_back(warehouse, scratch):
    # GIVEN a table whose `v` is NOT NULL (the staging table has no such constraint) and two rows
    table = scratch.table("strict", {"id": "int4", "v": "text", "w": "text"}, ("id",), not_null=("v",))
    load(warehouse, table, [(1, "a", "x"), (2, "b", "x")], run_id="run-1")
    before = checksum(warehouse, table)
    # WHEN a batch updates row 1 and then fails inserting a new row that violates NOT NULL
    with pytest.raises(psycopg.errors.NotNullViolation):
        load(warehouse, table, [(1, "changed", "x"), (3, None, "x")], run_id="run-2")
    # THEN the update of row 1 was rolled back too
    assert checksum(warehouse, table) == before


@pytest.mark.parametrize(("batch", "error"), [
    pytest.param(bad_batch(), TypeError, id="wrong-type"),
    pytest.param([("ann", hour(0), 1, "a"), ("ann", hour(1), 1, "b"), ("ann", hour(0), 1, "again")],
                 psycopg.errors.UniqueViolation, id="duplicate-key"),
])
def test_replace_window_failing_mid_copy_keeps_the_deleted_window(warehouse, hourly, batch, error):
    # GIVEN a replaced window
    window = Window(DAY, NEXT_DAY, {"person_id": "ann"})
    replace_window(warehouse, hourly, day_rows("ann"), run_id="run-1", window=window)
    before = checksum(warehouse, hourly)
    # WHEN the next replacement fails in the middle of its COPY (after its delete ran), client- or server-side
    with pytest.raises(error):
        replace_window(warehouse, hourly, batch, run_id="run-2", window=window)
    # THEN the delete was rolled back: the table is exactly as before, and the connection is idle again
    assert checksum(warehouse, hourly) == before
    assert warehouse.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


# --- quarantine.replace() -------------------------------------------------------------------------------------


@pytest.fixture()
def person(warehouse) -> Iterator[str]:
    """A person id of this test's own, so raw.quarantine rows of other tests are never touched."""
    person_id = f"t-quarantine-{uuid.uuid4().hex[:8]}"
    try:
        yield person_id
    finally:
        warehouse.execute("delete from raw.quarantine where person_id = %s", (person_id,))


def quarantined(conn, person_id: str) -> list[tuple]:
    return conn.execute("select source, entity, locator, record_at, reason, raw_text, window_start, window_end, "
                        "_run_id from raw.quarantine where person_id = %s order by locator, record_at",
                        (person_id,)).fetchall()


def test_quarantine_replace_writes_rows_and_rerun_is_idempotent(warehouse, person):
    # GIVEN two rejected records of a windowed load
    rejected = [Rejected("GET /hourly#3", "temperature_2m: not a number", '{"t": "x"}', hour(3)),
                Rejected("GET /hourly#5", "weather_code: out of range", '{"c": 999}', hour(5))]
    # WHEN they are quarantined
    n = quarantine.replace(warehouse, person_id=person, source="open_meteo", entity="hourly", run_id="run-1",
                           rejected=rejected, window_start=DAY, window_end=NEXT_DAY)
    # THEN both rows are written with their origin, reason, raw text and window
    assert n == 2
    assert quarantined(warehouse, person) == [
        ("open_meteo", "hourly", "GET /hourly#3", hour(3), "temperature_2m: not a number", '{"t": "x"}', DAY,
         NEXT_DAY, "run-1"),
        ("open_meteo", "hourly", "GET /hourly#5", hour(5), "weather_code: out of range", '{"c": 999}', DAY,
         NEXT_DAY, "run-1")]
    # WHEN the same window is rerun with the same rejected records
    n = quarantine.replace(warehouse, person_id=person, source="open_meteo", entity="hourly", run_id="run-2",
                           rejected=rejected, window_start=DAY, window_end=NEXT_DAY)
    # THEN the same two rows remain (no duplicates)
    assert n == 2
    rows = quarantined(warehouse, person)
    assert len(rows) == 2 and {r[-1] for r in rows} == {"run-2"}
    # WHEN the rerun finds nothing wrong any more
    assert quarantine.replace(warehouse, person_id=person, source="open_meteo", entity="hourly", run_id="run-3",
                              rejected=[], window_start=DAY, window_end=NEXT_DAY) == 0
    # THEN the window's quarantine is empty
    assert quarantined(warehouse, person) == []


def test_quarantine_replace_of_one_window_keeps_other_windows_and_entities(warehouse, person):
    common = {"person_id": person, "source": "open_meteo"}
    # GIVEN rejected records in day 1, day 2, and in another entity of day 2
    quarantine.replace(warehouse, **common, entity="hourly", run_id="run-1", window_start=DAY, window_end=NEXT_DAY,
                       rejected=[Rejected("d1#1", "bad", "x", hour(1)), Rejected("d1#2", "bad", "x", hour(2))])
    quarantine.replace(warehouse, **common, entity="hourly", run_id="run-1", window_start=NEXT_DAY,
                       window_end=NEXT_DAY + timedelta(days=1),
                       rejected=[Rejected("d2#1", "bad", "x", hour(1, NEXT_DAY))])
    quarantine.replace(warehouse, **common, entity="daily", run_id="run-1", window_start=NEXT_DAY,
                       window_end=NEXT_DAY + timedelta(days=1),
                       rejected=[Rejected("daily#1", "bad", "x", hour(0, NEXT_DAY))])
    # WHEN day 2 of hourly is rerun with a different rejected record
    quarantine.replace(warehouse, **common, entity="hourly", run_id="run-2", window_start=NEXT_DAY,
                       window_end=NEXT_DAY + timedelta(days=1),
                       rejected=[Rejected("d2#7", "bad", "x", hour(7, NEXT_DAY))])
    # THEN day 1's rows and the other entity's row are kept; day 2's old row is replaced
    assert {(r[1], r[2], r[-1]) for r in quarantined(warehouse, person)} == {
        ("hourly", "d1#1", "run-1"), ("hourly", "d1#2", "run-1"), ("hourly", "d2#7", "run-2"),
        ("daily", "daily#1", "run-1")}


def test_quarantine_windowed_rerun_does_not_duplicate_rejects_without_record_time(warehouse, person):
    # GIVEN a windowed load whose rejected record has no usable time of its own (its timestamp was the bad part)
    common = {"person_id": person, "source": "open_meteo", "entity": "hourly", "window_start": DAY,
              "window_end": NEXT_DAY}
    rejected = [Rejected("GET /hourly#7", "time: unparseable", '{"time": "25:99"}', None)]
    quarantine.replace(warehouse, **common, run_id="run-1", rejected=rejected)
    # WHEN the same window is rerun with the same rejected record
    quarantine.replace(warehouse, **common, run_id="run-2", rejected=rejected)
    # THEN it is quarantined once, not once per run
    assert len(quarantined(warehouse, person)) == 1


def test_quarantine_replace_with_locator_prefix_keeps_other_files(warehouse, person):
    common = {"person_id": person, "source": "csv_export", "entity": "steps"}
    # GIVEN rejected lines of two files, loaded file by file (no window)
    quarantine.replace(warehouse, **common, run_id="run-1", locator_prefix="export/a.csv:",
                       rejected=[Rejected("export/a.csv:3", "bad date", "2026-13-01,5"),
                                 Rejected("export/a.csv:9", "bad count", "2026-01-01,x")])
    quarantine.replace(warehouse, **common, run_id="run-1", locator_prefix="export/b.csv:",
                       rejected=[Rejected("export/b.csv:4", "bad date", "yesterday,5")])
    # WHEN file A is reloaded and only one of its lines is still rejected
    n = quarantine.replace(warehouse, **common, run_id="run-2", locator_prefix="export/a.csv:",
                           rejected=[Rejected("export/a.csv:9", "bad count", "2026-01-01,x")])
    # THEN file A's rows are replaced and file B's row is kept
    assert n == 1
    assert [(r[2], r[-1]) for r in quarantined(warehouse, person)] == [
        ("export/a.csv:9", "run-2"), ("export/b.csv:4", "run-1")]
    # WHEN file A is reloaded again with the same rejects
    quarantine.replace(warehouse, **common, run_id="run-3", locator_prefix="export/a.csv:",
                       rejected=[Rejected("export/a.csv:9", "bad count", "2026-01-01,x")])
    # THEN the count is unchanged
    assert len(quarantined(warehouse, person)) == 2


# --- schema ---------------------------------------------------------------------------------------------------


def test_session_warehouse_is_not_first_run_and_ensure_is_idempotent(warehouse):
    # GIVEN the session warehouse, initialised by the pg fixture
    # WHEN / THEN it is not a first run
    assert is_first_run(warehouse) is False
    # WHEN ensure_warehouse runs again, twice
    # THEN nothing new is recorded either time
    assert ensure_warehouse(warehouse) == []
    assert ensure_warehouse(warehouse) == []
    recorded = {r[0] for r in warehouse.execute("select name from raw._schema_migrations").fetchall()}
    assert recorded == {name for name, _ in ddl_files()}
    assert warehouse.execute("select to_regclass('raw.quarantine') is not null").fetchone()[0]


def test_fresh_database_is_first_run_and_records_every_ddl_file_once(pg):
    # GIVEN a brand-new database owned by the loader role
    db = f"t_fresh_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg.superuser_dsn(), autocommit=True) as su:
        su.execute(sql.SQL("create database {} owner {}").format(sql.Identifier(db),
                                                                  sql.Identifier(settings.LOADER_ROLE)))
    try:
        with psycopg.connect(settings.warehouse_dsn(db=db), autocommit=True) as conn:
            # WHEN / THEN it is a first run
            assert is_first_run(conn) is True
            # WHEN the warehouse is ensured twice
            first = ensure_warehouse(conn)
            second = ensure_warehouse(conn)
            # THEN every ddl file is recorded by the first call only
            assert first == [name for name, _ in ddl_files()]
            assert second == []
            assert is_first_run(conn) is False
    finally:
        with psycopg.connect(pg.superuser_dsn(), autocommit=True) as su:
            su.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(db)))


@pytest.fixture()
def analyst(pg) -> Iterator[psycopg.Connection]:
    with psycopg.connect(settings.warehouse_dsn(settings.ANALYST_ROLE), autocommit=True) as conn:
        yield conn


def test_analyst_reads_new_gold_tables_but_not_raw_and_cannot_create(warehouse, analyst):
    table = sql.Identifier("gold", f"t_analyst_probe_{uuid.uuid4().hex[:8]}")
    try:
        # GIVEN a table the loader creates in gold after the warehouse was set up
        warehouse.execute(sql.SQL("create table {} (id int primary key, v text)").format(table))
        warehouse.execute(sql.SQL("insert into {} values (1, 'visible')").format(table))
        # WHEN the analyst selects from it
        # THEN default privileges let them read it
        assert analyst.execute(sql.SQL("select id, v from {}").format(table)).fetchall() == [(1, "visible")]
        # AND raw is off limits
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            analyst.execute("select count(*) from raw.quarantine")
        # AND so are the stored OAuth sign-ins
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            analyst.execute("select count(*) from auth.oauth_tokens")
        # AND the analyst cannot write to or create tables in gold
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            analyst.execute(sql.SQL("insert into {} values (2, 'nope')").format(table))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            analyst.execute("create table gold.t_analyst_forbidden (id int)")
    finally:
        warehouse.execute(sql.SQL("drop table if exists {}").format(table))
        warehouse.execute("drop table if exists gold.t_analyst_forbidden")
