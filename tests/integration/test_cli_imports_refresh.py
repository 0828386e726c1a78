"""`tracker import … --json`, and imports refreshing gold: each raw table an import changed gets an Asset
event through Airflow's REST API (the fake in test_cli_fake_airflow.py, checked against Airflow's OpenAPI), so
dbt_warehouse runs; without Airflow the import still succeeds, with one line saying so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from test_cli_fake_airflow import FakeAirflow
from tracker import settings
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
NETFLIX = ROOT / "tests" / "fixtures" / "netflix" / "ViewingActivity.csv"
FITBIT = ROOT / "tests" / "fixtures" / "fitbit_export" / "Takeout"
PERSON = "cli_refresh"


def tracker_import(tmp_path: Path, airflow_port: int, *args: str):
    from tracker.cli import imports

    config = tmp_path / "people.yml"
    config.write_text(f"people:\n  - id: {PERSON}\n    timezone: Europe/Berlin\n")
    app = typer.Typer()
    imports.register(app)
    result = CliRunner().invoke(app, ["import", *args], env={
        "TRACKER_CONFIG": str(config), "TRACKER_WAREHOUSE_DSN": settings.warehouse_dsn(),
        "TRACKER_AIRFLOW_PORT": str(airflow_port), "COLUMNS": "200"})
    assert "Traceback" not in result.output
    return result


@pytest.fixture()
def clean(warehouse):
    def wipe() -> None:
        from tracker.sources.catalogue import raw_tables

        for table in raw_tables():
            if "person_id" in table.columns:
                warehouse.execute(f"delete from {table.qualified} where person_id = %s", (PERSON,))  # noqa: S608
        warehouse.execute("delete from raw.quarantine where person_id = %s", (PERSON,))
        warehouse.execute("delete from raw.tracker__people where person_id = %s", (PERSON,))

    wipe()
    yield warehouse
    wipe()


def netflix_rows(conn) -> int:
    return conn.execute("select count(*) from raw.netflix__viewing_activity where person_id = %s",
                        (PERSON,)).fetchone()[0]


def fake_airflow(*assets: str) -> FakeAirflow:
    return FakeAirflow(settings.Secrets.load_or_create().airflow_admin_password, {"dbt_warehouse": False},
                       list(assets))


def test_import_posts_the_changed_tables_asset_event_and_prints_json(tmp_path, clean):
    with fake_airflow("raw.netflix__viewing_activity", "raw.netflixXviewing_activity") as airflow:
        # WHEN a Netflix export is imported with --json
        first = tracker_import(tmp_path, airflow.port, "netflix", str(NETFLIX), "--json")
        assert first.exit_code == 0, first.output
        summary = json.loads(first.stdout)  # stdout is the JSON document only; progress went to stderr
        # THEN the JSON is the import's summary, matching the rows in the warehouse
        assert summary["source"] == "netflix" and summary["person_id"] == PERSON
        assert summary["inserted"] == netflix_rows(clean) > 0
        # AND exactly one Asset event was posted, for that table (not for a LIKE look-alike), with the run
        (event,) = airflow.events
        assert event["name"] == "raw.netflix__viewing_activity"
        assert event["extra"] == {"source": "tracker import netflix", "run_id": summary["run_id"],
                                  "rows": summary["inserted"], "from_rest_api": True}
        assert summary["gold_refresh"]["asset_events"] == [
            {"asset": "raw.netflix__viewing_activity", "asset_id": 1, "event_id": 1}]
        assert "Asset event posted for raw.netflix__viewing_activity" in first.stderr
        # WHEN the same file is imported again: nothing changed, so no event
        again = tracker_import(tmp_path, airflow.port, "netflix", str(NETFLIX), "--json")
        assert json.loads(again.stdout)["gold_refresh"]["airflow"] == "not needed"
        assert len(airflow.events) == 1
        assert "gold: no raw table changed, nothing to refresh" in again.stderr


def test_import_without_airflow_succeeds_with_one_line(tmp_path, clean):
    with fake_airflow() as gone:
        pass  # nothing listens on its port any more
    result = tracker_import(tmp_path, gone.port, "netflix", str(NETFLIX))
    assert result.exit_code == 0, result.output
    assert netflix_rows(clean) > 0
    notes = [line for line in result.output.splitlines() if "Airflow" in line]
    assert notes == [f"note: Airflow is not up (http://127.0.0.1:{gone.port}): gold refreshes with dbt_warehouse's "
                     "next run (or run `tracker dbt build` now)"]


def test_a_table_without_an_asset_is_named(tmp_path, clean):
    with fake_airflow("raw.spotify__streams") as airflow:
        result = tracker_import(tmp_path, airflow.port, "netflix", str(NETFLIX))
    assert result.exit_code == 0, result.output
    assert airflow.events == []
    assert "note: Airflow has no Asset for raw.netflix__viewing_activity (no parsed DAG is scheduled on it)" \
           in result.output


def test_no_refresh_gold_calls_nothing(tmp_path, clean):
    with fake_airflow("raw.netflix__viewing_activity") as airflow:
        result = tracker_import(tmp_path, airflow.port, "netflix", str(NETFLIX), "--no-refresh-gold")
    assert result.exit_code == 0, result.output
    assert airflow.calls == []


def test_fitbit_export_posts_one_event_per_changed_table(tmp_path, clean):
    from tracker.sources.catalogue import SOURCES

    names = [t.qualified for t in SOURCES["fitbit_export"].tables]
    with fake_airflow(*names) as airflow:
        result = tracker_import(tmp_path, airflow.port, "fitbit-export", str(FITBIT), "--json")
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout)
        changed = {name for name, stats in summary["tables"].items()
                   if stats["inserted"] + stats["updated"] + stats["deleted"]}
        assert changed and {e["name"] for e in airflow.events} == changed
        assert len(airflow.events) == len(changed)
        for event in airflow.events:
            stats = summary["tables"][event["name"]]
            assert event["extra"]["rows"] == stats["inserted"] + stats["updated"] + stats["deleted"]
        # the counters keyed by (table, reason) are lists of objects in the JSON
        assert all(set(item) == {"key", "count"} for item in summary["skipped"])
