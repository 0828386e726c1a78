"""Open-Meteo response shape (pydantic v2) and the per-hour row the loader writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from tracker.http import MalformedResponseError

SOURCE = "Open-Meteo"
HOURLY_VARIABLES: tuple[str, ...] = (
    "temperature_2m", "apparent_temperature", "precipitation", "rain", "relative_humidity_2m",
    "wind_speed_10m", "weather_code", "is_day", "sunshine_duration",
)
Endpoint = Literal["archive", "forecast"]


class Hourly(BaseModel):
    """Columnar arrays: `time` plus one list per requested variable; null allowed in the values."""

    model_config = ConfigDict(extra="allow")
    time: list[datetime]
    temperature_2m: list[float | None]
    apparent_temperature: list[float | None]
    precipitation: list[float | None]
    rain: list[float | None]
    relative_humidity_2m: list[float | None]
    wind_speed_10m: list[float | None]
    weather_code: list[int | None]
    is_day: list[int | None]
    sunshine_duration: list[float | None]


class OpenMeteoResponse(BaseModel):
    """Top level of an archive/forecast answer. Unknown fields are kept, not rejected."""

    model_config = ConfigDict(extra="allow")
    latitude: float
    longitude: float
    utc_offset_seconds: int
    timezone: str
    generationtime_ms: float | None = None
    timezone_abbreviation: str | None = None
    elevation: float | None = None
    hourly_units: dict[str, str] = {}
    hourly: Hourly


@dataclass(frozen=True)
class HourlyRow:
    """One UTC hour at one location; `record` holds that hour's original values for the raw JSONB column."""

    observed_at: datetime
    temperature_2m: float | None
    apparent_temperature: float | None
    precipitation: float | None
    rain: float | None
    relative_humidity_2m: float | None
    wind_speed_10m: float | None
    weather_code: int | None
    is_day: int | None
    sunshine_duration: float | None
    endpoint: Endpoint
    record: dict[str, Any]


def _field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def parse_response(payload: Any) -> OpenMeteoResponse:
    """Validate a decoded body; any problem becomes a MalformedResponseError naming the field."""
    if not isinstance(payload, dict):
        raise MalformedResponseError("<root>", f"expected an object, got {type(payload).__name__}",
                                     source=SOURCE)
    try:
        parsed = OpenMeteoResponse.model_validate(payload)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise MalformedResponseError(_field_path(err["loc"]), err["msg"], source=SOURCE) from None
    n = len(parsed.hourly.time)
    for name, column in payload["hourly"].items():
        if isinstance(column, list) and len(column) != n:
            raise MalformedResponseError(f"hourly.{name}", f"{len(column)} values but {n} times",
                                         source=SOURCE)
    if parsed.utc_offset_seconds != 0:
        raise MalformedResponseError("utc_offset_seconds",
                                     f"expected 0 (GMT), got {parsed.utc_offset_seconds}", source=SOURCE)
    return parsed


def hourly_rows(payload: Any, endpoint: Endpoint) -> list[HourlyRow]:
    """All hours of a response (times in UTC) as rows, in the response's order."""
    parsed = parse_response(payload)
    hourly, raw = parsed.hourly, payload["hourly"]
    columns = {k: v for k, v in raw.items() if isinstance(v, list)}
    rows = []
    for i, t in enumerate(hourly.time):
        observed_at = t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
        values = {name: getattr(hourly, name)[i] for name in HOURLY_VARIABLES}
        record = {name: column[i] for name, column in columns.items()}
        rows.append(HourlyRow(observed_at=observed_at, endpoint=endpoint, record=record, **values))
    return rows
