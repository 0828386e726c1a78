"""Deterministic fake Open-Meteo: plausible seasonal hourly weather in the real response format.

Every value is a pure function of (location rounded to 0.1°, UTC hour), so repeated requests agree and the
archive and forecast endpoints agree on overlapping hours. Demo-only simplifications: `timezone=auto` is
treated as GMT, `utc_offset_seconds`/`timezone_abbreviation` of a named zone are those of the first hour,
the archive returns null for the last 2 days (its data lag) and at most 366 days per request.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UNITS = {
    "temperature_2m": "°C", "apparent_temperature": "°C", "precipitation": "mm", "rain": "mm",
    "relative_humidity_2m": "%", "wind_speed_10m": "km/h", "weather_code": "wmo code", "is_day": "",
    "sunshine_duration": "s",
}
ARCHIVE_START = date(1940, 1, 1)
ARCHIVE_NULL_DAYS = 2
MAX_ARCHIVE_DAYS = 366
Answer = tuple[int, dict[str, Any]]


class BadRequest(ValueError):
    """Becomes Open-Meteo's `{"error": true, "reason": ...}` with HTTP 400."""


# ------------------------------------------------------------------------------------------ the weather
def _u(*key: object) -> float:
    """A uniform number in [0, 1) seeded by `key`."""
    digest = hashlib.blake2b(repr(key).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _smooth(name: str, loc: tuple[float, float], x: float, period: float) -> float:
    """Value noise in [0, 1): cosine interpolation between seeded knots every `period` units of x."""
    k, frac = divmod(x / period, 1.0)
    w = (1 - math.cos(math.pi * frac)) / 2
    return _u(name, loc, int(k)) * (1 - w) + _u(name, loc, int(k) + 1) * w


def _half_day_hours(lat: float, doy: float) -> float:
    """Half the day length in hours (simple declination formula; polar day/night clipped)."""
    decl = math.radians(-23.44) * math.cos(2 * math.pi * (doy + 10) / 365.0)
    x = -math.tan(math.radians(lat)) * math.tan(decl)
    return 12.0 if x <= -1 else 0.0 if x >= 1 else math.degrees(math.acos(x)) / 15.0


def _daylight(lat: float, lon: float, t: datetime) -> bool:
    doy = t.timetuple().tm_yday + t.hour / 24
    solar = (t.hour + t.minute / 60 + lon / 15.0) % 24
    return abs(solar - 12.0) < _half_day_hours(lat, doy)


def weather_at(lat: float, lon: float, t: datetime) -> dict[str, float | int]:
    """All nine hourly variables for the hour ending at UTC time `t` (Open-Meteo's convention)."""
    loc = (round(lat, 1), round(lon, 1))
    hours = t.timestamp() / 3600
    doy = t.timetuple().tm_yday + t.hour / 24
    # +1 in mid-July in the north, mid-January in the south
    season = math.cos(2 * math.pi * (doy - 200) / 365.25) * (1 if lat >= 0 else -1)
    cloud = _smooth("cloud", loc, hours, 9.0) ** (1.0 + 0.6 * season)  # cloudier winters
    spell = _u("spell", loc, int(hours // 6)) < 0.13 + 0.05 * cloud
    precip = 0.0
    if spell and _u("gap", loc, int(hours)) > 0.15:
        precip = round(0.1 + 1.6 * _u("rain", loc, int(hours)) ** 2.5, 1)
        cloud = max(cloud, 0.95)
    solar = (t.hour + t.minute / 60 + lon / 15.0) % 24
    diurnal = math.cos(2 * math.pi * (solar - 15.0) / 24)
    temp = (28.0 - 0.35 * abs(lat) + min(0.2 * abs(lat), 18.0) * season
            + (_smooth("synoptic", loc, hours, 60.0) - 0.5) * 8.0
            + (2.0 + 4.0 * (1 - cloud)) * diurnal - (1.5 if precip else 0.0)
            + (_u("t", loc, int(hours)) - 0.5) * 0.6)
    snow = temp < 0.5
    rh = 75 - 8 * season * min(1.0, abs(lat) / 45) - 15 * diurnal * (1 - 0.5 * cloud)
    rh = max(88 + 10 * _u("rh", loc, int(hours)), rh) if precip else rh
    rh = int(round(min(100.0, max(20.0, rh))))
    wind = (4 + 22 * _smooth("wind", loc, hours, 30.0) ** 1.5 + 4 * _u("gust", loc, int(hours))
            + (3 if precip else 0))
    vapour = rh / 100 * 6.105 * math.exp(17.27 * temp / (237.7 + temp))
    apparent = temp + 0.33 * vapour - 0.70 * wind / 3.6 - 4.0  # Steadman, shade
    is_day = _daylight(lat, lon, t)
    sunshine = 0.0
    if is_day and not precip:
        lit = sum(_daylight(lat, lon, t - timedelta(minutes=5 * k)) for k in range(12)) / 12
        sunshine = round(3600 * lit * min(1.0, max(0.0, 1.25 * (1 - cloud))), 2)
    if precip:
        thresholds = (0.2, 1.0, 2.5)
        codes = (71, 71, 73, 75) if snow else (51, 61, 63, 65)
        code = codes[sum(precip >= x for x in thresholds)]
    else:
        code = 0 if cloud < 0.2 else 1 if cloud < 0.45 else 2 if cloud < 0.75 else 3
    return {
        "temperature_2m": round(temp, 1), "apparent_temperature": round(apparent, 1),
        "precipitation": precip, "rain": 0.0 if snow else precip, "relative_humidity_2m": rh,
        "wind_speed_10m": round(wind, 1), "weather_code": code, "is_day": int(is_day),
        "sunshine_duration": sunshine,
    }


# ---------------------------------------------------------------------------------------- request layer
def _one(params: Mapping[str, str | Sequence[str]], key: str) -> str | None:
    value = params.get(key)
    if isinstance(value, list | tuple):
        return ",".join(value) if key == "hourly" else (value[0] if value else None)
    return value


def _float(params: Mapping[str, Any], key: str, limit: float) -> float:
    raw = _one(params, key)
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise BadRequest(f"Value of type 'Float' required for key '{key}'.") from None
    if not -limit <= value <= limit:
        raise BadRequest(f"{key.capitalize()} must be in range of -{limit:g} to {limit:g}°. Given: {value}.")
    return value


def _int(params: Mapping[str, Any], key: str, default: int, high: int, label: str) -> int:
    raw = _one(params, key)
    try:
        value = default if raw is None else int(raw)
    except ValueError:
        raise BadRequest(f"Value of type 'Int' required for key '{key}'.") from None
    if not 0 <= value <= high:
        raise BadRequest(f"{label} is invalid. Allowed range 0 to {high}.")
    return value


def _date(params: Mapping[str, Any], key: str) -> date:
    raw = _one(params, key)
    if raw is None:
        raise BadRequest(f"Value of type 'String' required for key '{key}'.")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadRequest("Invalid date format. Make sure to use 'YYYY-MM-DD'") from None


def _zone(params: Mapping[str, Any]) -> tuple[str, tzinfo]:
    name = _one(params, "timezone") or "GMT"
    if name.upper() in ("GMT", "UTC", "AUTO"):
        return "GMT", UTC
    try:
        return name, ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadRequest("Invalid timezone") from None


def _variables(params: Mapping[str, Any]) -> list[str]:
    names = [v.strip() for v in (_one(params, "hourly") or "").split(",") if v.strip()]
    for name in names:
        if name not in UNITS:
            raise BadRequest(
                f"Cannot initialize WeatherVariable from invalid String value {name} for key hourly")
    return names


def _body(params: Mapping[str, Any], first: date, last: date, *, null_from: datetime | None = None) -> dict:
    """The response for local days first..last inclusive in the requested zone."""
    started = time.perf_counter()
    lat, lon = _float(params, "latitude", 90), _float(params, "longitude", 180)
    zone_name, zone = _zone(params)
    variables = _variables(params)
    t = datetime.combine(first, datetime.min.time(), zone).astimezone(UTC)
    stop = datetime.combine(last + timedelta(days=1), datetime.min.time(), zone).astimezone(UTC)
    hours = []
    while t < stop:
        hours.append(t)
        t += timedelta(hours=1)
    local0 = datetime.combine(first, datetime.min.time(), zone)
    offset = int(local0.utcoffset().total_seconds())
    body: dict[str, Any] = {
        "latitude": round(round(lat, 1), 6), "longitude": round(round(lon, 1), 6), "generationtime_ms": 0.0,
        "utc_offset_seconds": offset, "timezone": zone_name,
        "timezone_abbreviation": "GMT" if zone is UTC else local0.tzname(),
        "elevation": float(round(20 + 300 * _u("elevation", round(lat, 1), round(lon, 1)))),
    }
    if variables:
        body["hourly_units"] = {"time": "iso8601", **{v: UNITS[v] for v in variables}}
        hourly: dict[str, list] = {"time": [h.astimezone(zone).strftime("%Y-%m-%dT%H:%M") for h in hours]}
        hourly.update({v: [] for v in variables})
        for h in hours:
            values = None if null_from is not None and h >= null_from else weather_at(lat, lon, h)
            for v in variables:
                hourly[v].append(None if values is None else values[v])
        body["hourly"] = hourly
    body["generationtime_ms"] = (time.perf_counter() - started) * 1000
    return body


def _error(exc: BadRequest) -> Answer:
    return 400, {"reason": str(exc), "error": True}


def archive(params: Mapping[str, Any], *, today: date | None = None) -> Answer:
    """`/v1/archive`: start_date..end_date (local days, inclusive)."""
    today = today or datetime.now(UTC).date()
    try:
        first, last = _date(params, "start_date"), _date(params, "end_date")
        if last < first:
            raise BadRequest("End-date must be larger or equals than start-date")
        for key, value in (("start_date", first), ("end_date", last)):
            if not ARCHIVE_START <= value <= today:
                raise BadRequest(f"Parameter '{key}' is out of allowed range from {ARCHIVE_START} to {today}")
        if (last - first).days >= MAX_ARCHIVE_DAYS:
            raise BadRequest(f"Demo server: at most {MAX_ARCHIVE_DAYS} days per request")
        lag = datetime.combine(today - timedelta(days=ARCHIVE_NULL_DAYS), datetime.min.time(), UTC)
        return 200, _body(params, first, last, null_from=lag)
    except BadRequest as exc:
        return _error(exc)


def forecast(params: Mapping[str, Any], *, today: date | None = None) -> Answer:
    """`/v1/forecast`: `past_days` (0..92) before and `forecast_days` (0..16, default 7) from today."""
    try:
        past = _int(params, "past_days", 0, 92, "Past days")
        ahead = _int(params, "forecast_days", 7, 16, "Forecast days")
        _, zone = _zone(params)
        today = today or datetime.now(zone).date()
        return 200, _body(params, today - timedelta(days=past), today + timedelta(days=ahead - 1))
    except BadRequest as exc:
        return _error(exc)
