"""Fitbit export: layout, parsers, time-zone reading and DST conversion, on the generated fixture
(tests/fixtures/fitbit_export, real layout) and on in-memory files made by the same generator."""

from __future__ import annotations

import importlib.util
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from tracker.sources.fitbit_export import parsers
from tracker.sources.fitbit_export.importer import LogIdDeduper
from tracker.sources.fitbit_export.layout import LayoutError, classify, scan
from tracker.sources.fitbit_export.tables import encode_heart_rate
from tracker.sources.fitbit_export.timezones import (
    US,
    decide_by_google_csv,
    decide_by_span,
    local_to_utc,
    local_to_utc_us,
    naive_us,
)

FIXTURE = Path(__file__).parents[1] / "fixtures" / "fitbit_export"
EXPORT = FIXTURE / "Takeout"
GLOBAL = EXPORT / "Fitbit" / "Global Export Data"
BERLIN = ZoneInfo("Europe/Berlin")
_spec = importlib.util.spec_from_file_location("fitbit_make_fixture", FIXTURE / "make_fixture.py")
make = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make)

SPRING, FALL = date(2026, 3, 29), date(2026, 10, 25)


def us(values: list[datetime]) -> np.ndarray:
    return np.array([(v - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1) for v in values],
                    dtype=np.int64)


def read_hr(data: bytes, name: str = "heart_rate-x.json", **kw) -> parsers.HeartRateSamples:
    return parsers.parse_heart_rate(data, name, **kw)


def convert(samples: parsers.HeartRateSamples, reading: str, zone: ZoneInfo = BERLIN) -> np.ndarray:
    return samples.naive_us if reading == "utc" else local_to_utc_us(samples.naive_us, zone)


# ------------------------------------------------------------------------------------------ layout
def test_layout_finds_every_kind_ignores_google_data_and_lists_unknown_files():
    # GIVEN the fixture export folder WHEN it is scanned
    layout = scan(EXPORT)
    # THEN every kind is found, the GoogleData tree is ignored (its heart-rate CSVs only indexed) and the
    # one file Tracker does not know is listed
    assert dict(layout.counts()) == {"heart_rate": 4, "resting_heart_rate": 1, "heart_rate_zones": 2, "sleep": 3,
                                     "sleep_score": 1, "hrv_daily": 1, "spo2_daily": 1, "spo2_minute": 1,
                                     "steps": 1, "exercise": 1, "respiratory_rate_daily": 1}
    assert layout.ignored_google_data == 3
    assert sorted(layout.google_heart_rate) == [date(2026, 3, 28), date(2026, 10, 26)]
    assert layout.unrecognised == ["Fitbit/Stress Score/Stress Score.csv"]
    assert layout.roots == ["Fitbit"]
    assert [f.day for f in layout.of("heart_rate")] == [date(2026, 3, 28), SPRING, FALL, date(2026, 10, 26)]


def test_layout_reads_a_zip_like_the_folder(tmp_path):
    archive = make.make_zip(EXPORT, tmp_path / "takeout.zip")  # members Takeout/Fitbit/…
    layout = scan(archive)
    folder = scan(EXPORT)
    assert layout.is_zip and layout.counts() == folder.counts()
    assert layout.unrecognised == ["Takeout/Fitbit/Stress Score/Stress Score.csv"]
    assert layout.roots == ["Takeout/Fitbit"]
    f_zip, f_dir = layout.of("heart_rate")[1], folder.of("heart_rate")[1]
    assert layout.read_bytes(f_zip) == folder.read_bytes(f_dir)
    assert layout.fingerprint(f_zip) == folder.fingerprint(f_dir)  # stored CRC == computed CRC


