"""Fitbit export import against the session's real PostgreSQL: Python API and CLI, idempotency, zip vs
folder, overlapping exports, quarantine. Each test imports for a person id of its own and deletes that
person's rows afterwards, so tests never see each other's data."""

from __future__ import annotations

import importlib.util
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from tracker import settings
from tracker.config import Person, TrackerConfig
from tracker.sources.fitbit_export import import_export

pytestmark = pytest.mark.integration

FIXTURE = Path(__file__).parents[1] / "fixtures" / "fitbit_export"
EXPORT = FIXTURE / "Takeout"
_spec = importlib.util.spec_from_file_location("fitbit_make_fixture_it", FIXTURE / "make_fixture.py")
make = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make)

TABLES = ["raw.fitbit__heart_rate", "raw.fitbit__heart_rate_files", "raw.fitbit__resting_heart_rate",
          "raw.fitbit__heart_rate_zones_daily", "raw.fitbit__sleep_sessions", "raw.fitbit__sleep_stages",
          "raw.fitbit__hrv_daily", "raw.fitbit__spo2_daily", "raw.fitbit__spo2_minute", "raw.fitbit__sleep_scores",
          "raw.fitbit__steps_minute", "raw.fitbit__exercises", "raw.fitbit__respiratory_rate_daily"]
METADATA = {"_run_id", "_loaded_at"}
QUARANTINE_BUSINESS = ["person_id", "source", "entity", "window_start", "window_end", "locator", "record_at",
                       "reason", "raw_text"]
EXPECTED_ROWS = {"raw.fitbit__heart_rate": 1440 + 1380 + 1501 + 721, "raw.fitbit__heart_rate_files": 4,
                 "raw.fitbit__resting_heart_rate": 2, "raw.fitbit__heart_rate_zones_daily": 2,
                 "raw.fitbit__sleep_sessions": 3, "raw.fitbit__sleep_stages": 30, "raw.fitbit__hrv_daily": 2,
                 "raw.fitbit__spo2_daily": 3, "raw.fitbit__spo2_minute": 32, "raw.fitbit__sleep_scores": 2,
                 "raw.fitbit__steps_minute": 10, "raw.fitbit__exercises": 2, "raw.fitbit__respiratory_rate_daily": 1}


def dsn() -> str:
    return settings.warehouse_dsn()


def config_for(person_id: str) -> TrackerConfig:
    return TrackerConfig(people=[Person(id=person_id, timezone="Europe/Berlin")])


def columns(conn, table: str) -> list[str]:
    schema, name = table.split(".")
    return [r[0] for r in conn.execute("select column_name from information_schema.columns where table_schema = %s"
                                       " and table_name = %s order by ordinal_position", (schema, name))]


def checksum(conn, table: str, person_id: str, exclude: set[str] = frozenset(),
             only: list[str] | None = None) -> tuple[int, str]:
    """Row count and md5 over the chosen columns of one person's rows, in a stable order."""
    cols = only or [c for c in columns(conn, table) if c not in exclude]
    row = "row(" + ", ".join(f'"{c}"' for c in cols) + ")::text"
    return conn.execute(f"select count(*), coalesce(md5(string_agg({row}, '|' order by {row})), '') "  # noqa: S608
                        f"from {table} where person_id = %s", (person_id,)).fetchone()


def snapshot(conn, person_id: str, exclude: set[str] = frozenset()) -> dict[str, tuple[int, str]]:
    snap = {t: checksum(conn, t, person_id, exclude) for t in TABLES}
    snap["raw.quarantine"] = checksum(conn, "raw.quarantine", person_id,
                                      only=[c for c in QUARANTINE_BUSINESS if c not in exclude])
    return snap


def new_person(warehouse, created: list[str]) -> str:
    person_id = f"fb_{uuid.uuid4().hex[:10]}"
    created.append(person_id)
    return person_id


@pytest.fixture()
def people(warehouse):
    """Fresh person ids; their rows are deleted after the test."""
    created: list[str] = []
    yield lambda: new_person(warehouse, created)
    for person_id in created:
        for table in [*TABLES, "raw.quarantine"]:
            warehouse.execute(f"delete from {table} where person_id = %s", (person_id,))  # noqa: S608


def run(path: Path, person_id: str, **kw):
    return import_export(path, dsn=dsn(), config=config_for(person_id), **kw)


