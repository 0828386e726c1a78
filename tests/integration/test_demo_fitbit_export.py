"""The demo's Fitbit export: real Takeout layout and formats, imported by the real importer, idempotently."""

from __future__ import annotations

from datetime import date

import pytest

pytestmark = pytest.mark.integration

TODAY = date(2026, 11, 24)
FIRST, LAST = date(2026, 10, 20), date(2026, 10, 27)   # the autumn DST switch (25-hour 10-25) inside


@pytest.fixture()
def cleanup(warehouse):
    """The test's person leaves nothing behind for later tests (gold tables cover every synced person)."""
    yield "demo_export"
    from tracker.sources.fitbit_export import tables

    for table in [*(t.qualified for t in tables.ALL), "raw.fitbit__heart_rate_files", "raw.quarantine",
                  "raw.tracker__people"]:
        warehouse.execute(f"delete from {table} where person_id = %s", ("demo_export",))  # noqa: S608


def test_demo_export_imports_every_kind_with_utc_reading_and_reimports_unchanged(warehouse, tmp_path, cleanup):
    from tracker import settings
    from tracker.config import Person, TrackerConfig
    from tracker.demo.fitbit_export import write_export
    from tracker.sources.fitbit_export.importer import import_export

    person = Person(id=cleanup, timezone="Europe/Berlin")
    config = TrackerConfig(people=[person])
    # GIVEN the demo person's export for 8 local days
    takeout = write_export(tmp_path, TODAY, FIRST, LAST)
    # WHEN it is imported
    summary = import_export(takeout, dsn=settings.warehouse_dsn(), person_id=person.id, config=config)
    # THEN every file kind was recognised, nothing was quarantined, heart rate was detected as UTC-style
    assert not summary.unrecognised and not summary.quarantined
    assert set(summary.files) >= {"heart_rate", "resting_heart_rate", "heart_rate_zones", "sleep", "steps",
                                  "exercise", "hrv_daily", "spo2_daily", "respiratory_rate_daily"}
    assert {reading for reading, _ in summary.hr_readings} == {"utc"} and summary.activity_reading == "utc"
    # AND each local day has one sample per minute: 24 h, and 25 h on the DST day
    per_day = dict(warehouse.execute(
        "select (observed_at at time zone 'Europe/Berlin')::date, count(*) from raw.fitbit__heart_rate"
        " where person_id = %s group by 1", (person.id,)).fetchall())
    assert per_day == {d: (1500 if d == date(2026, 10, 25) else 1440) for d in
                       (date.fromordinal(n) for n in range(FIRST.toordinal(), LAST.toordinal() + 1))}
    sleeps = warehouse.execute("select count(*) from raw.fitbit__sleep_sessions where person_id = %s",
                               (person.id,)).fetchone()[0]
    runs = warehouse.execute("select count(*) from raw.fitbit__exercises where person_id = %s"
                             " and exercise_type = 'RUNNING'", (person.id,)).fetchone()[0]
    assert sleeps >= 8 and runs >= 2
    # WHEN it is imported again THEN nothing changes
    again = import_export(takeout, dsn=settings.warehouse_dsn(), person_id=person.id, config=config)
    assert again.hr_unchanged_files == len(per_day)
    assert all(t.inserted == t.updated == t.deleted == 0 for t in again.tables.values()), again.tables