@pytest.mark.parametrize("path, expected", [
    ("MyFitbitData/Jane/Physical Activity/heart_rate-2021-05-01.json", "heart_rate"),
    ("MyFitbitData/Jane/Sleep/sleep-2021-05-01.json", "sleep"),
    ("MyFitbitData/Jane/Sleep/sleep_score.csv", "sleep_score"),
    ("Google Health/Global Export Data/resting_heart_rate-2024-01-01.json", "resting_heart_rate"),
    ("Fitbit/Heart Rate Variability/Daily Heart Rate Variability Summary - 2024-03-(4).csv", "hrv_daily"),
    ("Fitbit/Oxygen Saturation (SpO2)/Minute SpO2 - 2024-03-04.csv", "spo2_minute"),
    ("Takeout/Fitbit/Physical Activity_GoogleData/heart_rate_2024-03-04.csv", "google_heart_rate"),
    ("Takeout/Fitbit/Health Fitness Data_GoogleData/UserSleeps_2024.csv", "google_data"),
    ("Takeout/Fitbit/Global Export Data/steps-2024-03-04.json", "steps"),
        ("MyFitbitData/Jane/Physical Activity/exercise-100.json", "exercise"),
        ("Takeout/Fitbit/Global Export Data/calories-2024-03-04.json", "unrecognised"),
    ("Takeout/Fitbit/Global Export Data/heart_rate-2024-13-40.json", "unrecognised"),
])
def test_classify_accepts_every_known_layout(path, expected):
    assert classify(path)[0] == expected


def test_layout_rejects_two_exports_in_one_folder_and_empty_input(tmp_path):
    for name in ("a", "b"):
        folder = tmp_path / "two" / name / "Physical Activity"
        folder.mkdir(parents=True)
        (folder / "heart_rate-2021-05-01.json").write_text("[]")
    with pytest.raises(LayoutError, match="more than one export"):
        scan(tmp_path / "two")
    (tmp_path / "empty").mkdir()
    with pytest.raises(LayoutError, match="no Fitbit export files"):
        scan(tmp_path / "empty")


# ------------------------------------------------------------------------------------------ heart rate parse
@pytest.mark.parametrize("name", ["heart_rate-2026-03-28.json", "heart_rate-2026-03-29.json",
                                  "heart_rate-2026-10-26.json"])
def test_vectorised_scan_matches_the_orjson_reference_path(name):
    data = (GLOBAL / name).read_bytes()
    fast, slow = read_hr(data), read_hr(data, allow_scan=False)
    assert (fast.path, slow.path) == ("scan", "json")
    for column in ("naive_us", "bpm", "confidence", "index"):
        assert np.array_equal(getattr(fast, column), getattr(slow, column)), column
    assert fast.records == slow.records == len(fast)


def test_scan_reads_compact_json_and_falls_back_on_anything_unexpected():
    compact = b'[{"dateTime":"03/07/26 05:00:03","value":{"bpm":62,"confidence":3}},' \
              b'{"dateTime":"03/07/26 05:00:08","value":{"bpm":101,"confidence":0}}]'
    s = read_hr(compact)
    assert s.path == "scan" and s.bpm.tolist() == [62, 101] and s.confidence.tolist() == [3, 0]
    assert s.naive_us.tolist() == [naive_us(datetime(2026, 3, 7, 5, 0, 3)), naive_us(datetime(2026, 3, 7, 5, 0, 8))]
    for odd in (compact.replace(b"62", b'"62"'), compact.replace(b"62", b"62.0"), compact.replace(b"62", b"1234"),
                compact.replace(b"03/07/26 05:00:03", b"02/30/26 05:00:03"), compact.replace(b',"confidence":3', b"")):
        assert read_hr(odd).path == "json", odd


