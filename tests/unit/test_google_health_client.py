"""GoogleHealthClient + models against recorded-format Google Health API v4 payloads (no network)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests
from tracker.http import AuthError, HttpClient, MalformedResponseError, PermanentSourceError, TransientSourceError
from tracker.sources.google_health import GoogleHealthClient, RateLimiter, parse_data_point
from tracker.sources.google_health.client import build_filter
from tracker.sources.google_health.oauth import (
    OAuthClient,
    ReauthRequired,
    TokenEndpoint,
    TokenProvider,
    Tokens,
    TokenStore,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "google_health"
BASE = "https://health.googleapis.com"
TOKEN_URL = "https://oauth2.googleapis.com/token"
BERLIN = ZoneInfo("Europe/Berlin")


def url(data_type: str, action: str = "") -> str:
    return f"{BASE}/v4/users/me/dataTypes/{data_type}/dataPoints{action}"


def text(name: str) -> str:
    return (FIXTURES / name).read_text()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def query(call) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


def client(sleeps: list[float], token_provider=lambda: "access-1", *, retries: int = 3) -> GoogleHealthClient:
    http = HttpClient(sleep=sleeps.append, jitter=lambda: 0.0, max_retries=retries)
    return GoogleHealthClient(token_provider=token_provider, http=http,
                              limiter=RateLimiter(per_minute=60_000, burst=1000))


WINDOW = (utc(2026, 9, 25), utc(2026, 9, 26))


# ------------------------------------------------------------------------------------------ paging
def test_pages_are_followed_to_an_empty_object_last_page(api, sleeps):
    # given two pages of heart rate, then the literal `{}` the real API sends last
    api.get(url("heart-rate"), body=text("heart_rate_page1.json"))
    api.get(url("heart-rate"), body=text("heart_rate_page2.json"))
    api.get(url("heart-rate"), body=text("empty_page.json"))

    # when listing a day
    points = list(client(sleeps).list_data_points("heart-rate", *WINDOW))

    # then all five points came back in the API's order, and each next request carried the previous token
    assert [p.value.beats_per_minute for p in points] == [49, 50, 51, 52, 53]
    assert len(api.calls) == 3
    first, second, third = (query(c) for c in api.calls)
    assert "pageToken" not in first
    assert second["pageToken"] == json.loads(text("heart_rate_page1.json"))["nextPageToken"]
    assert third["pageToken"] == json.loads(text("heart_rate_page2.json"))["nextPageToken"]
    assert first["filter"] == second["filter"] == third["filter"]
    assert first["pageSize"] == "10000"


def test_missing_or_empty_next_page_token_ends_paging(api, sleeps):
    # given answers without a nextPageToken key (exercise) and with "" (sleep)
    api.get(url("exercise"), body=text("exercise.json"))
    api.get(url("sleep"), body=text("sleep.json"))

    # when listing both
    exercise = list(client(sleeps).list_data_points("exercise", date(2026, 9, 19), date(2026, 9, 26)))
    sleep = list(client(sleeps).list_data_points("sleep", *WINDOW))

    # then each needed exactly one request, with sessions' page size of 25
    assert (len(exercise), len(sleep), len(api.calls)) == (3, 2, 2)
    assert [query(c)["pageSize"] for c in api.calls] == ["25", "25"]


def test_a_repeated_page_token_is_an_error_not_an_endless_loop(api, sleeps):
    api.get(url("heart-rate"), body=text("heart_rate_page1.json"))
    with pytest.raises(MalformedResponseError, match="nextPageToken"):
        list(client(sleeps).list_data_points("heart-rate", *WINDOW))
    assert len(api.calls) == 2


# ------------------------------------------------------------------------------------------ filters
@pytest.mark.parametrize(("data_type", "start", "end", "expected"), [
    ("heart-rate", *WINDOW, 'heart_rate.sample_time.physical_time >= "2026-09-25T00:00:00Z" AND '
                            'heart_rate.sample_time.physical_time < "2026-09-26T00:00:00Z"'),
    ("steps", *WINDOW, 'steps.interval.start_time >= "2026-09-25T00:00:00Z" AND '
                       'steps.interval.start_time < "2026-09-26T00:00:00Z"'),
    ("time-in-heart-rate-zone", *WINDOW, 'time_in_heart_rate_zone.interval.start_time >= "2026-09-25T00:00:00Z" AND '
                                         'time_in_heart_rate_zone.interval.start_time < "2026-09-26T00:00:00Z"'),
    ("sleep", *WINDOW, 'sleep.interval.end_time >= "2026-09-25T00:00:00Z" AND '
                       'sleep.interval.end_time < "2026-09-26T00:00:00Z"'),
    ("exercise", datetime(2026, 9, 25, 6), datetime(2026, 9, 26, 6),
     'exercise.interval.civil_start_time >= "2026-09-25T06:00:00" AND '
     'exercise.interval.civil_start_time < "2026-09-26T06:00:00"'),
    ("exercise", date(2026, 9, 25), date(2026, 9, 26),
     'exercise.interval.civil_start_time >= "2026-09-25" AND exercise.interval.civil_start_time < "2026-09-26"'),
    ("daily-resting-heart-rate", date(2026, 9, 25), date(2026, 9, 26),
     'daily_resting_heart_rate.date >= "2026-09-25" AND daily_resting_heart_rate.date < "2026-09-26"'),
    ("daily-heart-rate-variability", date(2026, 9, 1), date(2026, 10, 1),
     'daily_heart_rate_variability.date >= "2026-09-01" AND daily_heart_rate_variability.date < "2026-10-01"'),
    ("daily-oxygen-saturation", date(2026, 9, 25), date(2026, 9, 26),
     'daily_oxygen_saturation.date >= "2026-09-25" AND daily_oxygen_saturation.date < "2026-09-26"'),
    ("daily-respiratory-rate", date(2026, 9, 25), date(2026, 9, 26),
     'daily_respiratory_rate.date >= "2026-09-25" AND daily_respiratory_rate.date < "2026-09-26"'),
    ("daily-heart-rate-zones", date(2026, 9, 25), date(2026, 9, 26),
     'daily_heart_rate_zones.date >= "2026-09-25" AND daily_heart_rate_zones.date < "2026-09-26"'),
    # a Berlin-local window is sent in UTC (spring-forward day: midnight is 23:00Z, the next midnight 22:00Z)
    ("heart-rate", datetime(2026, 3, 29, tzinfo=BERLIN), datetime(2026, 3, 30, tzinfo=BERLIN),
     'heart_rate.sample_time.physical_time >= "2026-03-28T23:00:00Z" AND '
     'heart_rate.sample_time.physical_time < "2026-03-29T22:00:00Z"'),
])
def test_each_type_sends_its_own_filter(api, sleeps, data_type, start, end, expected):
    # given an empty answer
    api.get(url(data_type), body="{}")

    # when listing
    assert list(client(sleeps).list_data_points(data_type, start, end)) == []

    # then the exact filter string for that type went out
    assert query(api.calls[0])["filter"] == expected
    assert query(api.calls[0])["pageSize"] == ("25" if data_type in ("sleep", "exercise") else "10000")


def test_exercise_with_a_utc_window_widens_the_civil_filter_and_keeps_points_by_physical_start(api, sleeps):
    # given three exercises starting 2026-09-23T21:02Z, 2026-09-24T23:00Z and 2026-09-25T00:33Z
    api.get(url("exercise"), body=text("exercise.json"))

    # when asking for the UTC day 2026-09-24
    points = list(client(sleeps).list_data_points("exercise", utc(2026, 9, 24), utc(2026, 9, 25)))

    # then the civil filter covered every possible offset (±14 h) and only the exercise starting that UTC day remains
    assert query(api.calls[0])["filter"] == ('exercise.interval.civil_start_time >= "2026-09-23T10:00:00" AND '
                                             'exercise.interval.civil_start_time < "2026-09-25T14:00:00"')
    assert [p.value.exercise_type for p in points] == ["WEIGHTLIFTING"]


@pytest.mark.parametrize(("data_type", "start", "end", "message"), [
    ("heart-rate", date(2026, 9, 25), date(2026, 9, 26), "timezone-aware"),
    ("sleep", datetime(2026, 9, 25), datetime(2026, 9, 26), "timezone-aware"),
    ("daily-resting-heart-rate", *WINDOW, "civil date"),
    ("no-such-type", *WINDOW, "unknown Google Health data type"),
])
def test_bounds_of_the_wrong_kind_are_refused_before_any_request(data_type, start, end, message):
    with pytest.raises(ValueError, match=message):
        build_filter(data_type, start, end)


# ------------------------------------------------------------------------------------------ models
def test_int64_strings_durations_offsets_and_civil_dates_are_parsed(api, sleeps):
    api.get(url("exercise"), body=text("exercise.json"))
    api.get(url("sleep"), body=text("sleep.json"))
    api.get(url("steps"), body=text("steps.json"))
    api.get(url("daily-heart-rate-zones"), body=text("daily_heart_rate_zones.json"))
    c = client(sleeps)

    cardio, lifting, run = (p.value for p in c.list_data_points("exercise", date(2026, 9, 19), date(2026, 9, 26)))
    night, nap = (p.value for p in c.list_data_points("sleep", *WINDOW))
    steps = [p.value for p in c.list_data_points("steps", *WINDOW)]
    (zones,) = (p.value for p in c.list_data_points("daily-heart-rate-zones", date(2026, 9, 25), date(2026, 9, 26)))

    # exercise: open exerciseType, "1303s" → seconds, int64 strings → int, distance as double
    assert cardio.exercise_type == "CARDIO_WORKOUT" and cardio.duration_seconds == 1303.0
    assert cardio.metrics_summary.average_heart_rate_beats_per_minute == 115
    assert cardio.metrics_summary.heart_rate_zone_durations.moderate_time == 900.0
    assert lifting.exercise_events[1].exercise_event_type == "STOP" and lifting.interval.start_utc_offset == 32400
    assert run.metrics_summary.distance_millimeters == 7412880.5 and run.metrics_summary.steps == 6893
    assert run.duration_seconds == 2504.0 and run.interval.seconds == 2550.0
    # sleep: summary minutes and stage counts as ints; nap and main sleep told apart
    assert night.summary.minutes_asleep == 248 and night.summary.stages_summary[1].count == 6
    assert (night.metadata.main_sleep, night.metadata.nap, nap.metadata.nap) == (True, None, True)
    assert [s.type for s in night.stages] == ["AWAKE", "LIGHT", "DEEP"] and nap.type == "CLASSIC"
    # steps: count as int, civil end at midnight arrives as `"time": {}`
    assert [s.count for s in steps] == [2, 44]
    assert steps[1].interval.civil_end_time.to_datetime() == datetime(2026, 9, 26, 0, 0)
    # daily zones: civil date → date, bpm strings → int
    assert zones.date == date(2026, 9, 25)
    assert [(z.heart_rate_zone_type, z.min_beats_per_minute) for z in zones.heart_rate_zones][-1] == ("PEAK", 166)


@pytest.mark.parametrize(("fixture", "data_type", "check"), [
    ("daily_resting_heart_rate.json", "daily-resting-heart-rate",
     lambda v: v.beats_per_minute == 56 and v.daily_resting_heart_rate_metadata.calculation_method == "WITH_SLEEP"),
    ("daily_heart_rate_variability.json", "daily-heart-rate-variability",
     lambda v: v.non_rem_heart_rate_beats_per_minute == 57 and v.average_heart_rate_variability_milliseconds > 40),
    ("daily_oxygen_saturation.json", "daily-oxygen-saturation",
     lambda v: v.lower_bound_percentage < v.average_percentage < v.upper_bound_percentage),
    ("daily_respiratory_rate.json", "daily-respiratory-rate", lambda v: v.breaths_per_minute == 14.4),
    ("time_in_heart_rate_zone.json", "time-in-heart-rate-zone",
     lambda v: v.heart_rate_zone_type == "PEAK" and v.interval.seconds == 224),
])
def test_daily_and_zone_types_parse(fixture, data_type, check):
    points = [parse_data_point(raw) for raw in json.loads(text(fixture))["dataPoints"]]
    assert {p.data_type for p in points} == {data_type}
    assert check(points[0].value)


def test_unknown_fields_are_kept_and_the_record_is_the_original(api, sleeps):
    api.get(url("heart-rate"), body=text("heart_rate_page1.json"))
    api.get(url("heart-rate"), body="{}")
    api.get(url("sleep"), body=text("sleep.json"))
    c = client(sleeps)

    hr = list(c.list_data_points("heart-rate", *WINDOW))[1]
    night = next(iter(c.list_data_points("sleep", *WINDOW)))

    # unknown keys survive at every level, observed-but-undocumented ones are typed
    assert hr.value.model_extra == {"confidence": "HIGH"}
    assert hr.data_source.model_extra == {"sourceRevision": "observed-later"}
    assert hr.value.metadata.motion_context == "SEDENTARY"
    assert night.value.short_awakenings[0].type == "LIGHT" and night.value.metadata.main_sleep is True
    # and `record` is the JSON object as received (int64 still strings), for the raw table
    assert hr.record["heartRate"]["beatsPerMinute"] == "50" and hr.record["heartRate"]["confidence"] == "HIGH"
    assert night.name.endswith("/dataPoints/8808518358174752984")


def test_the_data_type_is_inferred_from_the_union_key():
    assert parse_data_point(json.loads(text("steps.json"))["dataPoints"][0]).data_type == "steps"
    future = parse_data_point({"dataSource": {}, "dailyVo2Max": {"date": {"year": 2026, "month": 1, "day": 2},
                                                                 "vo2Max": 44.1}})
    assert (future.data_type, future.value["vo2Max"]) == ("daily-vo2-max", 44.1)
    with pytest.raises(MalformedResponseError, match="exactly one data type key"):
        parse_data_point({"dataSource": {}})
    with pytest.raises(MalformedResponseError, match="exactly one data type key"):
        parse_data_point({"steps": {}, "distance": {}})


def test_a_new_object_field_beside_the_asked_for_payload_is_kept_not_rejected():
    # GIVEN a steps point that gained an object field the API did not have before
    raw = json.loads(text("steps.json"))["dataPoints"][0] | {"provenance": {"app": "new"}}
    # WHEN it is parsed as the steps it was asked for
    point = parse_data_point(raw, data_type="steps")
    # THEN it is a steps point, and the raw record still holds the new field
    assert point.data_type == "steps" and point.record["provenance"] == {"app": "new"}
    # (without knowing what was asked for, the payload stays ambiguous)
    with pytest.raises(MalformedResponseError, match="exactly one data type key"):
        parse_data_point(raw)


def test_a_broken_point_names_its_field(api, sleeps):
    body = json.loads(text("heart_rate_page2.json"))
    body["dataPoints"][1]["heartRate"]["beatsPerMinute"] = "52.5"
    del body["nextPageToken"]
    api.get(url("heart-rate"), json=body)

    points = client(sleeps).list_data_points("heart-rate", *WINDOW)
    assert next(points).value.beats_per_minute == 52
    with pytest.raises(MalformedResponseError, match=r"dataPoints\[1\]\.heartRate\.beatsPerMinute"):
        next(points)


def test_raw_listing_yields_the_json_objects(api, sleeps):
    api.get(url("steps"), body=text("steps.json"))
    raw = list(client(sleeps).list_raw_data_points("steps", *WINDOW))
    assert raw == json.loads(text("steps.json"))["dataPoints"]


def test_data_points_that_are_not_a_list_are_malformed(api, sleeps):
    api.get(url("steps"), json={"dataPoints": {"steps": {}}})
    with pytest.raises(MalformedResponseError, match="dataPoints"):
        list(client(sleeps).list_data_points("steps", *WINDOW))


# ------------------------------------------------------------------------------------------ rollups
def test_daily_roll_up_posts_a_civil_range_and_parses_values(api, sleeps):
    api.post(url("steps", ":dailyRollUp"), body=text("daily_rollup_steps.json"))

    days = client(sleeps).daily_roll_up("steps", date(2026, 9, 24), date(2026, 9, 26))

    assert json.loads(api.calls[0].request.body) == {
        "range": {"start": {"date": {"year": 2026, "month": 9, "day": 24}},
                  "end": {"date": {"year": 2026, "month": 9, "day": 26}}},
        "windowSizeDays": 1}
    assert [(d.date, d.value) for d in days] == [(date(2026, 9, 24), {"countSum": 6859}),
                                                 (date(2026, 9, 25), {"countSum": 9525})]


def test_roll_up_posts_window_size_and_coerces_durations(api, sleeps):
    api.post(url("time-in-heart-rate-zone", ":rollUp"), body=text("rollup_time_in_zone.json"))

    hours = client(sleeps).roll_up("time-in-heart-rate-zone", utc(2026, 9, 23, 21), utc(2026, 9, 23, 23))

    assert json.loads(api.calls[0].request.body) == {
        "range": {"startTime": "2026-09-23T21:00:00Z", "endTime": "2026-09-23T23:00:00Z"}, "windowSize": "3600s"}
    assert hours[0].start_time == utc(2026, 9, 23, 21)
    assert hours[0].value == {"timeInHeartRateZones": [{"heartRateZone": "VIGOROUS", "duration": 1560.0},
                                                       {"heartRateZone": "PEAK", "duration": 224.0}]}


def test_long_rollup_ranges_are_split_at_the_api_maximum(api, sleeps):
    # given empty answers
    api.post(url("heart-rate", ":rollUp"), body="{}")
    api.post(url("steps", ":dailyRollUp"), body="{}")
    c = client(sleeps)

    # when rolling up 20 days of heart rate (max 14) and 200 days of steps (max 90)
    c.roll_up("heart-rate", utc(2026, 9, 1), utc(2026, 9, 21), timedelta(hours=1))
    c.daily_roll_up("steps", date(2026, 1, 1), date(2026, 7, 20))

    # then the ranges were split, contiguous, none longer than allowed
    bodies = [json.loads(call.request.body)["range"] for call in api.calls]
    assert [(b["startTime"], b["endTime"]) for b in bodies[:2]] == [
        ("2026-09-01T00:00:00Z", "2026-09-15T00:00:00Z"), ("2026-09-15T00:00:00Z", "2026-09-21T00:00:00Z")]
    assert [(b["start"]["date"]["month"], b["start"]["date"]["day"]) for b in bodies[2:]] == [(1, 1), (4, 1), (6, 30)]


# ------------------------------------------------------------------------------------------ errors & retries
def test_429_then_200_waits_as_told(api, sleeps):
    api.get(url("steps"), status=429, json={"error": {"code": 429, "message": "Quota exceeded",
                                                      "status": "RESOURCE_EXHAUSTED"}}, headers={"Retry-After": "7"})
    api.get(url("steps"), body=text("steps.json"))

    assert len(list(client(sleeps).list_data_points("steps", *WINDOW))) == 2
    assert sleeps == [7.0] and len(api.calls) == 2


def test_5xx_is_retried_with_backoff(api, sleeps):
    api.get(url("steps"), status=503, body="Service Unavailable")
    api.get(url("steps"), status=500, json={"error": {"code": 500, "message": "Internal error"}})
    api.get(url("steps"), body=text("steps.json"))

    assert len(list(client(sleeps).list_data_points("steps", *WINDOW))) == 2
    assert sleeps == [0.5, 1.0]


def test_persistent_5xx_becomes_a_transient_error(api, sleeps):
    api.get(url("steps"), status=502, body="Bad Gateway")
    with pytest.raises(TransientSourceError, match="HTTP 502") as info:
        list(client(sleeps, retries=2).list_data_points("steps", *WINDOW))
    assert info.value.status == 502 and len(api.calls) == 3


def test_timeouts_are_retried_then_reported(api, sleeps):
    api.get(url("steps"), body=requests.exceptions.ReadTimeout("read timed out"))
    api.get(url("steps"), body=text("steps.json"))
    assert len(list(client(sleeps).list_data_points("steps", *WINDOW))) == 2

    api.reset()
    api.get(url("steps"), body=requests.exceptions.ConnectTimeout("connect timed out"))
    with pytest.raises(TransientSourceError, match="ConnectTimeout"):
        list(client(sleeps, retries=1).list_data_points("steps", *WINDOW))


def test_a_bad_filter_is_a_permanent_error_with_the_api_message(api, sleeps):
    api.get(url("sleep"), status=400, body=text("error_400_filter.json"))
    with pytest.raises(PermanentSourceError, match="Invalid data point filter") as info:
        list(client(sleeps).list_data_points("sleep", *WINDOW))
    assert info.value.status == 400 and len(api.calls) == 1


class RecordingProvider:
    """A token provider with `refresh(rejected=…)`, counting calls."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens, self.refreshed = list(tokens), []

    def __call__(self) -> str:
        return self.tokens[0]

    def refresh(self, rejected: str | None = None) -> str:
        self.refreshed.append(rejected)
        self.tokens.pop(0)
        return self.tokens[0]


