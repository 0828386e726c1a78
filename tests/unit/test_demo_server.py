"""The demo API server, read through the real OpenMeteoClient over real HTTP on 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from statistics import mean

import pytest
import requests
from tracker.demo import open_meteo as fake
from tracker.demo.server import default_routes, serve_in_thread
from tracker.http import HttpClient, PermanentSourceError
from tracker.sources.open_meteo import OpenMeteoClient

BERLIN = (52.52, 13.41)
TODAY = date(2026, 11, 23)


@pytest.fixture(scope="module")
def demo():
    server, base = serve_in_thread(routes=default_routes(today=TODAY))
    yield base
    server.shutdown()
    server.server_close()


@pytest.fixture
def weather(demo) -> OpenMeteoClient:
    return OpenMeteoClient(f"{demo}/open-meteo/v1/archive", f"{demo}/open-meteo/v1/forecast",
                           http=HttpClient(max_retries=0))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_server_binds_loopback_and_answers_healthz(demo):
    assert demo.startswith("http://127.0.0.1:")
    assert requests.get(f"{demo}/healthz", timeout=5).status_code == 200
    assert requests.get(f"{demo}/nope", timeout=5).status_code == 404


def test_three_day_window_gives_72_plausible_deterministic_rows(weather):
    # when fetching a three-day archive window twice
    window = (utc(2025, 7, 1), utc(2025, 7, 4))
    rows = weather.hourly(*BERLIN, *window, today=TODAY)
    again = weather.hourly(*BERLIN, *window, today=TODAY)

    # then there are 72 consecutive hours, identical both times
    assert len(rows) == 72
    assert [r.observed_at for r in rows] == [window[0] + timedelta(hours=h) for h in range(72)]
    assert rows == again
    # and every value is physically plausible and internally consistent
    for r in rows:
        assert -40 < r.temperature_2m < 45 and -50 < r.apparent_temperature < 50
        assert 0 <= r.rain <= r.precipitation < 30
        assert 0 <= r.relative_humidity_2m <= 100 and 0 <= r.wind_speed_10m < 120
        assert r.is_day in (0, 1) and 0 <= r.sunshine_duration <= 3600
        if r.sunshine_duration > 0:
            assert r.is_day == 1 and r.precipitation == 0
        assert (r.weather_code >= 51) == (r.precipitation > 0)
    assert any(r.is_day for r in rows) and not all(r.is_day for r in rows)


def test_berlin_summer_is_warmer_than_winter(weather):
    july = weather.hourly(*BERLIN, utc(2025, 7, 1), utc(2025, 7, 15), today=TODAY)
    january = weather.hourly(*BERLIN, utc(2025, 1, 1), utc(2025, 1, 15), today=TODAY)
    assert mean(r.temperature_2m for r in july) > mean(r.temperature_2m for r in january) + 10
    assert sum(r.is_day for r in july) > sum(r.is_day for r in january) + 14 * 5  # longer days


def test_straddling_window_matches_across_archive_and_forecast(weather):
    # given the default 5-day lag, 2026-11-17 is archive and 2026-11-18 forecast
    rows = weather.hourly(*BERLIN, utc(2026, 11, 17), utc(2026, 11, 19), today=TODAY)
    assert [r.endpoint for r in rows] == ["archive"] * 24 + ["forecast"] * 24
    # and both endpoints describe the same deterministic weather
    assert rows[0].temperature_2m == fake.weather_at(*BERLIN, rows[0].observed_at)["temperature_2m"]
    assert rows[30].temperature_2m == fake.weather_at(*BERLIN, rows[30].observed_at)["temperature_2m"]


def test_bad_parameters_get_open_meteo_error_bodies(demo, weather):
    resp = requests.get(f"{demo}/open-meteo/v1/archive",
                        params={"longitude": 13.4, "start_date": "2025-01-02", "end_date": "2025-01-01"},
                        timeout=5)
    assert resp.status_code == 400 and resp.json()["error"] is True

    status, body = fake.archive({"longitude": "13.4", "start_date": "2025-01-01", "end_date": "2025-01-01"},
                                today=TODAY)
    assert status == 400
    assert body == {"reason": "Value of type 'Float' required for key 'latitude'.", "error": True}
    status, body = fake.archive({"latitude": "52.5", "longitude": "13.4", "start_date": "2025-01-02",
                                 "end_date": "2025-01-01"}, today=TODAY)
    assert (status, body["reason"]) == (400, "End-date must be larger or equals than start-date")

    with pytest.raises(PermanentSourceError, match="out of allowed range"):
        weather.http.get_json(f"{demo}/open-meteo/v1/archive", {
            "latitude": 52.5, "longitude": 13.4, "start_date": "1900-01-01", "end_date": "1900-01-02"})


def test_response_format_and_named_timezone():
    # given a request in Europe/Berlin for the day clocks went forward
    status, body = fake.archive({"latitude": "52.52", "longitude": "13.41", "start_date": "2026-03-29",
                                 "end_date": "2026-03-29", "hourly": "temperature_2m,is_day",
                                 "timezone": "Europe/Berlin"}, today=TODAY)
    # then it has Open-Meteo's exact top-level keys, only the requested variables, and local times
    assert status == 200
    assert list(body) == ["latitude", "longitude", "generationtime_ms", "utc_offset_seconds", "timezone",
                          "timezone_abbreviation", "elevation", "hourly_units", "hourly"]
    assert (body["utc_offset_seconds"], body["timezone"], body["timezone_abbreviation"]) == (
        3600, "Europe/Berlin", "CET")
    assert body["hourly_units"] == {"time": "iso8601", "temperature_2m": "°C", "is_day": ""}
    times = body["hourly"]["time"]
    assert len(times) == 23 and "2026-03-29T02:00" not in times  # the skipped local hour
    assert times[:3] == ["2026-03-29T00:00", "2026-03-29T01:00", "2026-03-29T03:00"]


def test_forecast_in_gmt_covers_past_and_forecast_days():
    status, body = fake.forecast({"latitude": "52.52", "longitude": "13.41", "hourly": "rain",
                                  "past_days": "2", "forecast_days": "1", "timezone": "GMT"}, today=TODAY)
    assert status == 200 and body["utc_offset_seconds"] == 0
    assert (body["hourly"]["time"][0], body["hourly"]["time"][-1]) == ("2026-11-21T00:00", "2026-11-23T23:00")
    assert len(body["hourly"]["rain"]) == 72
    assert fake.forecast({"latitude": "1", "longitude": "1", "past_days": "93"}, today=TODAY)[0] == 400
