"""The demo Google Health API read through the real GoogleHealthClient over real HTTP on 127.0.0.1."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from statistics import median
from zoneinfo import ZoneInfo

import pytest
import requests
from tracker.demo import google_health_api
from tracker.demo.server import default_routes, serve_in_thread
from tracker.http import HttpClient, PermanentSourceError
from tracker.sources.google_health import GoogleHealthClient, RateLimiter

TODAY = date(2026, 11, 23)
START, END = datetime(2026, 11, 18, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC)  # three UTC days
DAYS = (date(2026, 11, 18), date(2026, 11, 21))
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(scope="module")
def demo():
    server, base = serve_in_thread(routes=google_health_api.routes(TODAY))
    yield base
    server.shutdown()
    server.server_close()


@pytest.fixture
def health(demo) -> GoogleHealthClient:
    return GoogleHealthClient(f"{demo}/google-health", token_provider=lambda: "demo-token",
                              http=HttpClient(max_retries=0), limiter=RateLimiter(per_minute=60_000, burst=100))


def offset_of(t: datetime) -> int:
    return int(t.astimezone(BERLIN).utcoffset().total_seconds())


def test_the_fake_api_is_mounted_by_the_demo_server():
    routes = default_routes(TODAY)
    assert google_health_api.DATA in routes and google_health_api.TOKEN in routes


def test_heart_rate_one_sample_a_minute_newest_first(health):
    points = [p.value for p in health.list_data_points("heart-rate", START, END)]

    assert len(points) == 3 * 1440
    times = [p.sample_time.physical_time for p in points]
    assert times[0] == END - timedelta(minutes=1) and times[-1] == START
    assert all(a - b == timedelta(minutes=1) for a, b in zip(times, times[1:], strict=False))
    assert all(40 <= p.beats_per_minute <= 200 for p in points)
    assert {p.sample_time.utc_offset for p in points} == {3600}
    sample = points[0].sample_time
    assert sample.civil_time.to_datetime() == (sample.physical_time + timedelta(hours=1)).replace(tzinfo=None)


@pytest.mark.parametrize(("day", "hours", "offsets"), [(date(2026, 3, 29), 23, [3600, 7200]),
                                                       (date(2026, 10, 25), 25, [7200, 3600])])
def test_utc_offsets_follow_berlin_dst(health, day, hours, offsets):
    start = datetime.combine(day, datetime.min.time(), BERLIN)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), BERLIN)
    points = [p.value for p in health.list_data_points("heart-rate", start, end)]
    assert len(points) == hours * 60
    assert [points[-1].sample_time.utc_offset, points[0].sample_time.utc_offset] == offsets
    assert all(p.sample_time.utc_offset == offset_of(p.sample_time.physical_time) for p in points)


def test_sleep_sessions_have_consistent_stages_and_summaries(health):
    nights = [p for p in health.list_data_points("sleep", START, END)]
    main = [p.value for p in nights if p.value.metadata.main_sleep]

    assert len(main) == 3 and all(p.name.startswith("users/") for p in nights)
    for s in (p.value for p in nights):
        assert START <= s.interval.end_time < END
        assert s.stages[0].start_time == s.interval.start_time and s.stages[-1].end_time == s.interval.end_time
        assert all(a.end_time == b.start_time for a, b in zip(s.stages, s.stages[1:], strict=False))
        assert s.summary.minutes_in_sleep_period == s.interval.seconds // 60
        assert sum(x.minutes for x in s.summary.stages_summary) == s.summary.minutes_in_sleep_period
    for s in main:
        assert s.type == "STAGES" and 4.5 * 3600 <= s.interval.seconds <= 10 * 3600
        assert {x.type for x in s.summary.stages_summary} >= {"LIGHT", "DEEP", "REM"}
        assert s.summary.minutes_asleep + s.summary.minutes_awake == s.summary.minutes_in_sleep_period


def test_a_month_has_short_and_long_nights_and_naps(health):
    month = [p.value for p in health.list_data_points("sleep", START - timedelta(days=30), END)]
    lengths = [s.interval.seconds / 3600 for s in month if s.metadata.main_sleep]
    naps = [s for s in month if s.metadata.nap]
    assert min(lengths) < 6 and max(lengths) > 8
    assert naps and all(s.type == "CLASSIC" and s.interval.seconds < 3600 for s in naps)


def test_runs_every_two_to_three_days_with_plausible_metrics(health):
    runs = [p.value for p in health.list_data_points("exercise", START - timedelta(days=10), END)]
    assert runs and all(START - timedelta(days=10) <= r.interval.start_time < END for r in runs)
    starts = sorted(r.interval.start_time.astimezone(BERLIN).date() for r in runs)
    assert {(b - a).days for a, b in zip(starts, starts[1:], strict=False)} <= {2, 3}
    for r in runs:
        m = r.metrics_summary
        assert r.exercise_type == "RUNNING"
        assert 3_000_000 <= m.distance_millimeters <= 15_000_000
        assert 20 * 60 <= r.duration_seconds <= 65 * 60 and r.duration_seconds <= r.interval.seconds
        assert 130 <= m.average_heart_rate_beats_per_minute <= 175
        zones = m.heart_rate_zone_durations
        # the watch measures through pauses: zone time covers the whole interval
        assert zones.light_time + zones.moderate_time + zones.vigorous_time + zones.peak_time == r.interval.seconds
        assert 2.0 <= m.distance_millimeters / 1000 / r.duration_seconds <= 4.0  # m/s
    assert len(list(health.list_data_points("exercise", START, END))) >= 1


def test_time_in_zone_intervals_lie_within_runs(health):
    runs = [p.value.interval for p in health.list_data_points("exercise", START, END)]
    zones = [p.value for p in health.list_data_points("time-in-heart-rate-zone", START, END)]
    assert zones and {z.heart_rate_zone_type for z in zones} <= {"LIGHT", "MODERATE", "VIGOROUS", "PEAK"}
    for z in zones:
        assert any(r.start_time <= z.interval.start_time < z.interval.end_time <= r.end_time for r in runs)


def test_daily_steps_are_plausible(health):
    per_day: dict[date, int] = defaultdict(int)
    for p in health.list_data_points("steps", START, END):
        assert p.value.interval.seconds == 900 and p.value.count > 0
        per_day[p.value.interval.civil_start_time.date] += p.value.count
    full_days = [date(2026, 11, 19), date(2026, 11, 20)]
    assert all(2_000 <= per_day[d] <= 30_000 for d in full_days)


def test_daily_types_one_point_per_day_in_range(health):
    got = {t: [p.value for p in health.list_data_points(t, *DAYS)] for t in (
        "daily-resting-heart-rate", "daily-heart-rate-variability", "daily-oxygen-saturation",
        "daily-respiratory-rate", "daily-heart-rate-zones")}

    for values in got.values():
        assert [v.date for v in values] == [date(2026, 11, 20), date(2026, 11, 19), date(2026, 11, 18)]
    assert all(50 <= v.beats_per_minute <= 70 for v in got["daily-resting-heart-rate"])
    assert all(20 <= v.average_heart_rate_variability_milliseconds <= 80 and v.non_rem_heart_rate_beats_per_minute
               for v in got["daily-heart-rate-variability"])
    assert all(90 <= v.lower_bound_percentage < v.average_percentage < v.upper_bound_percentage <= 100
               for v in got["daily-oxygen-saturation"])
    assert all(10 <= v.breaths_per_minute <= 20 for v in got["daily-respiratory-rate"])
    for v in got["daily-heart-rate-zones"]:
        zones = v.heart_rate_zones
        assert [z.heart_rate_zone_type for z in zones] == ["LIGHT", "MODERATE", "VIGOROUS", "PEAK"]
        assert all(a.max_beats_per_minute + 1 == b.min_beats_per_minute for a, b in zip(zones, zones[1:],
                                                                                       strict=False))


def test_resting_heart_rate_drifts_with_one_sick_week_in_the_last_30_days(health):
    rhr = {p.value.date: p.value.beats_per_minute
           for p in health.list_data_points("daily-resting-heart-rate", TODAY - timedelta(days=30), TODAY)}
    sick = [d for d in rhr if TODAY - timedelta(days=18) <= d <= TODAY - timedelta(days=12)]
    normal = [v for d, v in rhr.items() if d not in sick]
    assert len(rhr) == 30 and len(sick) == 7
    assert 54 <= min(normal) and max(normal) <= 61
    assert all(rhr[d] >= median(normal) + 4 for d in sick)


def test_paging_ends_with_an_empty_object(demo):
    # given a 3-day heart-rate listing requested 2000 points at a time
    url = f"{demo}/google-health/v4/users/me/dataTypes/heart-rate/dataPoints"
    params = {"filter": 'heart_rate.sample_time.physical_time >= "2026-11-18T00:00:00Z" AND '
                        'heart_rate.sample_time.physical_time < "2026-11-21T00:00:00Z"', "pageSize": 2000}
    sizes, token = [], None
    while True:
        page = requests.get(url, params={**params, **({"pageToken": token} if token else {})},
                            headers={"Authorization": "Bearer t"}, timeout=10).json()
        if page == {}:
            break
        sizes.append(len(page["dataPoints"]))
        token = page["nextPageToken"]
    # then three pages came, and a literal {} closed the listing
    assert sizes == [2000, 2000, 320]


def test_same_answers_for_any_page_size_and_on_repeat(health):
    full = [p.record for p in health.list_data_points("steps", START, END)]
    paged = [p.record for p in health.list_data_points("steps", START, END, page_size=7)]
    assert full == paged == [p.record for p in health.list_data_points("steps", START, END)]


def test_rollups_agree_with_the_points(health):
    steps = health.daily_roll_up("steps", *DAYS)
    per_day: dict[date, int] = defaultdict(int)
    for p in health.list_data_points("steps", datetime(2026, 11, 18, tzinfo=BERLIN),
                                     datetime(2026, 11, 21, tzinfo=BERLIN)):
        per_day[p.value.interval.civil_start_time.date] += p.value.count
    assert {d.date: d.value["countSum"] for d in steps} == dict(per_day)

    hours = health.roll_up("heart-rate", START, START + timedelta(days=1))
    assert len(hours) == 24 and hours[0].start_time == START
    assert all(h.value["beatsPerMinuteMin"] <= h.value["beatsPerMinuteAvg"] <= h.value["beatsPerMinuteMax"]
               for h in hours)
    kcal = health.daily_roll_up("total-calories", *DAYS)
    assert all(1500 <= d.value["kcalSum"] <= 4500 for d in kcal)


@pytest.mark.parametrize("expression", [
    'exercise.interval.start_time >= "2026-11-18T00:00:00Z"',  # exercise filters by civil start only
    'sleep.interval.civil_start_time >= "2026-11-18"',  # sleep filters by end only
    'steps.interval.start_time >= "2026-11-18"',  # a physical member needs an RFC 3339 instant
])
def test_filters_the_real_api_rejects_are_rejected(demo, expression):
    data_type = expression.split(".")[0].replace("_", "-")
    answer = requests.get(f"{demo}/google-health/v4/users/me/dataTypes/{data_type}/dataPoints",
                          params={"filter": expression}, headers={"Authorization": "Bearer t"}, timeout=10)
    assert answer.status_code == 400
    assert answer.json()["error"]["details"][0]["reason"] == "INVALID_DATA_POINT_FILTER"


def test_requests_without_a_token_are_unauthenticated(demo):
    answer = requests.get(f"{demo}/google-health/v4/users/me/dataTypes/steps/dataPoints", timeout=10)
    assert answer.status_code == 401 and answer.json()["error"]["status"] == "UNAUTHENTICATED"
    client = GoogleHealthClient(f"{demo}/google-health", token_provider=lambda: "",
                                http=HttpClient(max_retries=0))
    with pytest.raises(PermanentSourceError, match="google_health"):
        list(client.list_data_points("steps", START, END))
