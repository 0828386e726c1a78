"""`tracker demo --people 3 --revoked 1` as a new user runs it, on a private stack of its own (state folder and
ports: never the session's, never a person's): every person's gold is filled, the revoked person fails alone with
the command that fixes it, the completeness report has each person's days, and the demo API saw no user go over
Google's quota."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import pytest
import requests
from support import free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(2400)]

TRACKER = str(Path(sys.executable).with_name("tracker"))
DAYS = 3


@pytest.fixture(scope="module")
def study():
    """The demo study's JSON summary, its printed progress and the private stack's env; `down` afterwards."""
    # not under pytest's tmp folder: the `postgres` user that runs the cluster must be able to traverse the path
    state = Path(tempfile.mkdtemp(prefix="tracker-study-"))
    from tracker.stack.env import private_stack_env

    env = private_stack_env(state, free_port)
    try:
        done = subprocess.run([TRACKER, "demo", "--people", "3", "--revoked", "1", "--days", str(DAYS), "--json"],
                              env=env, capture_output=True, text=True, timeout=2200)
        yield done, env
    finally:
        subprocess.run([TRACKER, "down"], env=env, capture_output=True, text=True, timeout=300)
        shutil.rmtree(state, ignore_errors=True)


def _dsn(env: dict[str, str]) -> str:
    secrets = json.loads((Path(env["TRACKER_STATE_DIR"]) / "secrets.json").read_text())
    return (f"postgresql://tracker_loader:{secrets['loader_password']}@127.0.0.1:{env['TRACKER_PG_PORT']}"
            "/warehouse")


def test_the_revoked_person_fails_alone_and_says_how_to_sign_in_again(study):
    done, _ = study
    # the planned failure does not fail the demo; it is printed, with its reason, and in the summary
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout)
    health = result["runs"]["google_health_fitness"]
    assert health["state"] == "failed"
    assert set(health["failed_people"]) == {"p03"}
    assert "tracker auth google-health --account p03" in health["failed_people"]["p03"]
    assert "google_health_fitness: p03 failed alone" in done.stderr
    # every other source ran for everyone
    for dag_id in ("weather_open_meteo", "github_activity", "lastfm_scrobbles", "trakt_history"):
        assert result["runs"][dag_id]["state"] == "success", (dag_id, result["runs"][dag_id])
    assert result["runs"]["dbt_warehouse"]["state"] == "success"
    assert result["runs"]["check_freshness"]["state"] == "success"  # then hourly
    assert result["unexpected_failures"] == {}


def test_every_persons_gold_is_filled(study):
    done, env = study
    result = json.loads(done.stdout)
    people = {row["person_id"]: row for row in result["people"]}
    assert set(people) == {"p01", "p02", "p03"}
    assert all(row["days"] >= DAYS for row in people.values()), people
    # health from the API for the two signed-in people; the revoked one has none (and nothing invented)
    assert people["p01"]["health_days"] >= DAYS and people["p02"]["health_days"] >= DAYS, people
    assert people["p03"]["health_days"] == 0, people
    # the completeness report (gold.dim_person_sync) counts the revoked person's days without heart rate
    assert people["p03"]["hr_days_missing"] > 0 and people["p01"]["hr_days_missing"] == 0, people
    with psycopg.connect(_dsn(env)) as conn:
        # seeded per person: two people are not one person's copy
        steps = dict(conn.execute("select person_id, sum(steps) from gold.fct_activity_daily"
                                  " where person_id in ('p01', 'p02') group by 1").fetchall())
        assert len(steps) == 2 and steps["p01"] != steps["p02"], steps
        commits = dict(conn.execute("select person_id, count(*) from gold.fct_productivity_daily"
                                    " group by 1").fetchall())
        assert {"p01", "p02", "p03"} <= set(commits), commits
        # the completeness report has each person's days, and says the revoked person's health is missing
        rows = conn.execute("select person_id, count(distinct local_date), bool_or(has_data) filter"
                            " (where source_family = 'heart_rate') from gold.fct_sync_completeness_daily"
                            " where person_id in ('p01', 'p02', 'p03') group by 1 order by 1").fetchall()
    assert [r[0] for r in rows] == ["p01", "p02", "p03"], rows
    assert all(r[1] >= DAYS for r in rows), rows
    assert [r[2] for r in rows] == [True, True, False], rows
    with psycopg.connect(_dsn(env)) as conn:
        status = dict(conn.execute("select person_id, sign_in_status from gold.dim_person_sync"
                                   " where source_family = 'heart_rate' order by 1").fetchall())
    assert status == {"p01": "signed_in", "p02": "signed_in", "p03": "revoked"}, status


def test_no_user_went_over_googles_quota_at_the_demo_api(study):
    done, env = study
    counts = requests.get(f"http://127.0.0.1:{env['TRACKER_DEMO_PORT']}/_demo/requests",
                          params={"api": "google_health"}, timeout=30)
    if counts.status_code == 404:  # the stack is down by now only if the fixture ended: it has not
        pytest.fail("the demo API does not count requests")
    subjects = counts.json()["subjects"]
    assert {"p01", "p02"} <= set(subjects), subjects
    assert all(s["busiest_60s"] <= 300 for s in subjects.values()), subjects
