"""Netflix / Spotify / YouTube file imports into the session's real PostgreSQL (no mocks).

Each test imports for a person id of its own and deletes that person's rows afterwards, so tests never see
each other's data. Checksums cover every column of the person's rows, load metadata included.
"""

from __future__ import annotations

import shutil
import uuid
from collections import Counter
from pathlib import Path

import psycopg
import pytest
from tracker.config import Person
from tracker.imports.consumption import NETFLIX, SPOTIFY, YOUTUBE, import_netflix, import_spotify, import_youtube
from tracker.sources.export_files import FormatError

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).parents[1] / "fixtures"
NETFLIX_CSV = (FIXTURES / "netflix" / "ViewingActivity.csv").resolve()
SPOTIFY_DIR = (FIXTURES / "spotify" / "Spotify Extended Streaming History").resolve()
SPOTIFY_OVERLAP = (FIXTURES / "spotify" / "overlap" / "Streaming_History_Audio_2024-2025_0.json").resolve()
YOUTUBE_JSON = (FIXTURES / "youtube" / "Takeout" / "YouTube and YouTube Music" / "history" /
                "watch-history.json").resolve()
TABLES = (NETFLIX, SPOTIFY, YOUTUBE)


@pytest.fixture()
def person(warehouse) -> Person:
    """A person of this test's own (Berlin time), removed from every table afterwards."""
    made = Person(id=f"t_media_{uuid.uuid4().hex[:8]}", timezone="Europe/Berlin", accounts={})
    yield made
    for table in (*(t.qualified for t in TABLES), "raw.quarantine", "raw.tracker__people"):
        warehouse.execute(f"delete from {table} where person_id = %s", (made.id,))


def checksum(conn: psycopg.Connection, table: str, person_id: str) -> tuple[int, str]:
    return conn.execute(f"select count(*), coalesce(md5(string_agg(t::text, '|' order by t::text)), '') "
                        f"from {table} t where person_id = %s", (person_id,)).fetchone()


def snapshot(conn: psycopg.Connection, person_id: str) -> dict[str, tuple[int, str]]:
    return {t: checksum(conn, t, person_id) for t in (*(x.qualified for x in TABLES), "raw.quarantine")}


def quarantined(conn: psycopg.Connection, person_id: str, source: str) -> list[tuple[str, str]]:
    return conn.execute("select locator, reason from raw.quarantine where person_id = %s and source = %s "
                        "order by record_at nulls first, locator", (person_id, source)).fetchall()


def test_netflix_import_quarantines_bad_rows_and_reimports_identically(warehouse, person):
    person.accounts["netflix_profile"] = "Ann"
    # WHEN the export is imported for the profile Ann
    summary = import_netflix(warehouse, NETFLIX_CSV, person)
    # THEN Ann's 7 sessions are inserted, Kids' 2 skipped (with why), the 3 bad rows quarantined
    assert (summary.read, summary.inserted, summary.updated, summary.unchanged) == (12, 7, 0, 0)
    assert summary.skipped == Counter({"other profile 'Kids'": 2})
    assert summary.quarantined == Counter({"bad start time": 1, "bad duration": 1, "wrong column count": 1})
    assert sorted(quarantined(warehouse, person.id, "netflix")) == [
        (f"{NETFLIX_CSV.name}:10", "bad duration: 'ten minutes'"),
        (f"{NETFLIX_CSV.name}:11", "wrong column count: expected 10 columns, got 4"),
        (f"{NETFLIX_CSV.name}:9", "bad start time: '2024-02-30 25:00:00'")]
    # AND the rows are typed, UTC, with titles intact and the original row kept
    rows = {r[0]: r[1:] for r in warehouse.execute(
        "select title, started_at, duration_seconds, show_title, season_number, is_supplemental, "
        "record->>'Title', person_timezone, source_file from raw.netflix__viewing_activity "
        "where person_id = %s", (person.id,)).fetchall()}
    haus = rows["Haus des Geldes: Teil 1: Folge 1"]
    assert haus[0].isoformat() == "2024-03-02T21:14:05+00:00"
    assert haus[1:] == (2530, "Haus des Geldes", 1, False, "Haus des Geldes: Teil 1: Folge 1", "Europe/Berlin",
                        NETFLIX_CSV.name)
    assert rows["千と千尋の神隠し"][5] == "千と千尋の神隠し"
    assert rows["Haus des Geldes: Teil 1 (Trailer)"][4] is True
    before = snapshot(warehouse, person.id)
    # WHEN the same file is imported again
    again = import_netflix(warehouse, NETFLIX_CSV, person)
    # THEN nothing changed: not the rows, not their load metadata, not the quarantine
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 7)
    assert not again.quarantine_rewritten
    assert snapshot(warehouse, person.id) == before


