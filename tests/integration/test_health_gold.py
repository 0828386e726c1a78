"""Fitbit export → raw → dbt → gold resting heart rate, with people synced from the config."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

EXPORT = Path(__file__).parents[1] / "fixtures" / "fitbit_export" / "Takeout"


def test_resting_heart_rate_gold_from_an_export(warehouse):
    from tracker import settings
    from tracker.config import load_config
    from tracker.sources.fitbit_export.importer import import_export
    from tracker.stack.local import dbt
    from tracker.warehouse.people import sync_people

    config = load_config()
    # GIVEN the configured people synced and an export imported
    sync_people(warehouse, config, "test-people")
    import_export(EXPORT, dsn=settings.warehouse_dsn(), person_id=config.people[0].id, config=config)
    # WHEN the health models build (twice: the second run is incremental)
    for _ in range(2):
        result = dbt("build", "--select", "+fct_resting_heart_rate_daily", "dim_person", check=False)
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    # THEN every local date with samples has a computed resting rate near the device's own figure
    rows = warehouse.execute(
        "select local_date, device_resting_bpm, computed_resting_bpm from gold.fct_resting_heart_rate_daily "
        "where computed_resting_bpm is not null order by local_date").fetchall()
    assert rows, "no computed resting heart rate"
    assert all(30 <= computed <= 120 for _, _, computed in rows)
    minutes = warehouse.execute("select count(*), count(distinct (person_id, minute_at)) "
                                "from silver.int_heart_rate__minutely").fetchone()
    assert minutes[0] == minutes[1] > 0
    assert warehouse.execute("select timezone from gold.dim_person where person_id = %s",
                             (config.people[0].id,)).fetchone() == (config.people[0].timezone,)
