"""Fault suite — dbt health models: DST nights counted on the wall clock, out-of-range device figures,
heart-rate loads committing out of order and samples deleted from raw (silver/gold must follow raw)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).parents[1] / "fixtures" / "fitbit_export"


def _dst_sleep():
    spec = importlib.util.spec_from_file_location("fitbit_dst_sleep", FIXTURES / "dst_sleep.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture()
def dst_sleep(warehouse):
    module = _dst_sleep()
    module.cleanup(warehouse)
    yield module
    module.cleanup(warehouse)


def _import(warehouse, person: str, zone: str, takeout: Path):
    from tracker import settings
    from tracker.config import Person, TrackerConfig
    from tracker.sources.fitbit_export.importer import import_export
    from tracker.warehouse.people import sync_people

    config = TrackerConfig(people=[Person(id=person, timezone=zone)])
    sync_people(warehouse, config, "fault-health")
    return import_export(takeout, dsn=settings.warehouse_dsn(), person_id=person, config=config)


@pytest.mark.fault("DST nights counted on the wall clock (export)",
                   "sleep gold builds with its range tests; minutes are elapsed time, efficiency ≤ 100")
def test_wall_clock_dst_nights_keep_sleep_gold_in_range(warehouse, dst_sleep, tmp_path, fault):
    from tracker.stack.local import dbt

    _import(warehouse, dst_sleep.PERSON, dst_sleep.ZONE, dst_sleep.write_export(tmp_path))
    nights = warehouse.execute("select count(*) from raw.fitbit__sleep_sessions where person_id = %s",
                               (dst_sleep.PERSON,)).fetchone()[0]
    result = dbt("build", "--select", "+fct_sleep_daily", check=False)
    rows = warehouse.execute(
        "select wake_date::text, in_bed_minutes::float8, asleep_minutes::float8, awake_minutes::float8,"
        " efficiency_pct::float8 from gold.fct_sleep_daily where person_id = %s", (dst_sleep.PERSON,)).fetchall()
    good = [r for r in rows if r[1] == dst_sleep.EXPECTED[r[0]]["in_bed"]
            and r[2] == dst_sleep.EXPECTED[r[0]]["asleep"] and 0 <= r[3] and 0 <= r[4] <= 100]
    fault.record(f"dbt build rc={result.returncode}; " + "; ".join(
        f"{d}: in bed {b:g}, asleep {a:g}, awake {w:g}, efficiency {e:g}" for d, b, a, w, e in sorted(rows)),
        before=nights, after=len(good), lost=nights - len(good))
    assert result.returncode == 0, result.stdout[-4000:]
    assert len(good) == nights == 2


@pytest.mark.fault("sleep session longer than 24 h in an export",
                   "quarantined with the reason; the other nights load and sleep gold still builds")
def test_overlong_sleep_session_is_quarantined_not_fatal(warehouse, dst_sleep, tmp_path, fault):
    from datetime import datetime

    from tracker.stack.local import dbt

    takeout = dst_sleep.write_export(tmp_path)
    chunk = takeout / "Fitbit" / "Global Export Data" / "sleep-2026-03-01.json"
    records = json.loads(chunk.read_text())
    day_long = [("light", 13 * 60), ("deep", 13 * 60)]   # 26 hours
    records.append(dst_sleep.wall_clock_record(70000000009, datetime(2026, 5, 1, 22, 0), day_long))
    chunk.write_text(json.dumps(records))
    _import(warehouse, dst_sleep.PERSON, dst_sleep.ZONE, takeout)
    loaded = warehouse.execute("select count(*) from raw.fitbit__sleep_sessions where person_id = %s",
                               (dst_sleep.PERSON,)).fetchone()[0]
    reasons = [r[0] for r in warehouse.execute(
        "select reason from raw.quarantine where person_id = %s and entity like 'sleep%%'",
        (dst_sleep.PERSON,)).fetchall()]
    result = dbt("build", "--select", "+fct_sleep_daily", check=False)
    gold = warehouse.execute("select count(*) from gold.fct_sleep_daily where person_id = %s",
                             (dst_sleep.PERSON,)).fetchone()[0]
    fault.record(f"quarantined: {reasons}; dbt build rc={result.returncode}; gold nights {gold}",
                 before=2, after=gold, lost=2 - gold)
    assert reasons == ["session longer than 24 hours"] and loaded == 2
    assert result.returncode == 0 and gold == 2, result.stdout[-4000:]
