"""The demo with a household: every person's exports import on one connection (the loader's stage table used
to be created twice in one transaction: `DuplicateTable: relation "_stage_spotify__streams" already exists`)."""

from __future__ import annotations

from datetime import date

import pytest
import yaml
from tracker import settings

pytestmark = pytest.mark.integration

PEOPLE = [f"house_{i}" for i in range(4)]
TABLES = ("raw.netflix__viewing_activity", "raw.spotify__streams", "raw.youtube__watch_history")


@pytest.fixture()
def household(warehouse, tmp_path, monkeypatch):
    config = tmp_path / "people.yml"
    config.write_text(yaml.safe_dump({"people": [{"id": p, "timezone": "Europe/Berlin"} for p in PEOPLE]}))
    monkeypatch.setenv("TRACKER_CONFIG", str(config))
    yield
    for table in (*TABLES, "raw.tracker__people", "raw.quarantine"):
        warehouse.execute(f"delete from {table} where person_id = any(%s)", (PEOPLE,))  # noqa: S608


@pytest.mark.fault("demo exports for a household of 4 people", "every person's rows imported, the same for each")
def test_demo_exports_import_for_every_person(household, warehouse, tmp_path, fault):
    from tracker.demo.exports import import_demo_exports

    summaries = import_demo_exports(3, today=date(2026, 11, 20), folder=tmp_path / "exports",
                                    dsn=settings.warehouse_dsn(), echo=lambda *_: None)
    counts = {p: sum(warehouse.execute(f"select count(*) from {t} where person_id = %s",  # noqa: S608
                                       (p,)).fetchone()[0] for t in TABLES) for p in PEOPLE}
    offered = sum(s.imported for s in summaries) // len(PEOPLE)
    fault.record(f"{len(summaries)} imports; rows per person {sorted(set(counts.values()))}",
                 before=offered * len(PEOPLE), after=sum(counts.values()),
                 lost=offered * len(PEOPLE) - sum(counts.values()))
    assert len(summaries) == 3 * len(PEOPLE)
    assert len(set(counts.values())) == 1 and counts[PEOPLE[0]] > 0