def test_strings_as_numbers_are_read_and_bad_records_rejected_with_file_index_and_reason():
    # GIVEN the fall-back file, which holds a bpm "71" (string) and a bpm "n/a"
    s = read_hr((GLOBAL / "heart_rate-2026-10-25.json").read_bytes(), "heart_rate-2026-10-25.json")
    # THEN the file takes the reference path, reads "71" and rejects "n/a" with its position and reason
    assert s.path == "json" and s.records == 25 * 60 + 2 and len(s) == 25 * 60 + 1
    assert 71 in s.bpm[s.index == 10].tolist()
    [bad] = s.rejected
    assert bad.locator == "heart_rate-2026-10-25.json[20]" and bad.reason == "value.bpm is not a number: 'n/a'"
    assert '"n/a"' in bad.raw_text
    assert np.all(np.diff(s.index) > 0)  # file order kept: the fold rule depends on it


def test_invalid_json_and_out_of_range_values_are_rejected():
    broken = read_hr(b'[{"dateTime" : "03/07/26 05:00:03", "value" : {', "heart_rate-2026-03-07.json")
    assert len(broken) == 0 and broken.rejected[0].locator == "heart_rate-2026-03-07.json"
    assert broken.rejected[0].reason.startswith("invalid JSON")
    s = read_hr(b'[{"dateTime":"03/07/26 05:00:03","value":{"bpm":0,"confidence":3}},'
                b'{"dateTime":"03/07/26 25:00:03","value":{"bpm":60,"confidence":3}},'
                b'{"dateTime":"03/07/26 05:00:09","value":{"bpm":60}}]')
    assert [r.reason for r in s.rejected] == ["value.bpm=0 outside [1, 300]", "bad dateTime '03/07/26 25:00:03'"]
    assert len(s) == 1 and s.confidence_null.tolist() == [True]


# ------------------------------------------------------------------------------------------ TZ reading
def test_utc_style_file_is_detected_by_its_first_sample_on_the_previous_day():
    s = read_hr((GLOBAL / "heart_rate-2026-03-28.json").read_bytes())
    first = datetime(1970, 1, 1) + timedelta(microseconds=int(s.naive_us.min()))
    assert first == datetime(2026, 3, 27, 23, 0)  # D-1, 24 h − 1 h offset
    decision = decide_by_span(date(2026, 3, 28), int(s.naive_us.min()), int(s.naive_us.max()), BERLIN)
    assert (decision.reading, decision.basis) == ("utc", "span")


def test_local_style_file_is_detected_by_its_samples_up_to_local_midnight():
    s = read_hr((GLOBAL / "heart_rate-2026-10-25.json").read_bytes())
    decision = decide_by_span(FALL, int(s.naive_us.min()), int(s.naive_us.max()), BERLIN)
    assert (decision.reading, decision.basis) == ("local", "span")


def test_partial_day_is_undecided_by_span_and_settled_by_the_google_data_csv():
    s = read_hr((GLOBAL / "heart_rate-2026-10-26.json").read_bytes())
    day = date(2026, 10, 26)
    assert decide_by_span(day, int(s.naive_us.min()), int(s.naive_us.max()), BERLIN).reading is None
    truth = make.local_day_instants(day, first="08:00", last="20:00")
    csv_us, csv_bpm = us(truth), np.array([make.bpm_at(t) for t in truth], dtype=np.int16)
    decision = decide_by_google_csv(s.naive_us, s.bpm, BERLIN, csv_us, csv_bpm)
    assert (decision.reading, decision.basis) == ("local", "google_csv")
    # a UTC-style partial day is told apart the same way
    utc_style = read_hr(make.export_json(make.heart_rate_records(truth, "utc")))
    assert decide_by_google_csv(utc_style.naive_us, utc_style.bpm, BERLIN, csv_us, csv_bpm).reading == "utc"


def test_zone_without_offset_reads_both_ways_the_same():
    s = read_hr((GLOBAL / "heart_rate-2026-03-28.json").read_bytes())
    decision = decide_by_span(date(2026, 3, 28), int(s.naive_us.min()), int(s.naive_us.max()), ZoneInfo("UTC"))
    assert (decision.reading, decision.basis) == ("utc", "same")