def test_401_refreshes_once_and_retries(api, sleeps):
    api.get(url("steps"), status=401, body=text("error_401.json"))
    api.get(url("steps"), body=text("steps.json"))
    provider = RecordingProvider(["stale", "fresh"])

    assert len(list(client(sleeps, provider).list_data_points("steps", *WINDOW))) == 2

    assert provider.refreshed == ["stale"]
    assert [c.request.headers["Authorization"] for c in api.calls] == ["Bearer stale", "Bearer fresh"]


def test_401_after_the_refresh_is_an_auth_error_naming_the_connection(api, sleeps):
    api.get(url("steps"), status=401, body=text("error_401.json"))
    provider = RecordingProvider(["stale", "fresh"])

    with pytest.raises(AuthError, match="google_health") as info:
        list(client(sleeps, provider).list_data_points("steps", *WINDOW))

    assert (info.value.status, info.value.credential) == (401, "connection 'google_health'")
    assert "invalid authentication credentials" in str(info.value)
    assert provider.refreshed == ["stale"] and len(api.calls) == 2


def test_403_is_not_refreshed(api, sleeps):
    api.get(url("sleep"), status=403, json={"error": {"code": 403, "status": "PERMISSION_DENIED",
                                                      "message": "Request had insufficient authentication scopes."}})
    provider = RecordingProvider(["only"])
    with pytest.raises(AuthError, match="insufficient authentication scopes"):
        list(client(sleeps, provider).list_data_points("sleep", *WINDOW))
    assert provider.refreshed == [] and len(api.calls) == 1


