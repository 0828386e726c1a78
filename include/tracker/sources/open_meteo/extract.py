"""Open-Meteo → raw.open_meteo__hourly for every configured person and location in a window."""

from __future__ import annotations

import orjson
import psycopg

from tracker.config import TrackerConfig
from tracker.sources.contract import Clients, client_for
from tracker.sources.open_meteo.models import HourlyRow
from tracker.sources.open_meteo.tables import HOURLY
from tracker.warehouse import quarantine
from tracker.warehouse.loader import Window
from tracker.warehouse.loads import Load, QuarantineScope, load_validated
from tracker.windows import ExtractWindow

SOURCE = "open_meteo"


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


def extract_and_load(conn: psycopg.Connection, clients: Clients, config: TrackerConfig,
                     window: ExtractWindow, run_id: str) -> list[Load]:
    """Every configured location of every person (Open-Meteo has no accounts: `clients(None)`)."""
    client = client_for(clients, None)
    loads = []
    for person in config.people:
        for loc in person.locations:
            loads.append(load_validated(
                conn, HOURLY, client.hourly(loc.latitude, loc.longitude, window.start, window.end),
                to_row=lambda row, p=person, loc=loc: (
                    p.id, loc.name, loc.latitude, loc.longitude, loc.timezone, row.observed_at,
                    row.temperature_2m, row.apparent_temperature, row.precipitation, row.rain,
                    row.relative_humidity_2m, row.wind_speed_10m, row.weather_code, row.is_day,
                    row.sunshine_duration, row.endpoint, row.record),
                invalid=invalid_reason,
                reject=lambda row, reason, loc=loc: quarantine.Rejected(
                    locator=f"{loc.name}@{row.observed_at.isoformat()}", reason=reason, record_at=row.observed_at,
                    raw_text=orjson.dumps(row.record).decode()),
                run_id=run_id,
                window=Window(window.start, window.end, {"person_id": person.id, "location_name": loc.name}),
                quarantine_scope=QuarantineScope(SOURCE, "hourly", person.id, window.start, window.end,
                                                 locator_prefix=f"{loc.name}@"),
                scope=loc.name))
    return loads