def test_python_api_import_loads_every_table_with_dst_days_and_quarantine(warehouse, people):
    person = people()
    # WHEN the fixture export folder is imported through the Python API
    summary = run(EXPORT, person)
    # THEN every raw table holds the expected rows (never the GoogleData CSVs' copies)
    assert {t: checksum(warehouse, t, person)[0] for t in TABLES} == EXPECTED_ROWS
    assert summary.heart_rate_rows == EXPECTED_ROWS["raw.fitbit__heart_rate"]
    # AND the DST days hold 23 h and 25 h of distinct instants, read UTC-style and local-style
    per_file = {r[0]: r[1:] for r in warehouse.execute(
        "select h.source_file, count(*), count(distinct observed_at), min(observed_at), max(observed_at),"
        " f.reading, f.reading_basis from raw.fitbit__heart_rate h join raw.fitbit__heart_rate_files f"
        " using (person_id, source, source_file) where person_id = %s group by 1, f.reading, f.reading_basis",
        (person,))}
    assert per_file["heart_rate-2026-03-29.json"] == (
        1380, 1380, datetime(2026, 3, 28, 23, tzinfo=UTC), datetime(2026, 3, 29, 21, 59, tzinfo=UTC), "utc", "span")
    assert per_file["heart_rate-2026-10-25.json"] == (
        1501, 1501, datetime(2026, 10, 24, 22, tzinfo=UTC), datetime(2026, 10, 25, 22, 59, tzinfo=UTC), "local",
        "span")
    assert per_file["heart_rate-2026-10-26.json"][4:] == ("local", "google_csv")
    # AND sleep is de-duplicated by logId across the two chunk files
    assert warehouse.execute("select array_agg(log_id order by log_id) from raw.fitbit__sleep_sessions"
                             " where person_id = %s", (person,)).fetchone()[0] == \
        [make.SLEEP_A, make.SLEEP_B, make.SLEEP_C]
    # AND every bad record is in the quarantine with its file, position and reason
    quarantined = set(warehouse.execute("select entity, locator, reason from raw.quarantine where person_id = %s",
                                        (person,)).fetchall())
    assert quarantined == {
        ("heart_rate", "heart_rate-2026-10-25.json[20]", "value.bpm is not a number: 'n/a'"),
        ("sleep", "sleep-2026-09-28.json[1]", "startTime is missing or not a string: None"),
        ("hrv_daily", "Daily Heart Rate Variability Summary - 2026-03-(28).csv:5", "rmssd is not a number: 'abc'"),
        ("spo2_minute", "Minute SpO2 - 2026-03-29.csv:15", "value=101.5 outside (0, 100] %"),
        ("sleep_score", "sleep_score.csv:4", "sleep_log_entry_id is not a number: 'not-a-number'"),
        ("steps", "steps-2026-03-28.json[10]", "value=4000 outside [0, 400] steps per minute"),
        ("exercise", "exercise-0.json[2]", "startTime is missing"),
        ("respiratory_rate_daily", "Daily Respiratory Rate Summary - 2026-03-28.csv:4",
         "daily_respiratory_rate=99.0 outside [4, 60]"),
    }
    # AND steps and workouts are read like the heart-rate files (two UTC-style, two local-style: a tie → UTC)
    assert summary.activity_reading == "utc"
    assert warehouse.execute("select min(observed_at), sum(steps) from raw.fitbit__steps_minute where person_id = %s",
                             (person,)).fetchone() == (datetime(2026, 3, 28, 8, tzinfo=UTC), 450)
    assert warehouse.execute(
        "select exercise_type, start_at, end_at, distance_m, record->'someNewField' from raw.fitbit__exercises"
        " where person_id = %s order by start_at", (person,)).fetchall() == [
        ("RUNNING", datetime(2026, 3, 28, 7, tzinfo=UTC), datetime(2026, 3, 28, 7, 30, tzinfo=UTC), 5000.0,
         {"kept": True}),
        ("WALKING", datetime(2026, 10, 25, 15, tzinfo=UTC), datetime(2026, 10, 25, 15, 40, tzinfo=UTC), 2414.0, None)]
    # AND the summary tells what was skipped and what was not recognised
    assert summary.skipped[("raw.fitbit__spo2_minute", "invalid-reading sentinel 50.0")] == 7
    assert summary.skipped[("raw.fitbit__resting_heart_rate", "no estimate (value 0 or null)")] == 2
    assert summary.skipped[("raw.fitbit__sleep_sessions", "same logId in an earlier chunk file (first copy kept)")] \
        == 1
    assert summary.unrecognised_files == ["Fitbit/Stress Score/Stress Score.csv"]
    assert summary.ignored_google_data == 3


