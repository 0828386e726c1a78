"""`tracker extract SOURCE --start --end` (no Airflow) loads what the source's DAG loads, reruns change nothing,
and bad input is one line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

START = datetime(2026, 10, 12, tzinfo=UTC)
END = START + timedelta(days=1)
# source → (DAG, its table, the table's data columns compared between the two paths)
CASES = {
    "weather": ("weather_open_meteo", "raw.open_meteo__hourly", "open_meteo"),
    "lastfm": ("lastfm_scrobbles", "raw.lastfm__scrobbles", "lastfm"),
}


def data_rows(conn, table: str) -> list[tuple]:
    """The table's rows without load metadata (`_run_id`, `_loaded_at` differ between the two paths)."""
    cols = [r[0] for r in conn.execute(
        "select column_name from information_schema.columns where table_schema || '.' || table_name = %s"
        " and column_name not in ('_run_id', '_loaded_at') order by ordinal_position", (table,))]
    return conn.execute(f"select {', '.join(cols)} from {table} order by {', '.join(cols[:4])}").fetchall()


def checksum(conn, table: str) -> tuple[int, str]:
    return conn.execute(f"select count(*), coalesce(md5(string_agg(t::text, '|' order by t::text)), '') "
                        f"from {table} t").fetchone()


def quarantine_rows(conn, source: str) -> list[tuple]:
    return conn.execute("select person_id, entity, locator, reason, raw_text from raw.quarantine where source = %s"
                        " order by 1, 2, 3", (source,)).fetchall()


def tracker(*args: str, **env: str | None):
    from tracker.cli import app
    from typer.testing import CliRunner

    return CliRunner().invoke(app, list(args), env={"TRACKER_DEMO": "0", "COLUMNS": "200", **env})


def run_dag(dag_id: str):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=f"dags/{dag_id}.py")
    assert not bag.import_errors, bag.import_errors
    run = bag.get_dag(dag_id).test(logical_date=END)
    assert run.state == "success", [(ti.task_id, ti.state) for ti in run.get_task_instances()]


@pytest.mark.parametrize("source", list(CASES))
def test_extract_loads_what_the_dag_loads_and_reruns_change_nothing(source, warehouse, demo_api, airflow_db,
                                                                    dbt_manifest):
    dag_id, table, q_source = CASES[source]
    # GIVEN the window loaded by the source's DAG
    warehouse.execute(f"truncate {table}")
    warehouse.execute("delete from raw.quarantine where source = %s", (q_source,))
    run_dag(dag_id)
    by_dag, dag_quarantine = data_rows(warehouse, table), quarantine_rows(warehouse, q_source)
    assert by_dag
    # WHEN the same window is loaded by `tracker extract` into the emptied table
    warehouse.execute(f"truncate {table}")
    warehouse.execute("delete from raw.quarantine where source = %s", (q_source,))
    result = tracker("extract", source, "--start", f"{START:%Y-%m-%d}", "--end", f"{END:%Y-%m-%d}", "--demo")
    # THEN it prints one line per load and the rows (and rejects) are the DAG's
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{q_source} ") and f"{len(by_dag)} inserted" in lines[0], lines
    assert data_rows(warehouse, table) == by_dag
    assert quarantine_rows(warehouse, q_source) == dag_quarantine
    before = checksum(warehouse, table), checksum(warehouse, "raw.quarantine")
    # WHEN it runs again
    again = tracker("extract", source, "--start", f"{START:%Y-%m-%d}", "--end", f"{END:%Y-%m-%d}", "--demo")
    # THEN nothing changed, not even load metadata
    assert again.exit_code == 0, again.output
    assert "0 inserted, 0 updated, 0 deleted" in again.output
    assert (checksum(warehouse, table), checksum(warehouse, "raw.quarantine")) == before


@pytest.mark.parametrize(("args", "env", "message"), [
    (["extract", "nope", "--start", "2026-10-12", "--end", "2026-10-13"], {}, "unknown source 'nope'"),
    (["extract", "netflix", "--start", "2026-10-12", "--end", "2026-10-13"], {}, "read from export files"),
    (["extract", "fitbit_export", "--start", "2026-10-12", "--end", "2026-10-13"], {}, "tracker import fitbit-export"),
    (["extract", "weather", "--start", "2026-13-01", "--end", "2026-10-13"], {}, "is not a date"),
    (["extract", "weather", "--start", "2026-10-13", "--end", "2026-10-12"], {}, "must be after --start"),
    (["extract", "weather", "--start", "2026-10-12", "--end", "2026-10-13", "--person", "nobody"], {},
     "no person 'nobody'"),
    (["extract", "github", "--start", "2026-10-12", "--end", "2026-10-13"], {"GITHUB_TOKEN": None},
     "needs GITHUB_TOKEN"),
    (["extract", "github", "--start", "2026-10-12", "--end", "2026-10-13", "--demo"], {"GITHUB_TOKEN": "bad"},
     "fix environment variable GITHUB_TOKEN"),
    (["extract", "lastfm", "--start", "2026-10-12", "--end", "2026-10-13", "--demo"], {"LASTFM_API_KEY": "bad"},
     "fix environment variable LASTFM_API_KEY"),
])
def test_bad_input_is_one_line_and_loads_nothing(args, env, message, warehouse, demo_api):
    tables = ["raw.github__commits", "raw.lastfm__scrobbles", "raw.open_meteo__hourly", "raw.quarantine"]
    before = {t: checksum(warehouse, t) for t in tables}
    result = tracker(*args, **env)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error:") and len(result.output.strip().splitlines()) == 1, result.output
    assert message in result.output and "Traceback" not in result.output
    assert {t: checksum(warehouse, t) for t in tables} == before