@pytest.mark.parametrize("day, hours", [(SPRING, 23), (FALL, 25)])
@pytest.mark.parametrize("style", ["utc", "local"])
def test_dst_day_files_give_every_instant_once_in_both_readings(day, hours, style):
    # GIVEN a 1-sample-per-minute file of a Berlin DST day written in either style
    truth = make.local_day_instants(day)
    assert len(truth) == hours * 60
    s = read_hr(make.export_json(make.heart_rate_records(truth, style)))
    # WHEN its reading is detected from the samples and the times converted
    decision = decide_by_span(day, int(s.naive_us.min()), int(s.naive_us.max()), BERLIN)
    instants = convert(s, decision.reading)
    # THEN the detected reading is the one written, and the instants are exactly the true ones:
    # 23 h or 25 h, strictly increasing (no gap, no duplicate), no crash
    assert decision.reading == style
    assert np.array_equal(instants, us(truth))
    assert np.all(np.diff(instants) == 60 * US)


# ------------------------------------------------------------------------------------------ DST conversion
def test_spring_forward_nonexistent_times_shift_forward():
    naive = [datetime(2026, 3, 29, 1, 59), datetime(2026, 3, 29, 2, 30), datetime(2026, 3, 29, 3, 0)]
    expected = [datetime(2026, 3, 29, 0, 59, tzinfo=UTC), datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
                datetime(2026, 3, 29, 1, 0, tzinfo=UTC)]
    assert local_to_utc(naive, BERLIN) == expected  # 02:30 does not exist: read as 03:30 CEST
    assert local_to_utc_us(np.array([naive_us(n) for n in naive]), BERLIN).tolist() == us(expected).tolist()


def test_fall_back_repeated_hour_follows_the_sample_order():
    naive = [datetime(2026, 10, 25, h, m) for h, m in
             [(1, 59), (2, 0), (2, 30), (2, 30), (2, 59), (2, 0), (2, 30), (2, 59), (3, 0)]]
    utc = local_to_utc(naive, BERLIN)
    assert [u.strftime("%H:%M") for u in utc] == ["23:59", "00:00", "00:30", "00:30", "00:59",
                                                  "01:00", "01:30", "01:59", "02:00"]
    # the repeated 02:30 within the first pass stays a duplicate; the vectorised path agrees
    assert local_to_utc_us(np.array([naive_us(n) for n in naive]), BERLIN).tolist() == us(utc).tolist()


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"])
def test_vectorised_conversion_matches_the_per_value_reference(zone):
    tz = ZoneInfo(zone)
    for day in (date(2026, 3, 8), SPRING, date(2026, 4, 5), FALL, date(2026, 11, 1)):
        truth = make.local_day_instants(day, zone=tz, step_s=300)
        naive = [t.astimezone(tz).replace(tzinfo=None) for t in truth]
        reference = local_to_utc(naive, tz)
        assert reference == truth, (zone, day)
        assert local_to_utc_us(np.array([naive_us(n) for n in naive]), tz).tolist() == us(reference).tolist()


# ------------------------------------------------------------------------------------------ sleep
def sleep_file(name: str) -> parsers.Parsed:
    return parsers.parse_sleep((GLOBAL / name).read_bytes(), name, BERLIN)


def contiguous(stages: list[dict]) -> bool:
    return all(a["ended_at"] == b["started_at"] for a, b in zip(stages, stages[1:], strict=False))


def test_sleep_session_across_midnight_and_the_spring_forward_gap():
    parsed = sleep_file("sleep-2026-02-27.json")
    [session] = parsed.rows
    assert session["log_id"] == make.SLEEP_A and session["date_of_sleep"] == SPRING
    assert session["start_at"] == datetime(2026, 3, 28, 21, 50, tzinfo=UTC)      # 22:50 CET
    assert session["end_at"] == datetime(2026, 3, 29, 3, 45, tzinfo=UTC)         # 05:45 CEST
    assert (session["end_at"] - session["start_at"]).total_seconds() * 1000 == session["duration_ms"]
    data = [s for s in parsed.extra if s["kind"] == "data"]
    assert len(data) == 10 and contiguous(data)
    assert data[0]["started_at"] == session["start_at"] and data[-1]["ended_at"] == session["end_at"]
    assert {s["level"] for s in data} == {"wake", "light", "deep", "rem"}