def test_netflix_without_profile_imports_every_profile_and_says_so(warehouse, person):
    summary = import_netflix(warehouse, NETFLIX_CSV.parent, person)  # the export folder works too
    assert summary.inserted == 9 and not summary.skipped
    assert summary.notes == [f"no netflix_profile configured for {person.id!r}: imported every profile "
                             "(Ann, Kids)"]
    assert warehouse.execute("select count(distinct profile_name) from raw.netflix__viewing_activity "
                             "where person_id = %s", (person.id,)).fetchone() == (2,)


def test_spotify_folder_import_reimport_and_overlapping_export(warehouse, person):
    # WHEN the extended-history folder is imported
    summary = import_spotify(warehouse, SPOTIFY_DIR, person)
    # THEN both audio files' good plays land, the bad ones are quarantined, the video file is left out
    assert (summary.read, summary.inserted) == (10, 7)
    assert summary.quarantined == Counter({"bad ts": 1, "bad ms_played": 1, "malformed JSON": 1})
    audio = SPOTIFY_DIR / "Streaming_History_Audio_2023-2024_0.json"
    assert sorted(quarantined(warehouse, person.id, "spotify")) == [
        (f"{audio.name}:102#4", "bad ts: '2024-01-05T25:61:00Z'"),
        (f"{audio.name}:127#5", "bad ms_played: 'twelve'"),
        (f"{audio.name}:152#6", "malformed JSON: Invalid control character at (column 25)")]
    assert summary.notes == ["1 Streaming_History_Video_*.json file(s) left out (video plays)"]
    kinds = dict(warehouse.execute("select content_type, count(*) from raw.spotify__streams where person_id = %s "
                                   "group by 1", (person.id,)).fetchall())
    assert kinds == {"track": 5, "episode": 1, "audiobook": 1}
    row = warehouse.execute("select started_at, ended_at, skipped, record->>'ip_addr' from raw.spotify__streams "
                            "where person_id = %s and ended_at = '2024-01-05T08:07:10Z'", (person.id,)).fetchone()
    assert [v.isoformat() for v in row[:2]] == ["2024-01-05T08:06:57.500000+00:00", "2024-01-05T08:07:10+00:00"]
    assert row[2:] == (None, "192.0.2.10")
    before = snapshot(warehouse, person.id)
    # WHEN it is imported again
    again = import_spotify(warehouse, SPOTIFY_DIR, person)
    # THEN every table is identical
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 7)
    assert snapshot(warehouse, person.id) == before
    # WHEN a later export overlapping the second file is imported (one play again, one changed, one new)
    overlap = import_spotify(warehouse, SPOTIFY_OVERLAP, person)
    # THEN no play is duplicated: the new one is added, the two overlapping ones are updated in place (the
    # changed one's ms_played, and both rows' source_file, which names the file a row last came from)
    assert (overlap.inserted, overlap.updated, overlap.unchanged) == (1, 2, 0)
    assert warehouse.execute("select count(*), count(distinct (ended_at, item_key)) from raw.spotify__streams "
                             "where person_id = %s", (person.id,)).fetchone() == (8, 8)
    assert warehouse.execute("select ms_played, source_file from raw.spotify__streams where person_id = %s "
                             "and ended_at = '2024-02-01T07:04:00Z'", (person.id,)).fetchone() == (
        201_000, SPOTIFY_OVERLAP.name)


