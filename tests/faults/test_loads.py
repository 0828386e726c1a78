"""The loader under hostile answers and concurrency: several people in one transaction, empty answers for a
window that holds data, samples outside the window, two backfills over one window, PostgreSQL killed mid-load."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg import sql
from tracker import settings
from tracker.warehouse.loader import Window, load, replace_window

pytestmark = pytest.mark.integration

DAY = datetime(2026, 3, 1, tzinfo=UTC)


def rows_of(person: str, days: int = 2, step: timedelta = timedelta(hours=1)) -> list[tuple]:
    n = int(timedelta(days=days) / step)
    return [(person, DAY + i * step, i % 100, f"{person}-{i}") for i in range(n)]


def count(conn: psycopg.Connection, table, where: str = "true", params=()) -> int:
    return conn.execute(sql.SQL("select count(*) from {} where " + where).format(table.ident), params).fetchone()[0]


@pytest.mark.fault("two people loaded in one transaction", "both people's rows load")
def test_two_loads_into_one_table_inside_one_outer_transaction(pg, hourly, fault):
    # GIVEN a connection in a transaction of its own (as `tracker demo` imports every person on one)
    with psycopg.connect(settings.warehouse_dsn()) as conn:
        conn.execute("select 1")  # any read opens the connection's transaction (psycopg: autocommit off)
        # WHEN two people are loaded into the same table before it commits
        for person in ("ann", "bob"):
            load(conn, hourly, rows_of(person), run_id="run-1")
    # THEN both loads committed (the temp stage of the first did not collide with the second's)
    with psycopg.connect(settings.warehouse_dsn()) as conn:
        after = count(conn, hourly)
    fault.record("both loaded", before=96, after=after, lost=96 - after)
    assert after == 96


@pytest.mark.fault("keyed load: empty answer for a window holding data", "nothing deleted, kept rows reported")
def test_empty_answer_deletes_nothing(warehouse, hourly, fault):
    # GIVEN two days of ann's rows
    window = Window(DAY, DAY + timedelta(days=2), {"person_id": "ann"})
    load(warehouse, hourly, rows_of("ann"), run_id="run-1", window=window)
    before = count(warehouse, hourly)
    # WHEN the source answers nothing for the same window
    result = load(warehouse, hourly, [], run_id="run-2", window=window)
    # THEN every row is kept, and the result says so
    after = count(warehouse, hourly)
    fault.record(f"deleted {result.deleted}, kept {getattr(result, 'kept', '?')}", before=before, after=after,
                 lost=before - after)
    assert after == before
    assert (result.deleted, result.kept) == (0, before)


@pytest.mark.fault("keyed load: answer missing one whole day", "that day kept; dropped rows of answered days deleted")
def test_answer_missing_a_day_keeps_that_day(warehouse, hourly, fault):
    window = Window(DAY, DAY + timedelta(days=2), {"person_id": "ann"})
    load(warehouse, hourly, rows_of("ann"), run_id="run-1", window=window)
    # WHEN the answer holds only the first day, without its hour 5
    first_day = [r for r in rows_of("ann") if r[1] < DAY + timedelta(days=1) and r[1] != DAY + timedelta(hours=5)]
    result = load(warehouse, hourly, first_day, run_id="run-2", window=window)
    # THEN hour 5 (the source dropped it from a day it answered) is deleted, the unanswered day is kept
    after = count(warehouse, hourly)
    fault.record(f"deleted {result.deleted}, kept {getattr(result, 'kept', '?')}", before=48, after=after,
                 lost=47 - after)
    assert after == 47
    assert (result.deleted, result.kept) == (1, 24)


@pytest.mark.fault("replace_window: empty answer", "nothing deleted")
def test_replace_window_empty_answer_keeps_samples(warehouse, hourly, fault):
    window = Window(DAY, DAY + timedelta(days=2), {"person_id": "ann"})
    replace_window(warehouse, hourly, rows_of("ann", step=timedelta(minutes=1)), run_id="run-1", window=window)
    before = count(warehouse, hourly)
    result = replace_window(warehouse, hourly, iter(()), run_id="run-2", window=window)
    after = count(warehouse, hourly)
    fault.record(f"deleted {result.deleted}, kept {getattr(result, 'kept', '?')}", before=before, after=after,
                 lost=before - after)
    assert after == before
    assert (result.deleted, result.kept) == (0, before)


@pytest.mark.fault("replace_window: samples at/after the window end", "loaded once, never duplicated by reruns")
def test_replace_window_rows_outside_the_window_are_not_reinserted(warehouse, scratch, fault):
    # GIVEN an append-only sample table (no key) and an answer that also holds samples at and after the end
    table = scratch.table("samples", {"person_id": "text", "observed_at": "timestamptz", "value": "int2",
                                      "note": "text", "seq": "int4"}, ("seq",), window_column="observed_at")
    warehouse.execute(sql.SQL("alter table {} drop constraint {}").format(
        table.ident, sql.Identifier("samples_pkey")))
    window = Window(DAY, DAY + timedelta(days=1), {"person_id": "ann"})
    answer = [(*r, i) for i, r in enumerate(rows_of("ann", days=1))]
    answer += [("ann", window.end, 1, "at the end", 100), ("ann", window.end + timedelta(hours=1), 1, "after", 101)]
    # WHEN the same window is loaded three times (a rerun, a backfill)
    results = [replace_window(warehouse, table, answer, run_id=f"run-{i}", window=window) for i in range(3)]
    # THEN the window holds its 24 samples once, and no sample of the next window was inserted
    inside = count(warehouse, table, "observed_at < %s", (window.end,))
    beyond = count(warehouse, table, "observed_at >= %s", (window.end,))
    fault.record(f"inside {inside}, beyond the end {beyond}", before=24, after=inside, lost=24 - inside)
    assert (inside, beyond) == (24, 0)
    assert [r.outside for r in results] == [2, 2, 2]


@pytest.mark.fault("two backfills over one window at once", "every sample exactly once")
def test_two_concurrent_backfills_of_the_same_windows(pg, hourly, fault):
    # GIVEN two backfills that each replace the same three daily windows, concurrently, with the same answer
    answer = rows_of("ann", days=3, step=timedelta(minutes=5))
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def backfill() -> None:
        try:
            with psycopg.connect(settings.warehouse_dsn(), autocommit=True) as conn:
                barrier.wait(timeout=10)
                for d in range(3):
                    start = DAY + timedelta(days=d)
                    window = Window(start - timedelta(days=1), start + timedelta(days=1), {"person_id": "ann"})
                    replace_window(conn, hourly, [r for r in answer if window.start <= r[1] < window.end],
                                   run_id="bf", window=window)
        except BaseException as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    threads = [threading.Thread(target=backfill) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with psycopg.connect(settings.warehouse_dsn()) as conn:
        n, distinct = conn.execute(sql.SQL("select count(*), count(distinct observed_at) from {}").format(
            hourly.ident)).fetchone()
    fault.record(f"{n} rows, {distinct} distinct, errors {errors}", before=len(answer), after=distinct,
                 lost=len(answer) - distinct)
    assert not errors and n == distinct == len(answer)


@pytest.mark.fault("a bad record without a time, in overlapping re-pulls", "quarantined once, not once per run")
def test_quarantine_rows_without_a_time_do_not_pile_up(warehouse, fault):
    from tracker.warehouse import quarantine
    from tracker.warehouse.quarantine import Rejected

    person = "q_overlap"
    warehouse.execute("delete from raw.quarantine where person_id = %s", (person,))
    bad = Rejected("google-health-api/sleep[3]", "a session data point has no name", '{"sleep": {}}')
    # WHEN four daily runs, each re-pulling the 3 days before its day, meet the same bad record
    for d in range(4):
        start = DAY + timedelta(days=d)
        at = Rejected(bad.locator.replace("[3]", f"[{3 - d}]"), bad.reason, bad.raw_text)  # its position moves
        quarantine.replace(warehouse, person_id=person, source="google_health_api", entity="sleep", run_id=f"r{d}",
                           rejected=[at], window_start=start - timedelta(days=3), window_end=start + timedelta(days=1),
                           locator_prefix="google-health-api/sleep")
    n = warehouse.execute("select count(*) from raw.quarantine where person_id = %s", (person,)).fetchone()[0]
    warehouse.execute("delete from raw.quarantine where person_id = %s", (person,))
    fault.record(f"{n} quarantine row(s)", before=1, after=n, lost=max(0, 1 - n))
    assert n == 1