@pytest.mark.fault("re-import of an identical Fitbit export", "every table identical, load metadata included")
def test_reimport_changes_nothing_and_forced_reload_changes_only_load_metadata(warehouse, people, fault):
    person = people()
    run(EXPORT, person)
    before = snapshot(warehouse, person)
    # WHEN the same export is imported again
    again = run(EXPORT, person)
    # THEN every table is identical, load metadata included (heart-rate files are unchanged → skipped;
    # the quarantine is compared on its business columns: replacing its rows renews id/_run_id/_loaded_at)
    now = snapshot(warehouse, person)
    rows_before, rows_after = sum(n for n, _ in before.values()), sum(n for n, _ in now.values())
    fault.record("identical" if now == before else "CHANGED", before=rows_before, after=rows_after,
                 lost=max(0, rows_before - rows_after))
    assert now == before
    assert again.hr_unchanged_files == 4 and again.heart_rate_rows == 0
    # WHEN heart-rate files are forced to reload (delete + COPY per file, as replace_window does)
    hr_tables = ("raw.fitbit__heart_rate", "raw.fitbit__heart_rate_files")
    business = {t: checksum(warehouse, t, person, METADATA) for t in hr_tables}
    forced = run(EXPORT, person, force=True)
    # THEN the business columns are identical; only the heart-rate load metadata is renewed
    assert forced.heart_rate_rows == EXPECTED_ROWS["raw.fitbit__heart_rate"]
    after = snapshot(warehouse, person)
    for table in TABLES:
        if table in hr_tables:
            assert after[table] != before[table], table
            assert checksum(warehouse, table, person, METADATA) == business[table], table
        else:
            assert after[table] == before[table], table
    assert after["raw.quarantine"] == before["raw.quarantine"]


def test_zip_and_folder_give_the_same_tables(warehouse, people, tmp_path):
    from_folder, from_zip = people(), people()
    archive = make.make_zip(EXPORT, tmp_path / "takeout-20261123.zip")
    run(EXPORT, from_folder)
    run(archive, from_zip)
    ignore = METADATA | {"person_id"}
    assert snapshot(warehouse, from_folder, ignore) == snapshot(warehouse, from_zip, ignore)
    # and the zip after the folder, same person: same content, same CRC → nothing changes at all
    before = snapshot(warehouse, from_folder)
    summary = run(archive, from_folder)
    assert summary.hr_unchanged_files == 4
    assert snapshot(warehouse, from_folder) == before


@pytest.mark.fault("re-import of a changed (older, overlapping) Fitbit export",
                   "the changed day replaced, the unchanged skipped, nothing duplicated")
def test_overlapping_older_export_replaces_without_duplicates(warehouse, people, tmp_path, fault):
    person = people()
    run(EXPORT, person)
    # GIVEN an older account export (MyFitbitData layout) holding two of the same days — one of them with
    # a different content (fewer samples) — and one sleep chunk again
    older = tmp_path / "MyFitbitData" / "Jane"
    (older / "Physical Activity").mkdir(parents=True)
    (older / "Sleep").mkdir()
    source = EXPORT / "Fitbit" / "Global Export Data"
    shutil.copy(source / "heart_rate-2026-03-29.json", older / "Physical Activity")
    truth = make.local_day_instants(datetime(2026, 3, 28).date())[:600]
    (older / "Physical Activity" / "heart_rate-2026-03-28.json").write_bytes(
        make.export_json(make.heart_rate_records(truth, "utc")))
    shutil.copy(source / "sleep-2026-03-29.json", older / "Sleep")
    # WHEN it is imported over the Takeout import
    summary = run(tmp_path / "MyFitbitData", person)
    # THEN the changed day is replaced, the unchanged one skipped, and nothing is duplicated
    assert summary.hr_unchanged_files == 1 and summary.heart_rate_rows == 600
    total, distinct = warehouse.execute(
        "select count(*), count(distinct observed_at) from raw.fitbit__heart_rate where person_id = %s",
        (person,)).fetchone()
    expected = EXPECTED_ROWS["raw.fitbit__heart_rate"] - 1440 + 600
    fault.record(f"{total:,} samples, {distinct:,} distinct", before=EXPECTED_ROWS["raw.fitbit__heart_rate"],
                 after=total, lost=max(0, expected - distinct))
    assert total == distinct == expected
    assert checksum(warehouse, "raw.fitbit__sleep_sessions", person)[0] == 3
    assert checksum(warehouse, "raw.fitbit__sleep_stages", person)[0] == 30