def test_sleep_session_across_the_fall_back_repeated_hour_has_no_overlap():
    parsed = sleep_file("sleep-2026-09-28.json")
    session = next(r for r in parsed.rows if r["log_id"] == make.SLEEP_C)
    data = [s for s in parsed.extra if s["kind"] == "data"]
    assert contiguous(data) and data[-1]["ended_at"] == session["end_at"]
    assert session["end_at"] - session["start_at"] == timedelta(hours=6, minutes=50)
    # two segments both start at 02:15 wall time (CEST, then CET): an hour apart
    at_0215 = [s["started_at"] for s in data if s["start_local"].strftime("%H:%M") == "02:15"]
    assert at_0215 == [datetime(2026, 10, 25, 0, 15, tzinfo=UTC), datetime(2026, 10, 25, 1, 15, tzinfo=UTC)]
    short = [s["started_at"] for s in parsed.extra if s["kind"] == "short"]
    assert short == [datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 25, 1, 20, tzinfo=UTC)]
    [bad] = parsed.rejected
    assert bad.locator == "sleep-2026-09-28.json[1]" and bad.reason.startswith("startTime is missing")


def test_classic_sleep_levels_and_logid_dedupe_across_chunk_files():
    first, second = sleep_file("sleep-2026-02-27.json"), sleep_file("sleep-2026-03-29.json")
    nap = next(r for r in second.rows if r["log_id"] == make.SLEEP_B)
    assert nap["sleep_type"] == "classic" and nap["is_main_sleep"] is False
    assert {s["level"] for s in second.extra if s["log_id"] == make.SLEEP_B} == {"awake", "asleep", "restless"}
    dedupe = LogIdDeduper()
    kept = [(name, r["log_id"]) for name, parsed in (("sleep-2026-02-27.json", first),
                                                      ("sleep-2026-03-29.json", second))
            for r in parsed.rows if dedupe.skip_reason(r["log_id"], name) is None]
    assert kept == [("sleep-2026-02-27.json", make.SLEEP_A), ("sleep-2026-03-29.json", make.SLEEP_B)]
    assert dedupe.skip_reason(make.SLEEP_A, "sleep-2026-03-29.json") == \
        "same logId in an earlier chunk file (first copy kept)"


def test_unknown_sleep_level_is_rejected_but_the_session_kept():
    record = make.session_b()
    record["levels"]["data"][1]["level"] = "deep"   # not a classic level
    parsed = parsers.parse_sleep(make.export_json([record]), "sleep-x.json", BERLIN)
    assert len(parsed.rows) == 1 and len(parsed.extra) == 3
    assert parsed.rejected[0].locator == "sleep-x.json[0].levels.data[1]"


# ------------------------------------------------------------------------------------------ daily files
def test_resting_heart_rate_skips_days_without_an_estimate():
    parsed = parsers.parse_resting_heart_rate((GLOBAL / "resting_heart_rate-2026-03-28.json").read_bytes(), "r")
    assert [(r["date"], r["bpm"], r["error"]) for r in parsed.rows] == [
        (date(2026, 3, 28), 58.41, 6.2), (date(2026, 10, 26), 57.9, 5.1)]
    assert parsed.skipped == {"no estimate (value 0 or null)": 2} and not parsed.rejected


def test_heart_rate_zones_read_strings_as_numbers():
    parsed = parsers.parse_heart_rate_zones((GLOBAL / "time_in_heart_rate_zones-2026-10-25.json").read_bytes(), "z")
    [row] = parsed.rows
    assert (row["date"], row["below_zone_1_min"], row["zone_3_min"]) == (FALL, 1400.0, 5.0)


