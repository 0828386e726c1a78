"""The load log (raw.tracker__load_log): every load writes one row with its figures in the load's own
transaction — a load that fails mid-way leaves neither rows nor a log row, and a rerun logs again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

pytestmark = pytest.mark.integration

PERSON = "loadlog_person"
START = datetime(2026, 6, 1, tzinfo=UTC)
END = START + timedelta(days=1)


@pytest.fixture()
def clean_log(warehouse):
    warehouse.execute("delete from raw.tracker__load_log where person_id = %s", (PERSON,))
    yield
    warehouse.execute("delete from raw.tracker__load_log where person_id = %s", (PERSON,))
    warehouse.execute("delete from raw.quarantine where person_id = %s", (PERSON,))


def load(warehouse, table, rows, rejected=(), run_id="loadlog-run-1"):
    from tracker.warehouse.loader import Window
    from tracker.warehouse.loads import QuarantineScope, load_checked

    return load_checked(warehouse, table, rows, list(rejected), run_id=run_id,
                        window=Window(START, END, {"person_id": PERSON}),
                        quarantine_scope=QuarantineScope("loadlog_src", "hourly", PERSON, START, END))


def log_rows(warehouse):
    return warehouse.execute(
        "select run_id, source, entity, person_id, scope, window_start, window_end, rows, inserted, updated,"
        " deleted, kept, outside, quarantined, started_at, finished_at, _run_id"
        " from raw.tracker__load_log where person_id = %s order by started_at", (PERSON,)).fetchall()


def hours(n: int, value: int = 1, first: int = 0):
    return [(PERSON, START + timedelta(hours=first + h), value, None) for h in range(n)]


def test_a_load_logs_its_figures_and_a_rerun_logs_again(warehouse, hourly, clean_log):
    from tracker.warehouse.quarantine import Rejected

    # GIVEN 24 hours, one of them quarantined
    before = datetime.now(UTC)
    done = load(warehouse, hourly, hours(24), [Rejected("hour 25", "bad value", "{}", START)])
    after = datetime.now(UTC)
    # THEN the log holds one row with the load's figures, inside the time the call took
    [row] = log_rows(warehouse)
    assert row[:14] == ("loadlog-run-1", "loadlog_src", "hourly", PERSON, "", START, END, 24, 24, 0, 0, 0, 0, 1)
    assert (done.rows, done.inserted, done.quarantined) == (24, 24, 1)
    assert before <= row[14] <= row[15] <= after and row[16] == "loadlog-run-1"
    # WHEN the window is loaded again with 2 hours changed and one dropped
    rerun = hours(23)
    rerun[0] = (PERSON, START, 7, None)
    rerun[1] = (PERSON, START + timedelta(hours=1), 7, None)
    load(warehouse, hourly, rerun, run_id="loadlog-run-2")
    # THEN a second row is appended (a log is never merged), with the rerun's figures
    rows = log_rows(warehouse)
    assert len(rows) == 2 and rows[0] == row
    assert rows[1][:14] == ("loadlog-run-2", "loadlog_src", "hourly", PERSON, "", START, END,
                            23, 0, 2, 1, 0, 0, 0)
    # AND the same run id loading the same window twice (an Airflow retry) is two rows too
    load(warehouse, hourly, rerun, run_id="loadlog-run-2")
    assert [r[0] for r in log_rows(warehouse)] == ["loadlog-run-1", "loadlog-run-2", "loadlog-run-2"]


def test_a_load_that_fails_mid_way_leaves_neither_rows_nor_a_log_row(warehouse, hourly, clean_log):
    import psycopg
    from tracker.warehouse.quarantine import Rejected

    # GIVEN rows that merge fine, then a quarantine row PostgreSQL refuses (a NUL byte in text) — the failure
    # comes after the table's rows were written in the load's transaction
    with pytest.raises(psycopg.Error):
        load(warehouse, hourly, hours(5), [Rejected("bad", "bad", "nul \x00 byte", START)])
    # THEN nothing of the load is left: no rows, no quarantine, no log row
    assert warehouse.execute(f"select count(*) from {hourly.qualified} where person_id = %s",  # noqa: S608
                             (PERSON,)).fetchone()[0] == 0
    assert warehouse.execute("select count(*) from raw.quarantine where person_id = %s", (PERSON,)).fetchone()[0] == 0
    assert log_rows(warehouse) == []
    # AND an outer transaction that rolls back after a successful load takes its log row with it
    with pytest.raises(RuntimeError), warehouse.transaction():
        load(warehouse, hourly, hours(3))
        raise RuntimeError("the task failed after the load")
    assert log_rows(warehouse) == []
    # AND the next good load is logged
    load(warehouse, hourly, hours(3))
    assert [r[7:9] for r in log_rows(warehouse)] == [(3, 3)]


def test_the_replace_path_logs_too(warehouse, scratch, clean_log):
    """The delete-the-window fast path (intraday samples) ends in the same log."""
    from tracker.warehouse.loader import Window
    from tracker.warehouse.loads import QuarantineScope, load_checked

    samples = scratch.table("samples", {"person_id": "text", "observed_at": "timestamptz", "bpm": "int2"},
                            ("person_id", "observed_at"), window_column="observed_at")
    rows = [(PERSON, START + timedelta(minutes=m), 60) for m in range(10)] + [(PERSON, END, 61)]
    for run in ("replace-1", "replace-2"):
        load_checked(warehouse, samples, rows, [], run_id=run, window=Window(START, END, {"person_id": PERSON}),
                     quarantine_scope=QuarantineScope("loadlog_src", "samples", PERSON, START, END), replace=True)
    assert [(r[0], r[2], r[7], r[8], r[10], r[12]) for r in log_rows(warehouse)] == [
        ("replace-1", "samples", 10, 10, 0, 1), ("replace-2", "samples", 10, 10, 10, 1)]
