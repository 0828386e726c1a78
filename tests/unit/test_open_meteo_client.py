"""OpenMeteoClient + the shared HttpClient against recorded Open-Meteo responses (no network)."""

from __future__ import annotations

import copy
import json
import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests
import responses
from tracker.http import (
    AuthError,
    HttpClient,
    MalformedResponseError,
    PermanentSourceError,
    TransientSourceError,
    retry_after_seconds,
)
from tracker.sources.open_meteo import HOURLY_VARIABLES, OpenMeteoClient

FIXTURES = Path(__file__).parents[1] / "fixtures" / "open_meteo"
ARCHIVE = "https://archive-api.open-meteo.com/v1/archive"
FORECAST = "https://api.open-meteo.com/v1/forecast"
BERLIN = (52.52, 13.41)
TODAY = date(2026, 11, 23)


def text(name: str) -> str:
    return (FIXTURES / name).read_text()


def load(name: str) -> dict:
    return json.loads(text(name))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def query(call) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


def client(sleeps: list[float], *, retries: int = 3, lag: int = 5, max_wait: float = 60.0) -> OpenMeteoClient:
    http = HttpClient(sleep=sleeps.append, jitter=lambda: 0.0, max_retries=retries, max_wait=max_wait)
    return OpenMeteoClient(http=http, archive_lag_days=lag)


# ------------------------------------------------------------------------------------------ happy path
def test_archive_window_is_half_open_and_values_parsed(api, sleeps):
    # given a recorded 48-hour archive answer for 2026-03-28..29 (GMT)
    api.get(ARCHIVE, body=text("archive_berlin_2026-03-28.json"))
    recorded = load("archive_berlin_2026-03-28.json")["hourly"]

    # when asking for [06:00 on the 28th, 03:00 on the 29th)
    rows = client(sleeps).hourly(*BERLIN, utc(2026, 3, 28, 6), utc(2026, 3, 29, 3), today=TODAY)

    # then exactly one archive call with UTC dates and all nine variables was made
    assert len(api.calls) == 1
    assert api.calls[0].request.url.startswith(ARCHIVE)
    assert query(api.calls[0]) == {
        "latitude": "52.52", "longitude": "13.41", "hourly": ",".join(HOURLY_VARIABLES),
        "timezone": "GMT", "start_date": "2026-03-28", "end_date": "2026-03-29",
    }
    # and the rows are the 21 hours with start <= observed_at < end, in UTC
    assert len(rows) == 21
    assert rows[0].observed_at == utc(2026, 3, 28, 6)
    assert rows[-1].observed_at == utc(2026, 3, 29, 2)
    assert all(r.observed_at.utcoffset().total_seconds() == 0 for r in rows)
    first = rows[0]
    assert (first.temperature_2m, first.apparent_temperature, first.relative_humidity_2m) == (5.2, 0.5, 83.0)
    assert (first.weather_code, first.is_day, first.sunshine_duration) == (1, 1, 2556.79)
    assert first.endpoint == "archive"
    assert isinstance(first.weather_code, int)
    assert first.record == {"time": "2026-03-28T06:00", **{v: recorded[v][6] for v in HOURLY_VARIABLES}}
    rainy = rows[13 - 6]
    assert (rainy.precipitation, rainy.rain, rainy.weather_code) == (1.4, 1.4, 63)


def test_window_given_in_local_time_across_the_dst_switch(api, sleeps):
    # given the same recorded answer and a Berlin-local window over the night clocks jumped 02:00 -> 03:00
    api.get(ARCHIVE, body=text("archive_berlin_2026-03-28.json"))
    berlin = ZoneInfo("Europe/Berlin")

    # when asking for [00:00 CET, 04:00 CEST) on 2026-03-29 (only three real hours)
    rows = client(sleeps).hourly(*BERLIN, datetime(2026, 3, 29, 0, tzinfo=berlin),
                                 datetime(2026, 3, 29, 4, tzinfo=berlin), today=TODAY)

    # then the UTC request spans both UTC days and exactly three rows come back
    q = query(api.calls[0])
    assert (q["start_date"], q["end_date"]) == ("2026-03-28", "2026-03-29")
    assert [r.observed_at for r in rows] == [utc(2026, 3, 28, 23), utc(2026, 3, 29, 0), utc(2026, 3, 29, 1)]


def test_unknown_extra_fields_are_tolerated(api, sleeps):
    # given an answer with top-level fields the model does not know (model_run, daily_units, daily)
    body = load("archive_extra_field.json")
    assert {"model_run", "daily_units", "daily"} <= body.keys()
    api.get(ARCHIVE, json=body)

    # when fetching its day
    rows = client(sleeps).hourly(*BERLIN, utc(2026, 3, 28), utc(2026, 3, 29), today=TODAY)

    # then all 24 hours parse with the recorded values
    assert len(rows) == 24
    assert [r.temperature_2m for r in rows] == body["hourly"]["temperature_2m"]


