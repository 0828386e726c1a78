"""GitHub, Last.fm and Trakt on the real stack pieces: demo APIs → dag.test() → raw tables.

Each DAG runs one daily data interval against the demo server; a rerun of the same window leaves every raw
table (and the quarantine) byte-identical; bad credentials fail the extract at once, without retries, with an
AuthError naming the connection.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]  # a task left up_for_retry would hang dag.test()

START = datetime(2026, 10, 12, tzinfo=UTC)  # a Monday: commits, pull requests, scrobbles and a binge
END = START + timedelta(days=1)

GITHUB = ["raw.github__commits", "raw.github__pull_requests", "raw.github__reviews", "raw.github__issues",
          "raw.github__contributions_daily"]
TIME_COLUMN = {"raw.github__commits": "authored_at", "raw.github__pull_requests": "created_at",
               "raw.github__reviews": "submitted_at", "raw.github__issues": "created_at",
               "raw.github__contributions_daily": "day_start", "raw.lastfm__scrobbles": "played_at",
               "raw.trakt__history": "watched_at"}
DAGS = {"github_activity": GITHUB, "lastfm_scrobbles": ["raw.lastfm__scrobbles"],
        "trakt_history": ["raw.trakt__history"]}


def checksum(conn, table: str) -> tuple[int, str]:
    return conn.execute(f"select count(*), coalesce(md5(string_agg(t::text, '|' order by t::text)), '') "
                        f"from {table} t").fetchone()


def run_dag(dag_id: str, start: datetime = START, end: datetime = END):
    """dag.test() a run whose data interval is [start, end) (it infers the interval ending at the date)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=f"dags/{dag_id}.py")
    assert not bag.import_errors, bag.import_errors
    run = bag.get_dag(dag_id).test(logical_date=end)
    assert (run.data_interval_start, run.data_interval_end) == (start, end)
    return run


@pytest.fixture()
def empty_tables(warehouse):
    warehouse.execute(f"truncate {', '.join(TIME_COLUMN)}")
    warehouse.execute("delete from raw.quarantine where source in ('github', 'lastfm', 'trakt')")


@pytest.mark.parametrize("dag_id", list(DAGS))
def test_dag_loads_one_day_and_reruns_identically(dag_id, warehouse, demo_api, airflow_db, dbt_manifest,
                                                  empty_tables):
    tables = DAGS[dag_id]
    # WHEN the DAG runs for one daily data interval against the demo APIs
    run = run_dag(dag_id)
    # THEN every task succeeded and rows landed for the configured person, all inside the window
    assert run.state == "success", [(ti.task_id, ti.state) for ti in run.get_task_instances()]
    for table in tables:
        col = TIME_COLUMN[table]
        n, lo, hi, people = warehouse.execute(
            f"select count(*), min({col}), max({col}), array_agg(distinct person_id) from {table}").fetchone()
        if n:
            assert START <= lo and hi < END, (table, lo, hi)
            assert people == ["me"], (table, people)
    landed = {t: warehouse.execute(f"select count(*) from {t}").fetchone()[0] for t in tables}
    expected_nonempty = {"raw.github__commits", "raw.github__pull_requests", "raw.github__contributions_daily",
                         "raw.lastfm__scrobbles", "raw.trakt__history"} & set(tables)
    assert all(landed[t] > 0 for t in expected_nonempty), landed
    before = {t: checksum(warehouse, t) for t in [*tables, "raw.quarantine"]}
    # WHEN the same window runs again
    assert run_dag(dag_id).state == "success"
    # THEN nothing changed, not even load metadata
    assert {t: checksum(warehouse, t) for t in [*tables, "raw.quarantine"]} == before


def test_contributions_day_matches_commits(warehouse, demo_api, airflow_db, dbt_manifest, empty_tables):
    # GIVEN one day of GitHub activity loaded
    assert run_dag("github_activity").state == "success"
    # THEN the calendar holds exactly the window's date, with a positive count on a day with commits
    rows = warehouse.execute("select day::text, day_start, contribution_count, github_login "
                             "from raw.github__contributions_daily").fetchall()
    assert [(r[0], r[1], r[3]) for r in rows] == [("2026-10-12", START, "demo-user")]
    assert rows[0][2] > 0