def csv(rel: str) -> io.StringIO:
    return io.StringIO((EXPORT / "Fitbit" / rel).read_text(), newline="")


def test_minute_spo2_excludes_the_50_sentinel_and_rejects_impossible_values():
    parsed = parsers.parse_spo2_minute(csv("Oxygen Saturation (SpO2)/Minute SpO2 - 2026-03-29.csv"), "m.csv")
    assert parsed.skipped == {"invalid-reading sentinel 50.0": 7}
    assert len(parsed.rows) == 32 and all(r["spo2_pct"] != 50.0 for r in parsed.rows)
    assert parsed.rows[0]["observed_at"] == datetime(2026, 3, 29, 0, 31, tzinfo=UTC)
    [bad] = parsed.rejected
    assert bad.locator == "m.csv:15" and bad.reason == "value=101.5 outside (0, 100] %"


def test_hrv_spo2_daily_and_sleep_score_csvs():
    hrv = parsers.parse_hrv_daily(csv("Heart Rate Variability/Daily Heart Rate Variability Summary - 2026-03-(28).csv"),
                                  "h.csv")
    assert [(r["date"], r["rmssd_ms"]) for r in hrv.rows] == [(date(2026, 3, 28), 35.12), (FALL, 38.4)]
    assert hrv.skipped == {"no rmssd": 1} and hrv.rejected[0].locator == "h.csv:5"
    spo2 = parsers.parse_spo2_daily(csv("Oxygen Saturation (SpO2)/Daily SpO2 - 2026-03-28-2026-10-26.csv"), "s.csv")
    assert [r["average_pct"] for r in spo2.rows] == [95.6, 96.1, 95.2]
    scores = parsers.parse_sleep_score(csv("Sleep Score/sleep_score.csv"), "sleep_score.csv", BERLIN)
    assert [(r["log_id"], r["overall_score"]) for r in scores.rows] == [(make.SLEEP_A, 81), (make.SLEEP_C, 78)]
    assert scores.rows[0]["scored_at"] == datetime(2026, 3, 29, 4, 41, 30, tzinfo=UTC)
    assert scores.rejected[0].locator == "sleep_score.csv:4"


def test_csv_with_a_foreign_header_is_rejected_as_a_whole():
    parsed = parsers.parse_spo2_daily(io.StringIO("date,spo2\n2026-03-28,95\n"), "x.csv")
    assert not parsed.rows and parsed.rejected[0].reason.startswith("header lacks")


# ------------------------------------------------------------------------------------------ binary rows
def test_binary_copy_rows_have_the_expected_layout():
    instants = us([datetime(2000, 1, 1, 0, 0, 1, tzinfo=UTC), datetime(2026, 3, 29, tzinfo=UTC)])
    payload = encode_heart_rate("me", "fitbit_export", "f.json", "r", instants, np.array([60, 61], np.int16),
                                np.array([3, 0], np.int16), np.array([False, True]))
    # row 1: 7 fields; "me"; ts = 1 s after the PostgreSQL epoch; bpm 60; confidence 3; 3 texts
    row1 = (b"\x00\x07" + b"\x00\x00\x00\x02me" + b"\x00\x00\x00\x08" + (1_000_000).to_bytes(8, "big")
            + b"\x00\x00\x00\x02\x00\x3c" + b"\x00\x00\x00\x02\x00\x03" + b"\x00\x00\x00\x0dfitbit_export"
            + b"\x00\x00\x00\x06f.json" + b"\x00\x00\x00\x01r")
    assert payload.startswith(row1)
    assert payload[len(row1):].count(b"\xff\xff\xff\xff") == 1   # row 2: null confidence
    assert len(payload) == 2 * len(row1) - 2