# ------------------------------------------------------------------------------------------- routing
def test_recent_window_uses_forecast_with_past_days_and_is_filtered(api, sleeps):
    # given a forecast answer with past_days=2, forecast_days=1 (72 hours, 2026-11-21..23)
    api.get(FORECAST, body=text("forecast_berlin_2026-11-23_past2.json"))

    # when asking for [2026-11-21T05:00, 2026-11-23T00:00) with a 2-day archive lag
    rows = client(sleeps, lag=2).hourly(*BERLIN, utc(2026, 11, 21, 5), utc(2026, 11, 23), today=TODAY)

    # then only the forecast API was asked, and the rows are cut to the window
    assert [c.request.url.split("?")[0] for c in api.calls] == [FORECAST]
    q = query(api.calls[0])
    assert (q["past_days"], q["forecast_days"], q["timezone"]) == ("2", "1", "GMT")
    assert "start_date" not in q and "end_date" not in q
    assert len(rows) == 43
    assert (rows[0].observed_at, rows[-1].observed_at) == (utc(2026, 11, 21, 5), utc(2026, 11, 22, 23))
    assert {r.endpoint for r in rows} == {"forecast"}


def test_window_straddling_the_archive_lag_is_split_and_concatenated(api, sleeps):
    # given an archive day (2026-11-20) and a forecast answer from 2026-11-21;
    # today is 11-23 and the lag 2 days, so 11-21 is the first forecast day
    api.get(ARCHIVE, body=text("archive_berlin_2026-11-20.json"))
    api.get(FORECAST, body=text("forecast_berlin_2026-11-23_past2.json"))

    # when asking for [2026-11-20T12:00, 2026-11-22T00:00)
    rows = client(sleeps, lag=2).hourly(*BERLIN, utc(2026, 11, 20, 12), utc(2026, 11, 22), today=TODAY)

    # then the archive got exactly the old day and the forecast the rest
    by_url = {c.request.url.split("?")[0]: query(c) for c in api.calls}
    assert set(by_url) == {ARCHIVE, FORECAST}
    assert (by_url[ARCHIVE]["start_date"], by_url[ARCHIVE]["end_date"]) == ("2026-11-20", "2026-11-20")
    assert (by_url[FORECAST]["past_days"], by_url[FORECAST]["forecast_days"]) == ("2", "1")
    # and the rows are continuous, hour by hour, archive first
    assert len(rows) == 36
    assert [r.endpoint for r in rows] == ["archive"] * 12 + ["forecast"] * 24
    assert [r.observed_at for r in rows] == [utc(2026, 11, 20, 12) + timedelta(hours=h) for h in range(36)]


def test_null_values_are_preserved_as_none(api, sleeps):
    # given an archive day whose last three hours (lag) and one sunshine value are null
    api.get(ARCHIVE, body=text("archive_berlin_2026-11-20.json"))

    # when fetching that day
    rows = client(sleeps, lag=2).hourly(*BERLIN, utc(2026, 11, 20), utc(2026, 11, 21), today=TODAY)

    # then nulls stay None (not 0) in both the typed fields and the raw record
    assert len(rows) == 24
    assert all(getattr(rows[h], v) is None for h in (21, 22, 23) for v in HOURLY_VARIABLES)
    assert rows[21].record["temperature_2m"] is None and rows[21].record["time"] == "2026-11-20T21:00"
    assert rows[12].sunshine_duration is None and rows[12].temperature_2m is not None
    assert rows[20].temperature_2m is not None


def test_naive_datetimes_are_rejected(sleeps):
    with pytest.raises(ValueError, match="timezone-aware"):
        client(sleeps).hourly(*BERLIN, datetime(2026, 3, 28), datetime(2026, 3, 29), today=TODAY)


# ------------------------------------------------------------------------------------ retries / errors
def test_429_is_retried_after_the_retry_after_seconds(api, sleeps):
    # given the API rate-limits once with Retry-After: 7, then answers
    api.get(ARCHIVE, status=429, json={"error": True, "reason": "Too many requests"},
            headers={"Retry-After": "7"})
    api.get(ARCHIVE, body=text("archive_berlin_2026-03-28.json"))

    # when fetching
    rows = client(sleeps).hourly(*BERLIN, utc(2026, 3, 28), utc(2026, 3, 30), today=TODAY)

    # then it slept exactly the advertised 7 s once and returned the data
    assert sleeps == [7.0]
    assert len(api.calls) == 2
    assert len(rows) == 48


