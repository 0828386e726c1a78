"""Imports and the schema step against a live warehouse: an import from a shell with another config never
rewrites a person, and the warehouse step does no DDL (no grants) once the schema is current — so it never
waits on, or collides with, dbt swapping a gold table."""

from __future__ import annotations

import threading

import psycopg
import pytest
import yaml
from tracker import settings
from typer.testing import CliRunner

pytestmark = pytest.mark.integration

PERSON = "tz_guard"


@pytest.fixture()
def stored_person(warehouse):
    from tracker.config import Person, TrackerConfig
    from tracker.warehouse.people import sync_people

    sync_people(warehouse, TrackerConfig(people=[Person(id=PERSON, timezone="Europe/Berlin")]), "dag-run")
    yield
    warehouse.execute("delete from raw.tracker__people where person_id = %s", (PERSON,))
    warehouse.execute("delete from raw.netflix__viewing_activity where person_id = %s", (PERSON,))


@pytest.mark.fault("import from a shell with another config (other time zone)",
                   "the person's stored time zone is kept; one clear error line")
def test_import_with_another_config_never_rewrites_the_person(stored_person, warehouse, tmp_path, monkeypatch,
                                                              fault):
    from tracker.cli import app

    # GIVEN the stack's DAGs stored the person with Europe/Berlin, and a shell whose config says New York
    config = tmp_path / "other.yml"
    config.write_text(yaml.safe_dump({"people": [{"id": PERSON, "timezone": "America/New_York"}]}))
    monkeypatch.setenv("TRACKER_CONFIG", str(config))
    csv = tmp_path / "ViewingActivity.csv"
    csv.write_text("Profile Name,Start Time,Duration,Attributes,Title,Supplemental Video Type,Device Type,"
                   "Bookmark,Latest Bookmark,Country\n"
                   "Demo,2026-03-01 20:00:00,00:42:00,,Some Film,,TV,00:42:00,00:42:00,DE (Germany)\n")
    # WHEN that shell imports an export for the person
    result = CliRunner().invoke(app, ["import", "netflix", str(csv), "--person", PERSON])
    # THEN the import is refused in one line naming both zones, and the stored zone is unchanged
    zone = warehouse.execute("select timezone from raw.tracker__people where person_id = %s",
                             (PERSON,)).fetchone()[0]
    loaded = warehouse.execute("select count(*) from raw.netflix__viewing_activity where person_id = %s",
                               (PERSON,)).fetchone()[0]
    fault.record(f"exit {result.exit_code}; stored zone {zone}; {loaded} rows imported", before=1,
                 after=int(zone == "Europe/Berlin"), lost=int(zone != "Europe/Berlin"))
    assert zone == "Europe/Berlin"
    assert result.exit_code == 2 and result.exception is None or isinstance(result.exception, SystemExit)
    assert "Europe/Berlin" in result.output and "America/New_York" in result.output
    assert "Traceback" not in result.output and loaded == 0


def test_import_of_a_new_person_registers_them(warehouse, tmp_path):
    from tracker.config import Person
    from tracker.warehouse.people import register_people

    person = Person(id="tz_new_person", timezone="Asia/Tokyo")
    try:
        register_people(warehouse, [person], "import")
        register_people(warehouse, [person], "import")  # again: no change
        assert warehouse.execute("select timezone from raw.tracker__people where person_id = %s",
                                 (person.id,)).fetchall() == [("Asia/Tokyo",)]
    finally:
        warehouse.execute("delete from raw.tracker__people where person_id = %s", (person.id,))


@pytest.mark.fault("schema step while dbt swaps a gold table", "no DDL once current: returns at once, no collision")
def test_ensure_warehouse_does_no_ddl_once_current(warehouse, fault):
    from tracker.warehouse.schema import ensure_warehouse

    ensure_warehouse(warehouse)  # current
    warehouse.execute("drop table if exists gold.t_swap_probe; drop table if exists gold.t_swap_probe__tmp;"
                      "create table gold.t_swap_probe (x int)")
    swapping, release = threading.Event(), threading.Event()

    def dbt_swap() -> None:  # what dbt does when it rebuilds a table: rename inside a transaction
        with psycopg.connect(settings.warehouse_dsn()) as conn:
            conn.execute("alter table gold.t_swap_probe rename to t_swap_probe__tmp")
            swapping.set()
            release.wait(20)
            conn.rollback()

    swapper = threading.Thread(target=dbt_swap)
    swapper.start()
    try:
        assert swapping.wait(10)
        with psycopg.connect(settings.warehouse_dsn(), autocommit=True) as conn:
            conn.execute("set statement_timeout = '3s'")
            try:
                applied = ensure_warehouse(conn)
                outcome = f"returned {applied or 'nothing new'}"
            except psycopg.errors.QueryCanceled as exc:
                outcome = f"blocked: {str(exc).splitlines()[0]}"
    finally:
        release.set()
        swapper.join()
        warehouse.execute("drop table if exists gold.t_swap_probe")
    fault.record(outcome)
    assert outcome.startswith("returned")