def test_cli_imports_with_a_forced_reading_and_switching_back_replaces_rows(warehouse, people, tmp_path,
                                                                          monkeypatch):
    from tracker.cli import app
    from typer.testing import CliRunner

    person = people()
    config = tmp_path / "people.yml"
    config.write_text(yaml.safe_dump({"people": [{"id": "someone_else", "timezone": "UTC"},
                                                 {"id": person, "timezone": "Europe/Berlin"}]}))
    env = {"TRACKER_WAREHOUSE_DSN": dsn(), "TRACKER_CONFIG": str(config), "COLUMNS": "160"}
    runner = CliRunner()
    # WHEN the CLI imports with --hr-timezone utc
    result = runner.invoke(app, ["import", "fitbit-export", str(EXPORT), "--person", person, "--hr-timezone", "utc"],
                           env=env)
    # THEN it succeeds, prints the summary, and every heart-rate file was read as UTC by option
    assert result.exit_code == 0, result.output
    for text in ("raw.fitbit__heart_rate", "Quarantined", "invalid-reading sentinel 50.0", "Stress Score.csv"):
        assert text in result.output, text
    assert set(warehouse.execute("select reading, reading_basis from raw.fitbit__heart_rate_files"
                                 " where person_id = %s", (person,)).fetchall()) == {("utc", "option")}
    # WHEN imported again with auto: the local-style files are re-read and replace their rows
    result = runner.invoke(app, ["import", "fitbit-export", str(EXPORT), "--person", person], env=env)
    assert result.exit_code == 0, result.output
    total, distinct = warehouse.execute(
        "select count(*), count(distinct observed_at) from raw.fitbit__heart_rate where person_id = %s",
        (person,)).fetchone()
    assert total == distinct == EXPECTED_ROWS["raw.fitbit__heart_rate"]
    assert sorted(warehouse.execute("select reading, count(*) from raw.fitbit__heart_rate_files where person_id = %s"
                                    " group by 1", (person,)).fetchall()) == [("local", 2), ("utc", 2)]
    # AND an ambiguous person or a missing path is a clear error
    result = runner.invoke(app, ["import", "fitbit-export", str(EXPORT)], env=env)
    assert result.exit_code == 2 and "choose one with --person" in result.output
    result = runner.invoke(app, ["import", "fitbit-export", str(tmp_path / "missing.zip"), "--person", person],
                           env=env)
    assert result.exit_code != 0


def test_a_truncated_file_is_quarantined_whole_and_the_rest_imports(warehouse, people, tmp_path):

    person = people()
    # GIVEN the export with one heart-rate file cut off half-way (an interrupted download)
    copy = tmp_path / "Takeout"
    shutil.copytree(EXPORT, copy)
    cut = copy / "Fitbit" / "Global Export Data" / "heart_rate-2026-03-29.json"
    data = cut.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    # WHEN it is imported
    summary = run(copy, person)
    # THEN that file is one quarantine row with the reason, and every other file loaded as usual
    rows = warehouse.execute("select locator, reason from raw.quarantine where person_id = %s"
                             " and entity = 'heart_rate'", (person,)).fetchall()
    assert ("heart_rate-2026-03-29.json", "invalid JSON") in {(loc, reason[:12]) for loc, reason in rows}
    loaded = dict(warehouse.execute("select source_file, count(*) from raw.fitbit__heart_rate where person_id = %s"
                                    " group by 1", (person,)).fetchall())
    assert "heart_rate-2026-03-29.json" not in loaded and loaded["heart_rate-2026-03-28.json"] == 1440
    assert summary.tables["raw.fitbit__sleep_sessions"].rows > 0