def test_a_plain_callable_provider_is_asked_again_after_a_401(api, sleeps):
    api.get(url("steps"), status=401, body=text("error_401.json"))
    api.get(url("steps"), body="{}")
    tokens = iter(["a", "b"])
    assert list(client(sleeps, lambda: next(tokens)).list_data_points("steps", *WINDOW)) == []
    assert [c.request.headers["Authorization"] for c in api.calls] == ["Bearer a", "Bearer b"]


def _provider(tmp_path: Path, *, expires_in: float) -> TokenProvider:
    store = TokenStore(tmp_path / "google_health.json")
    store.save(Tokens("access-old", "refresh-1", datetime.now(UTC) + timedelta(seconds=expires_in), "scope"))
    endpoint = TokenEndpoint(OAuthClient("client-id", "client-secret"),
                             HttpClient(sleep=lambda s: None, jitter=lambda: 0.0))
    return TokenProvider(store, endpoint)


@pytest.mark.parametrize("expires_in", [-10, 3600], ids=["expired-token", "401-on-a-valid-looking-token"])
def test_invalid_grant_raises_reauth_required_without_retrying(api, sleeps, tmp_path, expires_in):
    # given a stored token (expired, or one the API rejects) and a refresh token Google no longer accepts
    api.get(url("steps"), status=401, body=text("error_401.json"))
    api.post(TOKEN_URL, status=400, body=text("token_invalid_grant.json"))
    provider = _provider(tmp_path, expires_in=expires_in)

    # when reading
    with pytest.raises(ReauthRequired) as info:
        list(client(sleeps, provider).list_data_points("steps", *WINDOW))

    # then the person is told what to run, and the token endpoint was asked exactly once
    assert "tracker auth google-health" in str(info.value) and "7 days" in str(info.value)
    assert info.value.credential == "connection 'google_health'" and isinstance(info.value, AuthError)
    assert [c.request.url for c in api.calls].count(TOKEN_URL) == 1
    assert sleeps == []


