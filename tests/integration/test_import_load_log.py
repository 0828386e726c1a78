"""File imports write the load log too (raw.tracker__load_log → gold.fct_pipeline_loads_daily): each load of an
import — Netflix, Spotify, YouTube, every table (and heart-rate file) of the Fitbit export — logs one row in the
transaction that wrote its rows, dated by the span of the rows it offered. An import that fails logs nothing."""

from __future__ import annotations

import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).parents[1] / "fixtures"
NETFLIX_CSV = (FIXTURES / "netflix" / "ViewingActivity.csv").resolve()
SPOTIFY_DIR = (FIXTURES / "spotify" / "Spotify Extended Streaming History").resolve()
EXPORT = FIXTURES / "fitbit_export" / "Takeout"


@pytest.fixture()
def person_id(warehouse):
    from tracker.sources.catalogue import raw_tables

    made = f"t_implog_{uuid.uuid4().hex[:8]}"
    yield made
    for table in [t.qualified for t in raw_tables()] + ["raw.quarantine", "raw.tracker__load_log",
                                                        "raw.fitbit__heart_rate_files"]:
        warehouse.execute(f"delete from {table} where person_id = %s", (made,))  # noqa: S608


def logged(warehouse, person_id: str):
    return warehouse.execute(
        "select run_id, source, entity, scope, window_start, window_end, rows, inserted, updated, deleted,"
        " quarantined, started_at, finished_at from raw.tracker__load_log where person_id = %s"
        " order by started_at", (person_id,)).fetchall()


def test_a_consumption_import_logs_its_load_and_a_failed_one_logs_nothing(warehouse, person_id, tmp_path):
    from tracker.config import Person
    from tracker.imports.consumption import import_netflix, import_spotify
    from tracker.sources.export_files import FormatError

    person = Person(id=person_id, timezone="Europe/Berlin", accounts={"netflix_profile": "Ann"})
    # WHEN a Netflix export is imported (7 of Ann's sessions, 3 bad rows quarantined)
    before = datetime.now(UTC)
    summary = import_netflix(warehouse, NETFLIX_CSV, person)
    # THEN one row logs it: the import's run id, its figures, dated by the earliest and latest session loaded
    [row] = logged(warehouse, person_id)
    first, last = warehouse.execute("select min(started_at), max(started_at) from raw.netflix__viewing_activity"
                                    " where person_id = %s", (person_id,)).fetchone()
    assert row[:11] == (summary.run_id, "netflix", "viewing_activity", "", first, last + timedelta(microseconds=1),
                        7, 7, 0, 0, 3)
    assert before <= row[11] <= row[12] <= datetime.now(UTC)
    # WHEN it is imported again THEN a second row says nothing new was loaded
    again = import_netflix(warehouse, NETFLIX_CSV, person)
    assert [r[:11] for r in logged(warehouse, person_id)][1] == (
        again.run_id, "netflix", "viewing_activity", "", first, last + timedelta(microseconds=1), 7, 0, 0, 0, 3)
    # WHEN a Spotify import fails on its second file THEN neither rows nor a log row were written
    shutil.copy(SPOTIFY_DIR / "Streaming_History_Audio_2024_1.json", tmp_path / "Streaming_History_Audio_2024_0.json")
    (tmp_path / "Streaming_History_Audio_2024_1.json").write_text('{"not": "an array"}')
    with pytest.raises(FormatError):
        import_spotify(warehouse, tmp_path, person)
    assert [r[1] for r in logged(warehouse, person_id)] == ["netflix", "netflix"]
    # AND a good Spotify import logs its own row
    import_spotify(warehouse, SPOTIFY_DIR, person)
    spotify = [r for r in logged(warehouse, person_id) if r[1] == "spotify"]
    n = warehouse.execute("select count(*) from raw.spotify__streams where person_id = %s", (person_id,)).fetchone()[0]
    assert [(r[2], r[7]) for r in spotify] == [("streams", n)] and n > 0


def test_a_fitbit_export_import_logs_every_table_and_every_heart_rate_file(warehouse, person_id):
    from tracker.config import TrackerConfig
    from tracker.settings import warehouse_dsn
    from tracker.sources.fitbit_export import import_export

    config = TrackerConfig.model_validate({"people": [{"id": person_id, "timezone": "Europe/Berlin"}]})
    # WHEN the fixture export is imported
    summary = import_export(EXPORT, dsn=warehouse_dsn(), config=config)
    rows = logged(warehouse, person_id)
    # THEN every row is this import's, and per table the rows logged as inserted are the rows the table holds
    assert {r[0] for r in rows} == {summary.run_id} and {r[1] for r in rows} == {"fitbit_export"}
    inserted: dict[str, int] = {}
    for r in rows:
        inserted[r[2]] = inserted.get(r[2], 0) + r[7]
    held = {entity: warehouse.execute(f"select count(*) from raw.fitbit__{entity} where person_id = %s",  # noqa: S608
                                      (person_id,)).fetchone()[0] for entity in inserted}
    assert inserted == held, (inserted, held)
    assert {e for e, n in held.items() if n} >= {"heart_rate", "resting_heart_rate", "sleep_sessions",
                                                 "sleep_stages", "steps_minute"}
    # AND each heart-rate file is its own row (scope: the file), dated by its first and last sample
    files = warehouse.execute("select source_file, first_at, last_at, sample_rows from raw.fitbit__heart_rate_files"
                              " where person_id = %s", (person_id,)).fetchall()
    by_file = {r[3]: (r[4], r[5], r[6]) for r in rows if r[2] == "heart_rate"}
    assert by_file == {name: (first, last + timedelta(microseconds=1), n) for name, first, last, n in files}
    # AND the quarantined figures add up to the import's quarantine
    assert sum(r[10] for r in rows) == sum(summary.quarantined.values())
