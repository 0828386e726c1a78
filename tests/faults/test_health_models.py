"""Fault suite — dbt health models: DST nights counted on the wall clock, out-of-range device figures,
heart-rate loads committing out of order and samples deleted from raw (silver/gold must follow raw)."""

from __future__ import annotations

import importlib.util
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).parents[1] / "fixtures" / "fitbit_export"


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


# ------------------------------------------------- int_heart_rate_samples_aggregated_to_minutes change detection
HR_FAULT_PEOPLE = ("hrf_api", "hrf_export")
HR_FAULT_DAY = date(2026, 7, 14)


def _make():
    spec = importlib.util.spec_from_file_location("fitbit_make_fixture", FIXTURES / "make_fixture.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture()
def hr_fault_people(warehouse):
    from tracker.config import Person, TrackerConfig
    from tracker.warehouse.people import sync_people

    tables = ("raw.fitbit__heart_rate", "raw.fitbit__heart_rate_files", "raw.fitbit__heart_rate_changes",
              "raw.quarantine", "raw.tracker__people", "silver.int_heart_rate_samples_aggregated_to_minutes")

    def clean():
        for table in tables:
            if warehouse.execute("select to_regclass(%s)", (table,)).fetchone()[0]:
                warehouse.execute(f"delete from {table} where person_id = any(%s)",  # noqa: S608
                                  (list(HR_FAULT_PEOPLE),))

    clean()
    config = TrackerConfig(people=[Person(id=p, timezone="Europe/Berlin") for p in HR_FAULT_PEOPLE])
    sync_people(warehouse, config, "fault-hr-people")
    yield config
    clean()


def _run_minutely():
    from tracker.stack.local import dbt

    result = dbt("run", "--select", "+int_heart_rate_samples_aggregated_to_minutes", check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def _minutes(warehouse, person: str) -> int:
    return warehouse.execute("select count(*) from silver.int_heart_rate_samples_aggregated_to_minutes "
                             "where person_id = %s",
                             (person,)).fetchone()[0]


def _raw_minutes(warehouse, person: str) -> int:
    return warehouse.execute("select count(distinct date_trunc('minute', observed_at)) from raw.fitbit__heart_rate"
                             " where person_id = %s", (person,)).fetchone()[0]


def _export_day(root: Path, first: str, last: str) -> Path:
    """A Takeout with one local-style heart-rate file of HR_FAULT_DAY, one sample a minute first..last."""
    make = _make()
    folder = root / "Takeout" / "Fitbit" / "Global Export Data"
    folder.mkdir(parents=True, exist_ok=True)
    instants = make.local_day_instants(HR_FAULT_DAY, first=first, last=last)
    (folder / f"heart_rate-{HR_FAULT_DAY}.json").write_bytes(
        make.export_json(make.heart_rate_records(instants, "local")))
    return root / "Takeout"


@pytest.mark.fault("heart-rate load commits after a later-started one (API + import)",
                   "the earlier-started load's minutes reach silver on the next incremental run")
def test_late_committing_heart_rate_load_reaches_silver(warehouse, hr_fault_people, tmp_path, fault):
    import psycopg
    from tracker import settings
    from tracker.sources.fitbit_export import tables
    from tracker.sources.fitbit_export.importer import import_export
    from tracker.warehouse.loader import Window, replace_window

    _run_minutely()
    start = datetime(2026, 7, 14, 6, 0, tzinfo=UTC)
    rows = [("hrf_api", start + timedelta(minutes=i), 70, None, "google_health_api", "api") for i in range(120)]
    with psycopg.connect(settings.warehouse_dsn()) as conn_a:
        with conn_a.transaction():   # A: the API's window replace, started first, still open
            replace_window(conn_a, tables.HEART_RATE, rows, run_id="fault-api", window=Window(
                start, start + timedelta(days=1), scope={"person_id": "hrf_api", "source": "google_health_api"}))
            # B: an export import started and committed meanwhile; dbt runs while A is open
            import_export(_export_day(tmp_path, "08:00", "09:59"), dsn=settings.warehouse_dsn(),
                          person_id="hrf_export", config=hr_fault_people, hr_timezone="local")
            _run_minutely()
    _run_minutely()   # after A committed
    got = {p: _minutes(warehouse, p) for p in HR_FAULT_PEOPLE}
    want = {p: _raw_minutes(warehouse, p) for p in HR_FAULT_PEOPLE}
    fault.record(f"silver minutes {got}, raw minutes {want}", before=sum(want.values()), after=sum(got.values()),
                 lost=sum(want.values()) - sum(got.values()))
    assert got == want == {"hrf_api": 120, "hrf_export": 120}


@pytest.mark.fault("heart-rate file re-imported with fewer samples",
                   "the next incremental run drops the minutes raw no longer holds (as a full refresh would)")
def test_samples_deleted_from_raw_leave_silver(warehouse, hr_fault_people, tmp_path, fault):
    from tracker import settings
    from tracker.sources.fitbit_export.importer import import_export

    _run_minutely()
    import_export(_export_day(tmp_path / "a", "08:00", "11:59"), dsn=settings.warehouse_dsn(),
                  person_id="hrf_export", config=hr_fault_people, hr_timezone="local")
    _run_minutely()
    before = _minutes(warehouse, "hrf_export")
    # the same file again, now holding only 08:00–09:59: the importer replaces the file's rows
    import_export(_export_day(tmp_path / "b", "08:00", "09:59"), dsn=settings.warehouse_dsn(),
                  person_id="hrf_export", config=hr_fault_people, hr_timezone="local")
    _run_minutely()
    after, raw = _minutes(warehouse, "hrf_export"), _raw_minutes(warehouse, "hrf_export")
    fault.record(f"silver minutes {before} → {after}; raw minutes {raw}", before=raw, after=after,
                 lost=abs(raw - after))
    assert (before, after, raw) == (240, 120, 120)


@pytest.mark.fault("device reports a heart rate outside the tested range (260 bpm)",
                   "the range test warns, the models downstream still build and hold the sample's minute")
def test_out_of_range_device_heart_rate_does_not_stall_the_build(warehouse, hr_fault_people, fault):
    from tracker.sources.fitbit_export import tables
    from tracker.stack.local import dbt
    from tracker.warehouse.loader import Window, replace_window

    _run_minutely()
    start = datetime(2026, 7, 15, 12, 0, tzinfo=UTC)
    rows = [("hrf_api", start + timedelta(minutes=i), 260 if i == 5 else 150, None, "google_health_api", "api")
            for i in range(10)]
    replace_window(warehouse, tables.HEART_RATE, rows, run_id="fault-260", window=Window(
        start, start + timedelta(days=1), scope={"person_id": "hrf_api", "source": "google_health_api"}))
    result = dbt("build", "--select", "+int_heart_rate_samples_aggregated_to_minutes", check=False)
    got = _minutes(warehouse, "hrf_api")
    warned = "WARN 1 value_between_stg_fitbit__heart_rate_bpm" in result.stdout
    fault.record(f"dbt build rc={result.returncode}, range test warned: {warned}; silver minutes {got}",
                 before=10, after=got, lost=10 - got)
    assert result.returncode == 0 and warned and got == 10, result.stdout[-4000:]