@pytest.mark.parametrize(("dag_id", "conn_var", "conn", "task_ids"), [
    ("github_activity", "AIRFLOW_CONN_GITHUB", "github",
     [f"extract_load_{e}" for e in ("commits", "pull_requests", "reviews", "issues", "contributions_daily")]),
    ("lastfm_scrobbles", "AIRFLOW_CONN_LASTFM", "lastfm", ["extract_load_scrobbles"]),
    ("trakt_history", "AIRFLOW_CONN_TRAKT", "trakt", ["extract_load_history"]),
])
def test_bad_credentials_fail_at_once_naming_the_connection(dag_id, conn_var, conn, task_ids, warehouse,
                                                            demo_api, airflow_db, dbt_manifest, monkeypatch,
                                                            capfd):
    from tracker.http import AuthError

    # GIVEN the connection's secret replaced by `bad`
    bad = json.loads(os.environ[conn_var]) | {"password": "bad"}
    monkeypatch.setenv(conn_var, json.dumps(bad))
    # WHEN the DAG runs
    capfd.readouterr()
    run = run_dag(dag_id)
    task_log = capfd.readouterr().out  # Airflow's task logs go to stdout (structlog), not to caplog
    # THEN each extract task failed on its first try (the retry policy does not retry AuthError) …
    assert run.state == "failed"
    tis = {ti.task_id: ti for ti in run.get_task_instances()}
    for task_id in task_ids:
        assert (tis[task_id].state, tis[task_id].try_number) == ("failed", 1), (task_id, tis[task_id].state,
                                                                               tis[task_id].try_number)
    assert tis["warehouse_ready"].state == "success"
    # … with an AuthError that names the connection to fix
    assert "tracker.http.AuthError: authentication failed" in task_log, task_log[-3000:]
    assert f"fix connection '{conn}'" in task_log
    assert "Retry policy decision" in task_log and "action=fail" in task_log
    # AND the hook's client raises the same error when called directly
    from tracker_airflow import hooks

    with pytest.raises(AuthError, match=f"fix connection '{conn}'"):
        if conn == "github":
            hooks.GitHubHook().get_client("demo-user").commits(START, END, with_stats=False)
        elif conn == "lastfm":
            hooks.LastfmHook().get_client("demo-user").recent_tracks(START, END)
        else:
            hooks.TraktHook().get_client().history(START, END)


STAGING = ["models/staging/github", "models/staging/lastfm", "models/staging/trakt"]


def test_dbt_staging_builds_and_tests(warehouse, demo_api, airflow_db, dbt_manifest, empty_tables):
    import subprocess
    import sys
    from pathlib import Path

    from tracker.stack.local import dbt

    # GIVEN one day of every source loaded by its DAG
    for dag_id in DAGS:
        assert run_dag(dag_id).state == "success"
    # WHEN dbt builds the staging models (and runs their tests and source tests)
    result = dbt("build", "--select", *(f"path:{p}" for p in STAGING), "source:github", "source:lastfm",
                 "source:trakt", check=False)
    # THEN everything passes and each view shows every raw row
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    for model, table in [("stg_github__commits", "raw.github__commits"),
                         ("stg_github__contributions_daily", "raw.github__contributions_daily"),
                         ("stg_lastfm__scrobbles", "raw.lastfm__scrobbles"),
                         ("stg_trakt__history", "raw.trakt__history")]:
        n_stg = warehouse.execute(f"select count(*) from silver.{model}").fetchone()[0]
        assert n_stg == warehouse.execute(f"select count(*) from {table}").fetchone()[0] > 0, model
    # AND the models are sqlfluff-clean
    project = Path(__file__).parents[2] / "dbt_project"
    lint = subprocess.run([str(Path(sys.executable).with_name("sqlfluff")), "lint", *STAGING], cwd=project,
                          capture_output=True, text=True, env=os.environ.copy())
    assert lint.returncode == 0, lint.stdout[-4000:] + lint.stderr[-2000:]