def test_spotify_key_repeated_across_files_reimports_identically(warehouse, person, tmp_path):
    # GIVEN the same play (same end and track) in two files of a folder, with different ms_played
    play = ('{"ts": "2024-05-01T10:00:00Z", "ms_played": %d, "spotify_track_uri": "spotify:track:x", '
            '"master_metadata_track_name": "X"}')
    (tmp_path / "Streaming_History_Audio_2024_0.json").write_text(f"[{play % 1000}]")
    (tmp_path / "Streaming_History_Audio_2024_1.json").write_text(f"[{play % 2000}]")
    # WHEN the folder is imported twice
    first = import_spotify(warehouse, tmp_path, person)
    before = snapshot(warehouse, person.id)
    again = import_spotify(warehouse, tmp_path, person)
    # THEN the later file's version is kept, once, and the rerun touches nothing
    assert (first.inserted, first.unchanged, again.updated) == (1, 1, 0)
    assert snapshot(warehouse, person.id) == before
    assert warehouse.execute("select ms_played from raw.spotify__streams where person_id = %s",
                             (person.id,)).fetchall() == [(2000,)]


def test_spotify_bad_file_in_folder_loads_nothing(warehouse, person, tmp_path):
    # GIVEN a folder whose second file is not a JSON array
    shutil.copy(SPOTIFY_DIR / "Streaming_History_Audio_2024_1.json", tmp_path / "Streaming_History_Audio_2024_0.json")
    (tmp_path / "Streaming_History_Audio_2024_1.json").write_text('{"not": "an array"}')
    # WHEN it is imported THEN a clear error names the file, and the good file was not loaded either
    with pytest.raises(FormatError, match=r"Streaming_History_Audio_2024_1.json: not a JSON array"):
        import_spotify(warehouse, tmp_path, person)
    assert checksum(warehouse, "raw.spotify__streams", person.id)[0] == 0


def test_quarantine_follows_the_file_when_it_is_fixed(warehouse, person, tmp_path):
    # GIVEN a watch history with one bad entry, imported
    path = tmp_path / "watch-history.json"
    shutil.copy(YOUTUBE_JSON, path)
    import_youtube(warehouse, path, person)
    assert quarantined(warehouse, person.id, "youtube") == [(f"{path.name}:50#5", "bad time: 'yesterday'")]
    # WHEN the entry is fixed and the file re-imported
    path.write_text(path.read_text().replace('"yesterday"', '"2024-02-28T09:00:00Z"'))
    summary = import_youtube(warehouse, path, person)
    # THEN the entry is loaded and its quarantine row is gone
    assert (summary.inserted, summary.unchanged, summary.quarantine_rewritten) == (1, 6, True)
    assert quarantined(warehouse, person.id, "youtube") == []


def test_youtube_import_and_reimport(warehouse, person):
    summary = import_youtube(warehouse, YOUTUBE_JSON.parents[2], person)  # the Takeout folder works too
    assert (summary.read, summary.inserted) == (7, 6)
    assert summary.quarantined == Counter({"bad time": 1})
    rows = warehouse.execute(
        "select service, video_id, video_title, channel_name, is_ad, is_removed, record->>'title' "
        "from raw.youtube__watch_history where person_id = %s order by watched_at desc", (person.id,)).fetchall()
    assert rows[0] == ("youtube", "q0zuLmEx4bw", "How to Bake Sourdough Bread at Home", "Joshua Weissman", False,
                       False, "Watched How to Bake Sourdough Bread at Home")
    assert rows[1][:2] == ("youtube_music", "Fu2bgwcv43o") and rows[2][4] is True
    assert rows[3] == ("youtube", None, None, None, False, True, "Watched a video that has been removed")
    before = snapshot(warehouse, person.id)
    import_youtube(warehouse, YOUTUBE_JSON, person)
    assert snapshot(warehouse, person.id) == before


@pytest.fixture()
def cli_env(pg, person, tmp_path) -> dict[str, str]:
    from tracker import settings

    config = tmp_path / "people.yml"
    config.write_text(f"people:\n  - id: {person.id}\n    timezone: Europe/Berlin\n"
                      "    accounts:\n      netflix_profile: Kids\n")
    return {"TRACKER_CONFIG": str(config), "TRACKER_WAREHOUSE_DSN": settings.warehouse_dsn()}