def test_retry_after_is_capped_by_max_wait(api, sleeps):
    api.get(ARCHIVE, status=429, headers={"Retry-After": "3600"})
    api.get(ARCHIVE, body=text("archive_berlin_2026-03-28.json"))

    client(sleeps, max_wait=30).hourly(*BERLIN, utc(2026, 3, 28), utc(2026, 3, 29), today=TODAY)

    assert sleeps == [30.0]


def test_retry_after_accepts_an_http_date():
    now = datetime(2026, 3, 28, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("Sat, 28 Mar 2026 12:00:45 GMT", now=now) == 45.0
    assert retry_after_seconds("Sat, 28 Mar 2026 11:00:00 GMT", now=now) == 0.0
    assert retry_after_seconds("soon", now=now) is None


def test_500_is_retried_with_backoff_then_transient(api, sleeps):
    # given the server keeps failing
    api.get(ARCHIVE, status=500, body="upstream exploded")

    # when fetching with 3 retries (jitter pinned to 0)
    with pytest.raises(TransientSourceError) as err:
        client(sleeps, retries=3).hourly(*BERLIN, utc(2026, 3, 28), utc(2026, 3, 29), today=TODAY)

    # then it tried 4 times with exponential (equal-jitter) backoff, and says why
    assert len(api.calls) == 4
    assert sleeps == [0.5, 1.0, 2.0]
    assert err.value.status == 500
    assert "HTTP 500" in str(err.value) and "upstream exploded" in str(err.value)


def test_timeout_is_retried_then_transient(api, sleeps):
    # given every request times out
    api.get(ARCHIVE, body=requests.exceptions.ReadTimeout("Read timed out. (read timeout=30)"))

    # when fetching with 2 retries
    with pytest.raises(TransientSourceError, match="ReadTimeout"):
        client(sleeps, retries=2).hourly(*BERLIN, utc(2026, 3, 28), utc(2026, 3, 29), today=TODAY)

    # then 3 attempts, each with explicit (connect, read) timeouts
    assert len(api.calls) == 3
    assert len(sleeps) == 2
    assert api.calls[0].request.req_kwargs["timeout"] == (5.0, 30.0)


def test_truncated_json_is_retried_then_transient(api, sleeps):
    # given a 200 whose body was cut off mid-array
    with pytest.raises(json.JSONDecodeError):
        json.loads(text("archive_truncated.json"))
    api.get(ARCHIVE, body=text("archive_truncated.json"))

    # when fetching
    with pytest.raises(TransientSourceError, match="invalid JSON"):
        client(sleeps, retries=2).hourly(*BERLIN, utc(2026, 3, 28), utc(2026, 3, 29), today=TODAY)

    # then it was retried like any transient failure
    assert len(api.calls) == 3


def test_truncated_json_once_then_good_succeeds(api, sleeps):
    api.get(ARCHIVE, body=text("archive_truncated.json"))
    api.get(ARCHIVE, body=text("archive_berlin_2026-03-28.json"))

    rows = client(sleeps).hourly(*BERLIN, utc(2026, 3, 28), utc(2026, 3, 29), today=TODAY)

    assert len(rows) == 24 and len(api.calls) == 2 and len(sleeps) == 1


def _without(field: str) -> dict:
    body = load("archive_berlin_2026-03-28.json")
    del body["hourly"][field]
    return body


@pytest.mark.parametrize(("body", "field"), [
    (load("archive_missing_hourly_time.json"), "hourly.time"),
    (_without("rain"), "hourly.rain"),
])
def test_missing_field_is_malformed_and_named(api, sleeps, body, field):
    # given an answer lacking a required array
    api.get(ARCHIVE, json=body)

    # when fetching
    with pytest.raises(MalformedResponseError) as err:
        client(sleeps).hourly(*BERLIN, utc(2026, 3, 28), utc(2026, 3, 29), today=TODAY)

    # then the error names the field, and nothing was retried
    assert err.value.field == field
    assert repr(field) in str(err.value)
    assert len(api.calls) == 1 and sleeps == []


def test_arrays_of_unequal_length_are_malformed(api, sleeps):
    body = load("archive_berlin_2026-03-28.json")
    body["hourly"]["wind_speed_10m"].pop()
    api.get(ARCHIVE, json=body)

    with pytest.raises(MalformedResponseError) as err:
        client(sleeps).hourly(*BERLIN, utc(2026, 3, 28), utc(2026, 3, 29), today=TODAY)

    assert err.value.field == "hourly.wind_speed_10m"
    assert "47 values but 48 times" in str(err.value)


def test_an_hour_missing_from_the_window_is_malformed(api, sleeps):
    # given an answer that silently skips 2026-03-28T10:00
    body = load("archive_berlin_2026-03-28.json")
    for column in body["hourly"].values():
        del column[10]
    api.get(ARCHIVE, json=body)

    with pytest.raises(MalformedResponseError, match="2026-03-28T10:00"):
        client(sleeps).hourly(*BERLIN, utc(2026, 3, 28), utc(2026, 3, 29), today=TODAY)


def test_non_gmt_answer_is_rejected(api, sleeps):
    body = copy.deepcopy(load("archive_berlin_2026-03-28.json"))
    body.update(utc_offset_seconds=3600, timezone="Europe/Berlin", timezone_abbreviation="CET")
    api.get(ARCHIVE, json=body)

    with pytest.raises(MalformedResponseError) as err:
        client(sleeps).hourly(*BERLIN, utc(2026, 3, 28), utc(2026, 3, 29), today=TODAY)

    assert err.value.field == "utc_offset_seconds"


def test_400_error_body_is_permanent_with_reason(api, sleeps):
    # given Open-Meteo's error body with HTTP 400
    api.get(ARCHIVE, status=400, body=text("error_end_before_start.json"))

    # when fetching
    with pytest.raises(PermanentSourceError) as err:
        client(sleeps).hourly(*BERLIN, utc(2026, 3, 28), utc(2026, 3, 29), today=TODAY)

    # then the API's reason is carried, it is not an auth problem, and there was no retry
    assert err.value.reason == "End-date must be larger or equals than start-date"
    assert err.value.reason in str(err.value) and "HTTP 400" in str(err.value)
    assert err.value.status == 400
    assert not isinstance(err.value, (AuthError, MalformedResponseError, TransientSourceError))
    assert len(api.calls) == 1 and sleeps == []


# ---------------------------------------------------------------------------------- shared HTTP layer
@pytest.mark.parametrize("status", [401, 403])
def test_401_and_403_are_auth_errors_naming_the_connection(api, sleeps, status):
    api.get("https://api.example.test/me", status=status, json={"message": "Bad credentials"})
    http = HttpClient(sleep=sleeps.append, credential="github")

    with pytest.raises(AuthError) as err:
        http.get_json("https://api.example.test/me")

    assert "fix connection 'github'" in str(err.value) and "Bad credentials" in str(err.value)
    assert isinstance(err.value, PermanentSourceError) and len(api.calls) == 1


def test_403_rate_limit_is_retried_not_an_auth_error(api, sleeps):
    # given GitHub's way of rate limiting: 403 with X-RateLimit-Remaining: 0 and a reset time
    api.get("https://api.example.test/events", status=403, json={"message": "API rate limit exceeded"},
            headers={"X-RateLimit-Remaining": "0", "Retry-After": "12"})
    api.get("https://api.example.test/events", json=[{"id": "1"}])
    http = HttpClient(sleep=sleeps.append, credential="github")

    assert http.get_json("https://api.example.test/events") == [{"id": "1"}]
    assert sleeps == [12.0]


def test_secret_params_never_reach_logs_or_errors(api, sleeps, caplog):
    # given a failing request whose params and exception text carry an api key
    url = "https://ws.example.test/2.0/"
    api.get(url, body=requests.exceptions.ConnectionError(
        "Max retries exceeded with url: /2.0/?method=user.getrecenttracks&api_key=SuperSecret123"))
    http = HttpClient(sleep=sleeps.append, jitter=lambda: 0.0, max_retries=1)

    # when it fails for good
    with caplog.at_level(logging.DEBUG, logger="tracker.http"), pytest.raises(TransientSourceError) as err:
        http.get_json(url, {"method": "user.getrecenttracks", "api_key": "SuperSecret123", "token": "tok-42"})

    # then neither the logs nor the error (nor a chained cause) show the secrets, but the rest is there
    assert caplog.records, "the retry should have been logged"
    shown = caplog.text + str(err.value) + repr(err.value.__cause__)
    assert "SuperSecret123" not in shown and "tok-42" not in shown
    assert "user.getrecenttracks" in caplog.text and "'api_key': '***'" in caplog.text
    assert "api_key=***" in str(err.value)


def test_ping_reports_health_without_raising(api, sleeps):
    api.get(ARCHIVE, body=text("archive_berlin_2026-03-28.json"))
    assert client(sleeps).ping() is True
    assert query(api.calls[0])["hourly"] == "temperature_2m"

    api.replace(responses.GET, ARCHIVE, status=503)
    assert client(sleeps).ping() is False
    assert len(api.calls) == 2 and sleeps == []  # a pre-check does not retry

    api.replace(responses.GET, ARCHIVE, body=requests.exceptions.ConnectionError("refused"))
    assert client(sleeps).ping() is False
