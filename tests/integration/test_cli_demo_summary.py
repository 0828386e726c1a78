"""The summary `tracker demo` ends with: rows per gold table and the last 7 days of fct_daily_summary, read
from the real PostgreSQL (a scratch schema standing in for gold)."""

from __future__ import annotations

import json
from datetime import date, timedelta

from rich.console import Console


def test_gold_summary_counts_every_table_and_keeps_the_last_7_days(scratch):
    from tracker.cli.stack import SUMMARY_COLUMNS, gold_summary, print_gold_summary

    schema, conn = scratch.schema, scratch.conn
    # GIVEN a gold-like schema: 20 days for two people, and another table
    conn.execute(f"create table {schema}.fct_daily_summary (person_id text, local_date date, steps int, "
                 "resting_bpm numeric, asleep_minutes int, commits int, listened_minutes numeric, "
                 "watched_minutes numeric, temperature_mean_c numeric, other text)")
    conn.execute(f"create table {schema}.dim_person (person_id text)")
    conn.execute(f"insert into {schema}.dim_person values ('ann'), ('bob')")
    last = date(2026, 11, 30)
    with conn.cursor() as cur:
        cur.executemany(f"insert into {schema}.fct_daily_summary values (%s, %s, %s, 55.5, 420, 3, 61.25, 30, "  # noqa: S608
                        "4.5, 'x')", [(p, last - timedelta(days=d), 1000 + d) for p in ("ann", "bob")
                                      for d in range(20)])
    # WHEN the summary is read
    summary = gold_summary(conn, schema=schema)
    # THEN every table has its row count
    assert summary["gold_rows"] == {"dim_person": 2, "fct_daily_summary": 40}
    # AND the daily summary holds each person's last 7 days, in order, with the chosen columns
    daily = summary["daily_summary"]
    assert [(r["person_id"], r["local_date"]) for r in daily] == [
        (p, last - timedelta(days=d)) for p in ("ann", "bob") for d in range(6, -1, -1)]
    assert list(daily[0]) == list(SUMMARY_COLUMNS)
    # AND it prints as two tables, and serialises for --json
    out = Console(record=True, width=200, force_terminal=False)
    import tracker.cli.stack as stack

    saved, stack.console = stack.console, out
    try:
        print_gold_summary(summary)
    finally:
        stack.console = saved
    text = out.export_text()
    assert "fct_daily_summary" in text and "2026-11-30" in text and "2026-11-23" not in text
    assert json.loads(json.dumps(summary, default=str))["daily_summary"][0]["local_date"] == "2026-11-24"


def test_no_daily_summary_yet(scratch):
    from tracker.cli.stack import gold_summary

    assert gold_summary(scratch.conn, schema=scratch.schema) == {"gold_rows": {}, "daily_summary": []}
