"""dbt source freshness is evaluated hourly by check_freshness (real dbt through Cosmos, the session
warehouse): stale past `warn_after` only warns and the task succeeds; past `error_after` the task fails naming
the source. Sources of API DAGs nobody in the config uses are not checked (their empty tables would
always be "stale")."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import yaml

pytestmark = [pytest.mark.integration, pytest.mark.timeout(400)]


@pytest.fixture()
def weather_only(tmp_path, monkeypatch, warehouse, demo_api):
    """A config whose one person has a location and no accounts, and a day of weather loaded now."""
    from tracker.config import load_config
    from tracker.sources.open_meteo import OpenMeteoClient
    from tracker.sources.open_meteo.extract import extract_and_load
    from tracker.windows import ExtractWindow

    path = tmp_path / "weather_only.yml"
    path.write_text(yaml.safe_dump({"people": [{"id": "me", "timezone": "Europe/Berlin", "locations": [
        {"name": "home", "latitude": 52.52, "longitude": 13.41, "timezone": "Europe/Berlin"}]}]}))
    monkeypatch.setenv("TRACKER_CONFIG", str(path))
    warehouse.execute("truncate raw.open_meteo__hourly")
    client = OpenMeteoClient(archive_url=f"{demo_api}/open-meteo/v1/archive",
                             forecast_url=f"{demo_api}/open-meteo/v1/forecast")
    extract_and_load(warehouse, client, load_config(), ExtractWindow(datetime(2026, 10, 1, tzinfo=UTC),
                                                                     datetime(2026, 10, 2, tzinfo=UTC)), "fresh")
    yield
    warehouse.execute("truncate raw.open_meteo__hourly")


def freshness_task_run():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder="dags/check_freshness.py")
    assert not bag.import_errors, bag.import_errors
    return bag.get_dag("check_freshness").test()


def test_freshness_warns_without_failing_and_errors_fail_naming_the_source(weather_only, warehouse, airflow_db,
                                                                           dbt_manifest, capfd, caplog,
                                                                           monkeypatch):
    # as the stack's Airflow processes run it (tracker.stack.local.airflow_env): dbt writes into Cosmos' copy of
    # the project, not into a shared target folder
    for var in ("DBT_TARGET_PATH", "DBT_LOG_PATH"):
        monkeypatch.delenv(var)
    # WHEN the weather was loaded just now (the Fitbit/export sources are empty: warn-only rules)
    capfd.readouterr()
    caplog.clear()
    run = freshness_task_run()
    log = capfd.readouterr().out + caplog.text  # Airflow's logging: stdout or stdlib, by what ran before
    # THEN the freshness task ran dbt's rules and succeeded; warnings are in its log, unused sources were skipped
    assert run.state == "success", log[-3000:]
    assert "PASS freshness of open_meteo.open_meteo__hourly" in log, log[-3000:]
    # (fitbit heart rate: WARN when empty, PASS when an earlier test of the session loaded it just now)
    assert re.search(r"(WARN|PASS) freshness of fitbit\.fitbit__heart_rate", log), log[-3000:]
    assert "START freshness of lastfm." not in log and "START freshness of github." not in log
    # WHEN the last weather load is 40 h old (past warn_after 36 h), THEN it warns and the task still succeeds
    warehouse.execute("update raw.open_meteo__hourly set _loaded_at = now() - interval '40 hours'")
    capfd.readouterr()
    caplog.clear()
    run = freshness_task_run()
    log = capfd.readouterr().out + caplog.text  # Airflow's logging: stdout or stdlib, by what ran before
    assert run.state == "success" and "WARN freshness of open_meteo.open_meteo__hourly" in log, log[-3000:]
    # and dbt read the project from the partial-parse file the first run left in dbt_warehouse's Cosmos cache:
    # a full parse on every run cost ≈ 5 s of CPU
    assert "Unable to do partial parsing" not in log and "Starting full parse" not in log, log[-3000:]
    # WHEN it is 80 h old (past error_after 72 h), THEN the task fails, naming the stale source
    warehouse.execute("update raw.open_meteo__hourly set _loaded_at = now() - interval '80 hours'")
    capfd.readouterr()
    caplog.clear()
    run = freshness_task_run()
    log = capfd.readouterr().out + caplog.text  # Airflow's logging: stdout or stdlib, by what ran before
    assert run.state == "failed"
    assert "ERROR STALE freshness of open_meteo.open_meteo__hourly" in log, log[-3000:]
    assert "tracker task failed: dag=check_freshness task=source_freshness" in log
