"""`tracker backfill DAG --from --to` against a server that behaves like Airflow 3's REST API (see
test_cli_fake_airflow.py, which checks it against Airflow's OpenAPI description): runs shown as they move,
exit code by outcome, unknown DAG → one line listing the DAGs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import typer
from test_cli_fake_airflow import FakeAirflow
from tracker import settings
from typer.testing import CliRunner

DAGS = {"weather_open_meteo": False, "github_activity": False, "dbt_warehouse": True}


def run_backfill(fake: FakeAirflow, *args: str):
    from tracker.cli import backfill

    app = typer.Typer()
    backfill.register(app)
    app.command("noop", hidden=True)(lambda: None)  # two commands: `backfill` stays a subcommand
    result = CliRunner().invoke(app, ["backfill", *args, "--poll", "0.05"],
                                env={"TRACKER_AIRFLOW_PORT": str(fake.port), "COLUMNS": "200"})
    assert "Traceback" not in result.output
    return result


@pytest.fixture()
def fake(pg):
    with FakeAirflow(settings.Secrets.load_or_create().airflow_admin_password, DAGS) as server:
        yield server


def test_backfill_shows_every_run_and_succeeds(fake):
    # WHEN a week of weather is backfilled
    result = run_backfill(fake, "weather_open_meteo", "--from", "2026-11-10", "--to", "2026-11-16")
    # THEN Airflow got one backfill for those dates, re-running completed ones, 2 at a time
    assert result.exit_code == 0, result.output
    (created,) = [body for method, path, body in fake.calls if (method, path) == ("POST", "/api/v2/backfills")]
    assert created == {"dag_id": "weather_open_meteo", "from_date": "2026-11-10T00:00:00+00:00",
                       "to_date": "2026-11-16T00:00:00+00:00", "reprocess_behavior": "completed",
                       "max_active_runs": 2, "run_backwards": False}
    # AND every run's moves are printed (not a terminal: one line per change), ending in success
    lines = result.output.splitlines()
    assert lines[0] == ("backfill 1 of weather_open_meteo: 7 run(s), logical dates 2026-11-10 00:00 … "
                        "2026-11-16 00:00 UTC, 2 at a time")
    for day in range(10, 17):
        shown = [line.split()[-1] for line in lines if line.startswith(f"  2026-11-{day} 00:00")]
        assert shown[0] in ("queued", "running") and shown[-1] == "success", (day, shown)
    assert lines[-1] == "7 succeeded, 0 failed, 0 unfinished of 7"
    # AND never more than 2 ran at once
    assert fake.peak_running["weather_open_meteo"] == 2


def test_watching_stops_at_the_timeout_with_exit_3(fake):
    result = run_backfill(fake, "weather_open_meteo", "--from", "2026-11-10", "--to", "2026-11-11", "--timeout", "0")
    assert result.exit_code == 3, result.output
    assert "0 succeeded, 0 failed, 2 unfinished of 2" in result.output
    assert "the backfill goes on in Airflow" in result.output


def test_a_failed_run_exits_1_naming_it(fake):
    fake.fail_dates = {datetime(2026, 11, 12, tzinfo=UTC)}
    result = run_backfill(fake, "weather_open_meteo", "--from", "2026-11-10", "--to", "2026-11-13")
    assert result.exit_code == 1, result.output
    assert "3 succeeded, 1 failed, 0 unfinished of 4" in result.output
    assert result.output.splitlines()[-1].startswith("error: 1 run(s) failed: 2026-11-12;")


def test_unknown_dag_is_one_line_listing_the_dags(fake):
    result = run_backfill(fake, "weather", "--from", "2026-11-10", "--to", "2026-11-11")
    assert result.exit_code == 2
    assert result.output == "error: unknown DAG 'weather'; the DAGs: dbt_warehouse, github_activity, " \
                            "weather_open_meteo\n"
    assert ("POST", "/api/v2/backfills") not in [(m, p) for m, p, _ in fake.calls]


def test_paused_dag_needs_unpause(fake):
    result = run_backfill(fake, "dbt_warehouse", "--from", "2026-11-10", "--to", "2026-11-10")
    assert result.exit_code == 2
    assert "dbt_warehouse is paused" in result.output and "--unpause" in result.output
    result = run_backfill(fake, "dbt_warehouse", "--from", "2026-11-10", "--to", "2026-11-10", "--unpause")
    assert result.exit_code == 0, result.output
    assert fake.dags["dbt_warehouse"]["is_paused"] is False


def test_reprocess_none_over_loaded_days_is_nothing_to_do(fake):
    assert run_backfill(fake, "github_activity", "--from", "2026-11-10", "--to", "2026-11-11").exit_code == 0
    result = run_backfill(fake, "github_activity", "--from", "2026-11-10", "--to", "2026-11-11",
                          "--reprocess", "none")
    assert result.exit_code == 2
    assert result.output.startswith("error: nothing to backfill: github_activity has no run to create")


@pytest.mark.parametrize(("args", "message"), [
    (["--from", "2026-11-12", "--to", "2026-11-10"], "error: --to 2026-11-10 is before --from 2026-11-12"),
    (["--from", "12/11/2026", "--to", "2026-11-10"], "error: --from '12/11/2026' is not a date"),
])
def test_bad_dates_are_one_line(fake, args, message):
    result = run_backfill(fake, "weather_open_meteo", *args)
    assert result.exit_code == 2 and result.output.startswith(message)
    assert len(result.output.splitlines()) == 1


def test_airflow_not_up_is_one_line(pg):
    with FakeAirflow("x", DAGS) as gone:
        pass  # closed: nothing listens on its port any more
    result = run_backfill(gone, "weather_open_meteo", "--from", "2026-11-10", "--to", "2026-11-11")
    assert result.exit_code == 2
    assert result.output == f"error: Airflow is not reachable at http://127.0.0.1:{gone.port}: run `tracker up` " \
                            "(or `make demo`) first\n"


def test_wrong_password_never_prints_it(pg):
    with FakeAirflow("the-right-one", DAGS) as fake:
        result = run_backfill(fake, "weather_open_meteo", "--from", "2026-11-10", "--to", "2026-11-11")
    assert result.exit_code == 2
    assert "refused the login of 'tracker' (HTTP 401)" in result.output
    assert settings.Secrets.load_or_create().airflow_admin_password not in result.output