def test_steps_exercise_and_respiratory_files_parse_strings_units_and_reject_bad_records():
    from tracker.sources.fitbit_export import activity

    steps = activity.parse_steps((GLOBAL / "steps-2026-03-28.json").read_bytes(), "steps-2026-03-28.json")
    assert [r["steps"] for r in steps.rows] == [10 * i for i in range(10)]
    assert [(r.locator, r.reason) for r in steps.rejected] == [
        ("steps-2026-03-28.json[10]", "value=4000 outside [0, 400] steps per minute")]
    exercise = activity.parse_exercise((GLOBAL / "exercise-0.json").read_bytes(), "exercise-0.json")
    run, walk = exercise.rows
    assert (run["exercise_type"], run["distance_m"], run["active_seconds"], run["steps"], run["average_hr_bpm"]) \
        == ("RUNNING", 5000.0, 1740, 5210, 152.0)
    assert run["record"]["someNewField"] == {"kept": True}      # unknown fields stay in the raw JSON
    assert (walk["exercise_type"], walk["distance_m"], walk["active_seconds"], walk["average_hr_bpm"]) \
        == ("WALKING", 2414.0, 2400, 98.0)
    assert [(r.locator, r.reason) for r in exercise.rejected] == [("exercise-0.json[2]", "startTime is missing")]
    assert activity.exercise_type("Dance Party") == "DANCE_PARTY"
    rr = activity.parse_respiratory_rate_daily(
        csv("Heart Rate Variability/Daily Respiratory Rate Summary - 2026-03-28.csv"), "rr.csv")
    assert [(r["date"], r["breaths_per_minute"]) for r in rr.rows] == [(date(2026, 3, 28), 14.6)]
    assert rr.skipped == {"no respiratory rate that day": 1}
    assert [r.reason for r in rr.rejected] == ["daily_respiratory_rate=99.0 outside [4, 60]"]


@pytest.mark.parametrize(("name", "unsafe"), [
    ("Takeout/Fitbit/Global Export Data/heart_rate-2026-01-01.json", False),
    ("../Fitbit/Global Export Data/heart_rate-2026-01-01.json", True),
    ("Takeout/../../etc/passwd", True), ("/etc/passwd", True), ("C:/x.json", True), ("a\\..\\b.json", True)])
def test_unsafe_member_names(name, unsafe):
    from tracker.sources.fitbit_export.layout import unsafe_name

    assert unsafe_name(name) is unsafe


def test_a_corrupt_member_is_a_member_error_naming_it(tmp_path):
    import zipfile

    from tracker.sources.fitbit_export.layout import MemberError

    archive = tmp_path / "x.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("Fitbit/Global Export Data/steps-2026-01-01.json", b"[" + b'{"dateTime": 1},' * 5000 + b"{}]")
    data = bytearray(archive.read_bytes())
    data[200:216] = bytes(b ^ 0x5A for b in data[200:216])
    archive.write_bytes(bytes(data))
    layout = scan(archive)
    with pytest.raises(MemberError, match=r"steps-2026-01-01.json: unreadable"):
        layout.read_bytes(layout.of("steps")[0])
    layout.close()


def test_only_members_that_are_read_are_held_to_the_size_cap(tmp_path):
    import zipfile

    archive = tmp_path / "x.zip"
    steps = b'[{"dateTime": "03/28/26 08:00:00", "value": "10"}]'
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("Fitbit/Global Export Data/steps-2026-03-28.json", steps)
        z.writestr("Fitbit/Media/blob.bin", b"\0" * (32 << 20))   # never read: not refused
    layout = scan(archive)
    assert layout.unrecognised == ["Fitbit/Media/blob.bin"]
    layout.close()
    with zipfile.ZipFile(archive, "a", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("Fitbit/Global Export Data/steps-2026-03-29.json", b" " * (32 << 20))
    with pytest.raises(LayoutError, match=r"steps-2026-03-29.json' inflates .* zip bomb"):
        scan(archive)