def test_refreshed_token_is_used_and_persisted(api, sleeps, tmp_path):
    api.post(TOKEN_URL, body=text("token_refresh.json"))
    api.get(url("steps"), body="{}")
    provider = _provider(tmp_path, expires_in=-10)

    list(client(sleeps, provider).list_data_points("steps", *WINDOW))

    assert api.calls[1].request.headers["Authorization"] == "Bearer ya29.a0-refreshed-access-token"
    assert provider.store.load().refresh_token == "refresh-1"


# ------------------------------------------------------------------------------------------ rate limit
class FakeClock:
    def __init__(self) -> None:
        self.now, self.slept = 1000.0, []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def test_token_bucket_spaces_requests():
    clock = FakeClock()
    limiter = RateLimiter(per_minute=300, burst=5, clock=clock, sleep=clock.sleep)

    waits = [limiter.acquire() for _ in range(8)]

    # a burst of 5, then one request every 60/300 = 0.2 s
    assert [round(w, 6) for w in waits] == [0, 0, 0, 0, 0, 0.2, 0.2, 0.2]
    clock.now += 10  # idle time refills the bucket, but never beyond the burst
    assert [round(limiter.acquire(), 6) for _ in range(6)] == [0, 0, 0, 0, 0, 0.2]


def test_client_requests_go_through_the_limiter(api, sleeps):
    # given a 60-per-minute limit without bursts, and a listing of three pages
    clock = FakeClock()
    sent_at = []
    api.get(url("heart-rate"), body=text("heart_rate_page1.json"))
    api.get(url("heart-rate"), body=text("heart_rate_page2.json"))
    api.get(url("heart-rate"), body="{}")
    http = HttpClient(sleep=sleeps.append, jitter=lambda: 0.0)
    http.session.hooks["response"].append(lambda r, *a, **k: sent_at.append(clock.now))
    c = GoogleHealthClient(token_provider=lambda: "t", http=http,
                           limiter=RateLimiter(per_minute=60, burst=1, clock=clock, sleep=clock.sleep))

    list(c.list_data_points("heart-rate", *WINDOW))

    # then the requests were one second apart
    assert clock.slept == [1.0, 1.0]
    assert [t - sent_at[0] for t in sent_at] == [0.0, 1.0, 2.0]