@pytest.mark.parametrize(("source", "path", "imported"), [
    ("netflix", NETFLIX_CSV, 2), ("spotify", SPOTIFY_DIR, 7), ("youtube", YOUTUBE_JSON, 6)])
def test_cli_imports_and_prints_the_summary(warehouse, person, cli_env, source, path, imported):
    from tracker.cli import app
    from typer.testing import CliRunner

    # WHEN `tracker import <source> PATH` runs (the only configured person is the default)
    result = CliRunner().invoke(app, ["import", source, str(path)], env=cli_env)
    # THEN it succeeds, prints the summary table, and the rows are in the warehouse
    assert result.exit_code == 0, result.output
    assert f"{source} import for {person.id}" in result.output and "quarantined" in result.output
    table = {"netflix": NETFLIX, "spotify": SPOTIFY, "youtube": YOUTUBE}[source].qualified
    assert checksum(warehouse, table, person.id)[0] == imported
    # AND the configured person (with the time zone the gold models use) is in raw.tracker__people
    assert warehouse.execute("select timezone from raw.tracker__people where person_id = %s",
                             (person.id,)).fetchone() == ("Europe/Berlin",)
    if source == "netflix":
        assert "other profile 'Ann'" in result.output


def test_cli_refuses_the_wrong_file_clearly(person, cli_env):
    from tracker.cli import app
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["import", "netflix", str(FIXTURES / "netflix" / "NetflixViewingHistory.csv"),
                                      "--person", person.id], env=cli_env)
    assert result.exit_code == 2
    assert "is not Netflix ViewingActivity.csv" in " ".join(result.output.split())


def test_staging_models_build_on_imported_data(warehouse, person):
    from tracker.stack.local import dbt

    import_netflix(warehouse, NETFLIX_CSV, person)
    import_spotify(warehouse, SPOTIFY_DIR, person)
    import_youtube(warehouse, YOUTUBE_JSON, person)
    # WHEN the three staging models and everything up to the daily fact are built, with their tests (the
    # intermediate models also read Last.fm, Trakt and the people, so their parents are built too)
    result = dbt("build", "--select", "+fct_consumption_daily", check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    # THEN local times and dates come from the person's zone (Berlin is UTC+1 in winter)
    assert warehouse.execute(
        "select started_at_local::text, local_date::text from silver.stg_netflix__viewing_activity "
        "where person_id = %s and started_at = '2024-03-02T21:14:05Z'", (person.id,)).fetchone() == (
        "2024-03-02 22:14:05", "2024-03-02")
    assert warehouse.execute(
        "select seconds_played, started_at_local::text from silver.stg_spotify__streams where person_id = %s "
        "and ended_at = '2024-01-05T08:03:12Z'", (person.id,)).fetchone() == (183, "2024-01-05 09:00:09")
    # AND the daily consumption fact has one row per local date with the imported minutes
    music, netflix, n_days, dupes = warehouse.execute(
        "select sum(music_minutes), sum(netflix_minutes), count(*), count(*) - count(distinct local_date) "
        "from gold.fct_consumption_daily where person_id = %s", (person.id,)).fetchone()
    assert music > 0 and netflix > 0 and n_days > 0 and dupes == 0


def test_quarantine_rows_keyed_by_an_absolute_path_are_superseded(warehouse, person, tmp_path):
    # GIVEN a watch history imported, and its quarantine row as an older version keyed it (absolute path)
    path = tmp_path / "watch-history.json"
    shutil.copy(YOUTUBE_JSON, path)
    import_youtube(warehouse, path, person)
    warehouse.execute("update raw.quarantine set locator = %s || ':' || split_part(locator, ':', 2) "
                      "where person_id = %s", (str(path), person.id))
    # WHEN it is imported again THEN the one row is keyed by the file's name, not kept twice
    import_youtube(warehouse, path, person)
    assert quarantined(warehouse, person.id, "youtube") == [("watch-history.json:50#5", "bad time: 'yesterday'")]
