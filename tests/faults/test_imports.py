"""Fault suite: hostile export files for the file imports (Fitbit export, Netflix, Spotify, YouTube).

Real files, the session's PostgreSQL and the real CLI (typer's CliRunner); each case counts the good rows
before and after from the warehouse.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import uuid
import zipfile
from pathlib import Path

import pytest
from tracker import settings
from tracker.config import Person, TrackerConfig
from tracker.imports.consumption import import_netflix, import_spotify, import_youtube
from tracker.sources.fitbit_export import import_export

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).parents[1] / "fixtures"
FITBIT = FIXTURES / "fitbit_export" / "Takeout"
HR_FILE = "heart_rate-2026-03-29.json"     # 1,380 samples in the fixture
HR_DIR = Path("Fitbit") / "Global Export Data"
NETFLIX_HEADER = ("Profile Name,Start Time,Duration,Attributes,Title,Supplemental Video Type,Device Type,"
                  "Bookmark,Latest Bookmark,Country")
_spec = importlib.util.spec_from_file_location("fitbit_make_fixture_faults", FIXTURES / "fitbit_export" /
                                               "make_fixture.py")
make = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make)
TABLES = ("raw.fitbit__heart_rate", "raw.fitbit__heart_rate_files", "raw.fitbit__resting_heart_rate",
          "raw.fitbit__heart_rate_zones_daily", "raw.fitbit__sleep_sessions", "raw.fitbit__sleep_stages",
          "raw.fitbit__hrv_daily", "raw.fitbit__spo2_daily", "raw.fitbit__spo2_minute", "raw.fitbit__sleep_scores",
          "raw.fitbit__steps_minute", "raw.fitbit__exercises", "raw.fitbit__respiratory_rate_daily",
          "raw.netflix__viewing_activity", "raw.spotify__streams", "raw.youtube__watch_history", "raw.quarantine",
          "raw.tracker__people")


@pytest.fixture()
def person(warehouse) -> str:
    made = f"flt_{uuid.uuid4().hex[:10]}"
    yield made
    for table in TABLES:
        warehouse.execute(f"delete from {table} where person_id = %s", (made,))  # noqa: S608


def fitbit(path: Path, person_id: str):
    return import_export(path, dsn=settings.warehouse_dsn(),
                         config=TrackerConfig(people=[Person(id=person_id, timezone="Europe/Berlin")]))


def count(conn, table: str, person_id: str, where: str = "true", *args) -> int:
    return conn.execute(f"select count(*) from {table} where person_id = %s and {where}",  # noqa: S608
                        (person_id, *args)).fetchone()[0]


def all_rows(conn, person_id: str, tables=TABLES[:-2]) -> int:
    return sum(count(conn, t, person_id) for t in tables)


def cli(args: list[str], person_id: str, tmp_path: Path):
    """`tracker import …` through typer's CliRunner, configured for one person."""
    from tracker.cli import app
    from typer.testing import CliRunner

    config = tmp_path / "people.yml"
    config.write_text(f"people:\n  - id: {person_id}\n    timezone: Europe/Berlin\n")
    env = {"TRACKER_CONFIG": str(config), "TRACKER_WAREHOUSE_DSN": settings.warehouse_dsn(), "COLUMNS": "200"}
    result = CliRunner().invoke(app, ["import", *args], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return result


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


def copy_export(tmp_path: Path) -> Path:
    copy = tmp_path / "Takeout"
    shutil.copytree(FITBIT, copy)
    return copy


# ------------------------------------------------------------------------------------------ item 1
@pytest.mark.fault("fitbit re-import with a truncated heart-rate file",
                   "loaded samples kept, file quarantined with the reason, summary says kept as before")
def test_truncated_reimport_keeps_the_loaded_day(warehouse, person, tmp_path, fault):
    export = copy_export(tmp_path)
    fitbit(export, person)
    before = count(warehouse, "raw.fitbit__heart_rate", person, "source_file = %s", HR_FILE)
    others = count(warehouse, "raw.fitbit__heart_rate", person, "source_file <> %s", HR_FILE)
    good = (export / HR_DIR / HR_FILE).read_bytes()
    (export / HR_DIR / HR_FILE).write_bytes(good[: len(good) // 2])
    result = cli(["fitbit-export", str(export), "--person", person], person, tmp_path)
    after = count(warehouse, "raw.fitbit__heart_rate", person, "source_file = %s", HR_FILE)
    reasons = [r for (r,) in warehouse.execute("select reason from raw.quarantine where person_id = %s and "
                                               "entity = 'heart_rate' and locator = %s", (person, HR_FILE))]
    fault.record(f"exit {result.exit_code}; quarantine: {reasons}", before=before, after=after,
                 lost=before - after)
    assert after == before == 1380
    assert count(warehouse, "raw.fitbit__heart_rate", person, "source_file <> %s", HR_FILE) == others
    assert len(reasons) == 1 and "invalid JSON" in reasons[0] and "kept" in reasons[0]
    assert result.exit_code == 1 and HR_FILE in " ".join(error_lines(result.output))
    assert "kept as before" in result.output
    # WHEN the good file comes back THEN the rows stay and the damage report goes
    (export / HR_DIR / HR_FILE).write_bytes(good)
    fitbit(export, person)
    assert count(warehouse, "raw.fitbit__heart_rate", person, "source_file = %s", HR_FILE) == 1380
    assert count(warehouse, "raw.quarantine", person, "locator = %s", HR_FILE) == 0


@pytest.mark.fault("fitbit re-import with a truncated daily/sleep/CSV file",
                   "rows of the cut file kept, the file quarantined")
def test_truncated_reimport_of_small_files_keeps_rows(warehouse, person, tmp_path, fault):
    export = copy_export(tmp_path)
    fitbit(export, person)
    before = all_rows(warehouse, person, TABLES[:13])
    for rel in (HR_DIR / "sleep-2026-03-29.json", HR_DIR / "steps-2026-03-28.json",
                Path("Fitbit/Oxygen Saturation (SpO2)/Minute SpO2 - 2026-03-29.csv")):
        data = (export / rel).read_bytes()
        (export / rel).write_bytes(data[: len(data) // 2])
    fitbit(export, person)
    after = all_rows(warehouse, person, TABLES[:13])
    fault.record("re-imported with 3 cut files", before=before, after=after, lost=before - after)
    assert after == before


# ------------------------------------------------------------------------------------------ item 2
def netflix_rows(n: int) -> list[str]:
    return [f"Ann,2024-03-{1 + i // 24:02d} {i % 24:02d}:00:00,00:10:00,,Show {i},,TV,00:10:00,00:10:00,DE"
            for i in range(n)]


@pytest.mark.fault("netflix CSV with one unterminated quote",
                   "the bad line quarantined with its text and line number, every other row loaded")
def test_netflix_unterminated_quote_loses_only_that_line(warehouse, person, tmp_path, fault):
    rows = netflix_rows(50)
    rows[19] = rows[19].replace("Show 19", '"Show 19')
    path = tmp_path / "ViewingActivity.csv"
    path.write_text("\n".join([NETFLIX_HEADER, *rows]) + "\n")
    summary = import_netflix(warehouse, path, Person(id=person, timezone="UTC"))
    loaded = count(warehouse, "raw.netflix__viewing_activity", person)
    bad = warehouse.execute("select locator, reason, raw_text from raw.quarantine where person_id = %s",
                            (person,)).fetchall()
    fault.record(f"loaded {loaded}, quarantined {[b[:2] for b in bad]}", before=49, after=loaded,
                 lost=49 - loaded)
    assert loaded == 49 and summary.imported == 49
    assert len(bad) == 1 and bad[0][0] == "ViewingActivity.csv:21" and "unterminated" in bad[0][1]
    assert bad[0][2] == rows[19]


@pytest.mark.fault("netflix CSV with a quoted title spanning two lines",
                   "the multi-line record loaded, every row loaded")
def test_netflix_multiline_field_still_loads(warehouse, person, tmp_path, fault):
    rows = netflix_rows(5)
    rows[2] = rows[2].replace("Show 2", '"Show\n2"')
    path = tmp_path / "ViewingActivity.csv"
    path.write_text("\n".join([NETFLIX_HEADER, *rows]) + "\n")
    import_netflix(warehouse, path, Person(id=person, timezone="UTC"))
    loaded = count(warehouse, "raw.netflix__viewing_activity", person)
    fault.record(f"loaded {loaded}", before=5, after=loaded, lost=5 - loaded)
    assert loaded == 5 and count(warehouse, "raw.quarantine", person) == 0
    assert count(warehouse, "raw.netflix__viewing_activity", person, "title = %s", "Show\n2") == 1


# ------------------------------------------------------------------------------------------ item 3
def corrupt_member(archive: Path, member_suffix: str) -> str:
    """Flip bytes in the middle of one member's compressed data (bad CRC / deflate data)."""
    with zipfile.ZipFile(archive) as z:
        info = next(i for i in z.infolist() if i.filename.endswith(member_suffix))
    data = bytearray(archive.read_bytes())
    header = info.header_offset
    start = header + 30 + int.from_bytes(data[header + 26:header + 28], "little") + \
        int.from_bytes(data[header + 28:header + 30], "little")
    for i in range(start + info.compress_size // 3, start + info.compress_size // 3 + 16):
        data[i] ^= 0x5A
    archive.write_bytes(bytes(data))
    return info.filename


@pytest.mark.fault("fitbit zip with a corrupt member (bad CRC / deflate data)",
                   "one error line naming the member, no traceback; good members imported, the corrupt one "
                   "quarantined and its earlier rows kept")
def test_corrupt_zip_member(warehouse, person, tmp_path, fault):
    archive = make.make_zip(FITBIT, tmp_path / "takeout.zip")
    fitbit(archive, person)
    before = all_rows(warehouse, person, TABLES[:13])
    # (a heart-rate member whose stored CRC matches the loaded file is skipped unread: nothing to detect;
    # the sleep files are always read)
    member = corrupt_member(archive, "sleep-2026-03-29.json")
    result = cli(["fitbit-export", str(archive), "--person", person], person, tmp_path)
    after = all_rows(warehouse, person, TABLES[:13])
    errors = error_lines(result.output)
    fault.record(f"exit {result.exit_code}; {errors}", before=before, after=after, lost=before - after)
    assert result.exit_code == 1 and len(errors) == 1 and member in errors[0]
    assert after == before
    assert count(warehouse, "raw.quarantine", person, "locator = %s and reason like %s", "sleep-2026-03-29.json",
                 "unreadable%") == 1


@pytest.mark.fault("fitbit first import of a zip with a corrupt heart-rate member",
                   "every other member imported, the corrupt one quarantined, exit non-zero, no traceback")
def test_corrupt_heart_rate_member_first_import(warehouse, person, tmp_path, fault):
    archive = make.make_zip(FITBIT, tmp_path / "takeout.zip")
    member = corrupt_member(archive, HR_FILE)
    result = cli(["fitbit-export", str(archive), "--person", person], person, tmp_path)
    others = count(warehouse, "raw.fitbit__heart_rate", person)
    fault.record(f"exit {result.exit_code}; {error_lines(result.output)}", before=1440 + 1501 + 721, after=others,
                 lost=1440 + 1501 + 721 - others)
    assert result.exit_code == 1 and member in " ".join(error_lines(result.output))
    assert others == 1440 + 1501 + 721
    assert count(warehouse, "raw.quarantine", person, "locator = %s and reason like %s", HR_FILE,
                 "unreadable%") == 1


@pytest.mark.fault("fitbit first import of a zip with a corrupt CSV member",
                   "every other member imported, the corrupt one quarantined, exit non-zero")
def test_corrupt_zip_member_first_import(warehouse, person, tmp_path, fault):
    archive = make.make_zip(FITBIT, tmp_path / "takeout.zip")
    reference = f"{person}_ref"
    fitbit(archive, reference)
    expected = all_rows(warehouse, reference, TABLES[:13]) - count(warehouse, "raw.fitbit__spo2_minute", reference)
    for table in TABLES:
        warehouse.execute(f"delete from {table} where person_id = %s", (reference,))  # noqa: S608
    member = corrupt_member(archive, "Minute SpO2 - 2026-03-29.csv")
    result = cli(["fitbit-export", str(archive), "--person", person], person, tmp_path)
    after = all_rows(warehouse, person, TABLES[:13])
    fault.record(f"exit {result.exit_code}; {error_lines(result.output)}", before=expected, after=after,
                 lost=expected - after)
    assert result.exit_code == 1 and member in " ".join(error_lines(result.output))
    assert after == expected


# ------------------------------------------------------------------------------------------ item 4
PLAY = '{"ts": "2024-05-01T10:0%d:00Z", "ms_played": 1000, "spotify_track_uri": "spotify:track:%d"}'
WATCH = '{"header": "YouTube", "title": "Watched v%d", "titleUrl": "https://www.youtube.com/watch?v=v%d", ' \
        '"time": "2024-05-01T10:0%d:00Z"}'
BAD_ELEMENTS = {
    "overflowing date": ('{"ts": "0001-01-01T00:00:00+01:00", "ms_played": 1, "spotify_track_uri": "x"}',
                         '{"header": "YouTube", "title": "Watched x", "time": "0001-01-01T00:00:00+01:00"}'),
    "date minus duration overflows": ('{"ts": "0001-01-01T00:00:00Z", "ms_played": 5000, "spotify_track_uri": "x"}',
                                      None),
    "deep nesting": ('{"ts": "2024-05-01T11:00:00Z", "ms_played": 1, "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
                     '{"time": "2024-05-01T11:00:00Z", "title": "t", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"),
    "huge integer": ('{"ts": "2024-05-01T11:00:00Z", "ms_played": 99999999999999999999999, "spotify_track_uri": "x"}',
                     '{"time": "2024-05-01T11:00:00Z", "title": "t", "n": ' + "9" * 5000 + "}"),
    "number beyond float": ('{"ts": "2024-05-01T11:00:00Z", "ms_played": 1, "offline_timestamp": 1e999999,'
                            ' "spotify_track_uri": "x"}',
                            '{"time": "2024-05-01T11:00:00Z", "title": "t", "n": 1e999999}'),
    "NaN literal": ('{"ts": "2024-05-01T11:00:00Z", "ms_played": 1, "shuffle": NaN, "spotify_track_uri": "x"}',
                    '{"time": "2024-05-01T11:00:00Z", "title": "t", "n": NaN}'),
    "NUL escape": ('{"ts": "2024-05-01T11:00:00Z", "ms_played": 1, "spotify_track_uri": "x\\u0000"}',
                   '{"time": "2024-05-01T11:00:00Z", "title": "t\\u0000"}'),
    "invalid UTF-8": ('{"ts": "2024-05-01T11:00:00Z", "ms_played": 1, "spotify_track_uri": "\udcff\udcfe"}',
                      '{"time": "2024-05-01T11:00:00Z", "title": "\udcff\udcfe"}'),
    "lone surrogate escape": ('{"ts": "2024-05-01T11:00:00Z", "ms_played": 1, "spotify_track_uri": "\\ud800"}',
                              '{"time": "2024-05-01T11:00:00Z", "title": "\\udc00 x"}'),
}


def write_array(path: Path, good: list[str], bad: str) -> None:
    body = ",\n".join([*good[:2], bad, *good[2:]])
    path.write_bytes(("[\n" + body + "\n]\n").encode("utf-8", "surrogateescape"))


@pytest.mark.parametrize(("source", "case"), [(source, case) for case, pair in BAD_ELEMENTS.items()
                                               for source, bad in zip(("spotify", "youtube"), pair, strict=True)
                                               if bad is not None])
@pytest.mark.fault("one hostile element in a JSON export (spotify/youtube)",
                   "that element quarantined, the other elements loaded, no traceback")
def test_one_bad_element_is_quarantined(warehouse, person, tmp_path, fault, source, case):
    bad = BAD_ELEMENTS[case][0 if source == "spotify" else 1]
    if source == "spotify":
        path, good = tmp_path / "Streaming_History_Audio_2024_0.json", [PLAY % (i, i) for i in range(4)]
        table = "raw.spotify__streams"
    else:
        path, good = tmp_path / "watch-history.json", [WATCH % (i, i, i) for i in range(4)]
        table = "raw.youtube__watch_history"
    write_array(path, good, bad)
    result = cli([source, str(path)], person, tmp_path)
    loaded = count(warehouse, table, person)
    fault.record(f"{case}: exit {result.exit_code}, loaded {loaded}, quarantined "
                 f"{count(warehouse, 'raw.quarantine', person)}", before=4, after=loaded, lost=4 - loaded)
    assert result.exit_code == 0, result.output
    assert loaded == 4 and count(warehouse, "raw.quarantine", person) == 1


NETFLIX_BAD = {
    "NUL byte": "Ann,2024-05-01 11:00:00,00:10:00,,Show\x00,,TV,00:10:00,00:10:00,DE",
    "invalid UTF-8": "Ann,2024-05-01 11:00:00,00:10:00,,Show \udcff,,TV,00:10:00,00:10:00,DE",
    "year 0": "Ann,0000-05-01 11:00:00,00:10:00,,Show,,TV,00:10:00,00:10:00,DE",
    "huge duration": "Ann,2024-05-01 11:00:00,99999999999999999999:00:00,,Show,,TV,00:10:00,00:10:00,DE",
}


@pytest.mark.parametrize("case", list(NETFLIX_BAD))
@pytest.mark.fault("one hostile row in Netflix ViewingActivity.csv",
                   "that row quarantined, the other rows loaded, no traceback")
def test_one_bad_netflix_row_is_quarantined(warehouse, person, tmp_path, fault, case):
    rows = netflix_rows(4)
    path = tmp_path / "ViewingActivity.csv"
    text = "\n".join([NETFLIX_HEADER, *rows[:2], NETFLIX_BAD[case], *rows[2:]]) + "\n"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    result = cli(["netflix", str(path)], person, tmp_path)
    loaded = count(warehouse, "raw.netflix__viewing_activity", person)
    fault.record(f"{case}: exit {result.exit_code}, loaded {loaded}", before=4, after=loaded, lost=4 - loaded)
    assert result.exit_code == 0, result.output
    assert loaded == 4 and count(warehouse, "raw.quarantine", person) == 1


# ------------------------------------------------------------------------------------------ item 15b
MOVABLE = {"netflix": (FIXTURES / "netflix", "raw.netflix__viewing_activity", import_netflix),
           "spotify": (FIXTURES / "spotify" / "Spotify Extended Streaming History", "raw.spotify__streams",
                       import_spotify),
           "youtube": (FIXTURES / "youtube" / "Takeout", "raw.youtube__watch_history", import_youtube)}


def state(conn, table: str, person_id: str) -> tuple:
    """Every column of the person's rows (load metadata included) and the quarantine's business columns."""
    return (conn.execute(f"select count(*), md5(string_agg(t::text, '|' order by t::text)) from {table} t "  # noqa: S608
                         "where person_id = %s", (person_id,)).fetchone(),
            conn.execute("select count(*), md5(string_agg(row(entity, locator, reason, raw_text, record_at)::text,"
                         " '|' order by locator)) from raw.quarantine where person_id = %s", (person_id,)).fetchone())


@pytest.mark.parametrize("source", list(MOVABLE))
@pytest.mark.fault("consumption export folder moved, then re-imported",
                   "nothing changes: no duplicate quarantine rows, raw rows untouched")
def test_moved_export_changes_nothing(warehouse, person, tmp_path, fault, source):
    folder, table, importer = MOVABLE[source]
    first, moved = tmp_path / "a" / folder.name, tmp_path / "b" / "elsewhere" / folder.name
    shutil.copytree(folder, first)
    who = Person(id=person, timezone="Europe/Berlin")
    importer(warehouse, first, who)
    before = state(warehouse, table, person)
    moved.parent.mkdir(parents=True)
    first.rename(moved)
    again = importer(warehouse, moved, who)
    after = state(warehouse, table, person)
    fault.record(f"re-import after the move: {again.inserted} inserted, {again.updated} updated, quarantine "
                 f"{before[1][0]} → {after[1][0]} rows", before=before[0][0], after=after[0][0],
                 lost=before[0][0] - after[0][0])
    assert after == before and (again.inserted, again.updated) == (0, 0)


# ------------------------------------------------------------------------------------------ item 17
@pytest.mark.fault("fitbit zip bomb (one member inflating ~1000:1)",
                   "one error line naming the member, nothing imported, memory bounded")
def test_zip_bomb_is_refused(warehouse, person, tmp_path, fault):
    archive = make.make_zip(FITBIT, tmp_path / "takeout.zip")
    with zipfile.ZipFile(archive, "a", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("Takeout/Fitbit/Global Export Data/heart_rate-2026-01-01.json", b"[" + b" " * (64 << 20) + b"]")
    result = cli(["fitbit-export", str(archive), "--person", person], person, tmp_path)
    after = all_rows(warehouse, person, TABLES[:13])
    errors = error_lines(result.output)
    fault.record(f"exit {result.exit_code}; {errors}", before=0, after=after, lost=None)
    assert result.exit_code == 2 and len(errors) == 1 and "heart_rate-2026-01-01.json" in errors[0]
    assert after == 0


@pytest.mark.parametrize("name", ["../Fitbit/Global Export Data/heart_rate-2026-01-01.json",
                                  "/tmp/Fitbit/Global Export Data/heart_rate-2026-01-01.json"])
@pytest.mark.fault("fitbit zip with an unsafe member name (../, /)",
                   "refused with one error line naming the member, nothing imported")
def test_unsafe_member_name_is_refused(warehouse, person, tmp_path, fault, name):
    archive = make.make_zip(FITBIT, tmp_path / "takeout.zip")
    with zipfile.ZipFile(archive, "a") as z:
        z.writestr(zipfile.ZipInfo(name), (FITBIT / HR_DIR / HR_FILE).read_bytes())
    result = cli(["fitbit-export", str(archive), "--person", person], person, tmp_path)
    after = all_rows(warehouse, person, TABLES[:13])
    errors = error_lines(result.output)
    fault.record(f"exit {result.exit_code}; {errors}", before=0, after=after, lost=None)
    assert result.exit_code == 2 and len(errors) == 1 and name in errors[0]
    assert after == 0


@pytest.mark.fault("fitbit folder import with symlinks (a file and a folder pointing outside)",
                   "links not followed, listed as skipped, the rest imported")
def test_fitbit_folder_symlinks_are_not_followed(warehouse, person, tmp_path, fault):
    export = copy_export(tmp_path)
    outside = tmp_path / "outside"
    (outside / "Global Export Data").mkdir(parents=True)
    shutil.copy(FITBIT / HR_DIR / HR_FILE, outside / "Global Export Data" / "heart_rate-2026-01-01.json")
    os.symlink(outside / "Global Export Data" / "heart_rate-2026-01-01.json",
               export / HR_DIR / "heart_rate-2026-01-02.json")
    os.symlink(outside, export / "Fitbit" / "linked")
    result = cli(["fitbit-export", str(export), "--person", person], person, tmp_path)
    linked = count(warehouse, "raw.fitbit__heart_rate", person, "source_file like %s", "heart_rate-2026-01-0%")
    fault.record(f"exit {result.exit_code}; rows from links: {linked}", before=0, after=linked, lost=None)
    assert result.exit_code == 0, result.output
    assert linked == 0 and count(warehouse, "raw.fitbit__heart_rate", person) == 1440 + 1380 + 1501 + 721
    out = " ".join(result.output.split())
    assert "symlinks skipped" in out and "heart_rate-2026-01-02.json" in out and "Fitbit/linked" in out


@pytest.mark.fault("spotify folder import with a symlinked play file",
                   "the link not followed, listed as skipped, the real files imported")
def test_consumption_folder_symlinks_are_not_followed(warehouse, person, tmp_path, fault):
    folder = tmp_path / "history"
    folder.mkdir()
    (folder / "Streaming_History_Audio_2024_0.json").write_text("[" + ",".join(PLAY % (i, i) for i in range(3))
                                                                + "]")
    outside = tmp_path / "outside.json"
    outside.write_text("[" + ",".join(PLAY % (i, i + 10) for i in range(3)) + "]")
    os.symlink(outside, folder / "Streaming_History_Audio_2024_1.json")
    result = cli(["spotify", str(folder)], person, tmp_path)
    loaded = count(warehouse, "raw.spotify__streams", person)
    fault.record(f"exit {result.exit_code}; loaded {loaded}", before=3, after=loaded, lost=3 - loaded)
    assert result.exit_code == 0, result.output
    assert loaded == 3 and "Streaming_History_Audio_2024_1.json" in result.output
    assert "symlink" in result.output
