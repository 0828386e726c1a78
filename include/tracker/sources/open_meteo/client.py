"""Open-Meteo client: hourly weather for a half-open UTC window, routed to the archive or forecast API."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tracker.http import HttpClient, MalformedResponseError, PermanentSourceError
from tracker.sources.open_meteo.models import HOURLY_VARIABLES, SOURCE, Endpoint, HourlyRow, hourly_rows

log = logging.getLogger(__name__)

MAX_PAST_DAYS = 92
MAX_FORECAST_DAYS = 16
_HOUR = timedelta(hours=1)


class OpenMeteoClient:
    """Hourly weather from Open-Meteo, always requested with `timezone=GMT`.

    GMT makes every returned `time` a UTC wall-clock hour: unambiguous across DST switches (no missing or
    repeated local hours). Local time is derived later, in dbt, from each location's IANA zone.

    Days older than `today - archive_lag_days` come from the archive (reanalysis) API; newer days from the
    forecast API via `past_days`, because the archive lags a few days behind.
    """

    def __init__(
        self,
        archive_url: str = "https://archive-api.open-meteo.com/v1/archive",
        forecast_url: str = "https://api.open-meteo.com/v1/forecast",
        http: HttpClient | None = None,
        archive_lag_days: int = 5,
    ) -> None:
        if not 0 <= archive_lag_days <= MAX_PAST_DAYS:
            raise ValueError(f"archive_lag_days must be within 0..{MAX_PAST_DAYS}")
        self.archive_url = archive_url
        self.forecast_url = forecast_url
        self.http = http or HttpClient()
        self.archive_lag_days = archive_lag_days

    def hourly(self, latitude: float, longitude: float, start: datetime, end: datetime, *,
               today: date | None = None) -> list[HourlyRow]:
        """One row per UTC hour with start <= observed_at < end (tz-aware bounds), oldest first.

        `today` (UTC date, default now) decides the archive/forecast split; a window spanning it is split
        by day and the parts concatenated. Raises MalformedResponseError if an hour of the window is missing.
        """
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("start and end must be timezone-aware")
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        if start >= end:
            return []
        today = today or datetime.now(UTC).date()
        first_day, last_day = start.date(), (end - timedelta(microseconds=1)).date()
        boundary = today - timedelta(days=self.archive_lag_days)
        base = {"latitude": latitude, "longitude": longitude, "hourly": ",".join(HOURLY_VARIABLES),
                "timezone": "GMT"}
        rows: list[HourlyRow] = []
        if first_day < boundary:
            archive_end = min(last_day, boundary - timedelta(days=1))
            params = {**base, "start_date": first_day.isoformat(), "end_date": archive_end.isoformat()}
            rows += self._fetch(self.archive_url, params, "archive")
        if last_day >= boundary:
            first = max(first_day, boundary)
            past_days = max(0, (today - first).days)
            forecast_days = max(1, (last_day - today).days + 1)
            if past_days > MAX_PAST_DAYS or forecast_days > MAX_FORECAST_DAYS:
                raise ValueError(f"days {first}..{last_day} exceed the forecast API's range from {today}")
            params = {**base, "past_days": past_days, "forecast_days": forecast_days}
            rows += self._fetch(self.forecast_url, params, "forecast")
        rows = sorted((r for r in rows if start <= r.observed_at < end), key=lambda r: r.observed_at)
        _check_complete(rows, start, end)
        return rows

    def ping(self) -> bool:
        """True when the archive API answers a one-day request with hourly data; never raises."""
        params = {"latitude": 52.52, "longitude": 13.41, "start_date": "2024-01-01", "end_date": "2024-01-01",
                  "hourly": "temperature_2m", "timezone": "GMT"}
        try:
            body = self.http.get_json(self.archive_url, params, max_retries=0)
            return isinstance(body, dict) and isinstance(body.get("hourly"), dict)
        except Exception as exc:  # a pre-check reports, it does not fail
            log.warning("Open-Meteo ping failed: %s", exc)
            return False

    def _fetch(self, url: str, params: dict[str, Any], endpoint: Endpoint) -> list[HourlyRow]:
        body = self.http.get_json(url, params)
        if isinstance(body, dict) and body.get("error") is True:  # error body sent with a 2xx status
            reason = str(body.get("reason", "no reason given"))
            raise PermanentSourceError(f"{SOURCE} {endpoint} error: {reason}", reason=reason)
        return hourly_rows(body, endpoint)


def _check_complete(rows: list[HourlyRow], start: datetime, end: datetime) -> None:
    """Every whole UTC hour in [start, end) must be present exactly once."""
    hour = start.replace(minute=0, second=0, microsecond=0)
    hour = hour if hour >= start else hour + _HOUR
    expected = []
    while hour < end:
        expected.append(hour)
        hour += _HOUR
    got = [r.observed_at for r in rows]
    if got != expected:
        missing = sorted(set(expected) - set(got))
        detail = (f"{len(missing)} hour(s) of the window missing, first {missing[0].isoformat()}" if missing
                  else f"duplicate or off-the-hour times: {len(got)} rows for {len(expected)} hours")
        raise MalformedResponseError("hourly.time", detail, source=SOURCE)
