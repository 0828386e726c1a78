"""Open-Meteo → raw.open_meteo__hourly for every configured person and location in a window."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import orjson
import psycopg

from tracker.config import TrackerConfig
from tracker.sources.open_meteo.client import OpenMeteoClient
from tracker.sources.open_meteo.models import HourlyRow
from tracker.warehouse import quarantine
from tracker.warehouse.loader import LoadResult, RawTable, Window, load
from tracker.windows import ExtractWindow

log = logging.getLogger(__name__)

HOURLY = RawTable(
    schema="raw", name="open_meteo__hourly",
    columns={
        "person_id": "text", "location_name": "text", "latitude": "float8", "longitude": "float8",
        "location_timezone": "text", "observed_at": "timestamptz", "temperature_2m": "float4",
        "apparent_temperature": "float4", "precipitation": "float4", "rain": "float4",
        "relative_humidity_2m": "float4", "wind_speed_10m": "float4", "weather_code": "int2", "is_day": "int2",
        "sunshine_duration": "float4", "endpoint": "text", "record": "jsonb",
    },
    key=("person_id", "location_name", "observed_at"),
    window_column="observed_at",
)

# Physically possible ranges; values outside them are quarantined, not loaded.
LIMITS = {
    "temperature_2m": (-90, 60), "apparent_temperature": (-110, 80), "precipitation": (0, 500),
    "rain": (0, 500), "relative_humidity_2m": (0, 100), "wind_speed_10m": (0, 500),
    "sunshine_duration": (0, 3600), "weather_code": (0, 99), "is_day": (0, 1),
}


def invalid_reason(row: HourlyRow) -> str | None:
    for name, (low, high) in LIMITS.items():
        value = getattr(row, name)
        if value is not None and not low <= value <= high:
            return f"{name}={value} outside [{low}, {high}]"
    return None


@dataclass
class WeatherLoad:
    person_id: str
    location: str
    result: LoadResult
    quarantined: int


def extract_and_load(conn: psycopg.Connection, client: OpenMeteoClient, config: TrackerConfig,
                     window: ExtractWindow, run_id: str) -> list[WeatherLoad]:
    loads = []
    for person in config.people:
        for loc in person.locations:
            rows = client.hourly(loc.latitude, loc.longitude, window.start, window.end)
            good, rejected = [], []
            for row in rows:
                if reason := invalid_reason(row):
                    rejected.append(quarantine.Rejected(
                        locator=f"{loc.name}@{row.observed_at.isoformat()}", reason=reason,
                        record_at=row.observed_at,
                        raw_text=orjson.dumps(row.record).decode()))
                    continue
                good.append((person.id, loc.name, loc.latitude, loc.longitude, loc.timezone, row.observed_at,
                             row.temperature_2m, row.apparent_temperature, row.precipitation, row.rain,
                             row.relative_humidity_2m, row.wind_speed_10m, row.weather_code, row.is_day,
                             row.sunshine_duration, row.endpoint, row.record))
            result = load(conn, HOURLY, good, run_id=run_id, window=Window(
                window.start, window.end, {"person_id": person.id, "location_name": loc.name}))
            n_bad = quarantine.replace(conn, person_id=person.id, source="open_meteo", entity="hourly",
                                       run_id=run_id, rejected=rejected, window_start=window.start,
                                       window_end=window.end, locator_prefix=f"{loc.name}@")
            log.info("weather %s/%s %s: %s, quarantined %d", person.id, loc.name, window, result, n_bad)
            loads.append(WeatherLoad(person.id, loc.name, result, n_bad))
    return loads
