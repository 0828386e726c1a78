"""Google Health API v4 client: data points (paged, filtered per type), rollUp and dailyRollUp.

Built on the shared `HttpClient` (timeouts, 429/5xx retries with Retry-After/backoff). On top of it: a
client-side token bucket (the API allows 300 requests per minute per user), a Bearer token from a token
provider, and one refresh-and-retry on 401 before giving up with `AuthError` naming connection `google_health`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any

from tracker.http import AuthError, HttpClient, MalformedResponseError
from tracker.sources.google_health.models import (
    SOURCE,
    DailyRollupDataPoint,
    DataPoint,
    RollupDataPoint,
    parse_data_point,
    parse_rollup,
)

CREDENTIAL = "google_health"
BASE_URL = "https://health.googleapis.com"
MAX_PAGE_SIZE = 10_000
SESSION_PAGE_SIZE = 25  # exercise and sleep: default and maximum
WIDEST_UTC_OFFSET = timedelta(hours=14)
ROLLUP_MAX_DAYS = {"calories-in-heart-rate-zone": 14, "heart-rate": 14, "active-minutes": 14, "total-calories": 14}
ROLLUP_DEFAULT_MAX_DAYS = 90


class Kind(Enum):
    """How a data type can be filtered by time (the discovery doc's filter grammar, checked against practice)."""

    SAMPLE = "sample"  # {type}.sample_time.physical_time, RFC 3339 instants
    INTERVAL = "interval"  # {type}.interval.start_time, RFC 3339 instants
    SLEEP = "sleep"  # sleep.interval.end_time: sleep has end-based filters only
    ECG = "ecg"  # electrocardiogram.interval.start_time, `>=` only
    SESSION = "session"  # {type}.interval.civil_start_time: exercise & other sessions, civil times only
    DAILY = "daily"  # {type}.date, civil dates

    @property
    def member(self) -> str:
        return _MEMBERS[self]


_MEMBERS = {Kind.SAMPLE: "sample_time.physical_time", Kind.INTERVAL: "interval.start_time",
            Kind.SLEEP: "interval.end_time", Kind.ECG: "interval.start_time",
            Kind.SESSION: "interval.civil_start_time", Kind.DAILY: "date"}


DATA_TYPES: dict[str, Kind] = {
    **dict.fromkeys(("heart-rate", "heart-rate-variability", "oxygen-saturation", "respiratory-rate-sleep-summary",
                     "weight", "body-fat", "height", "vo2-max", "run-vo2-max", "blood-glucose",
                     "core-body-temperature"), Kind.SAMPLE),
    **dict.fromkeys(("steps", "distance", "floors", "altitude", "active-minutes", "active-zone-minutes",
                     "active-energy-burned", "basal-energy-burned", "sedentary-period", "swim-lengths-data",
                     "time-in-heart-rate-zone"), Kind.INTERVAL),
    **dict.fromkeys(("daily-resting-heart-rate", "daily-heart-rate-variability", "daily-oxygen-saturation",
                     "daily-respiratory-rate", "daily-heart-rate-zones", "daily-sleep-temperature-derivations",
                     "daily-vo2-max"), Kind.DAILY),
    **dict.fromkeys(("exercise", "hydration-log", "nutrition-log", "irregular-rhythm-notification"), Kind.SESSION),
    "sleep": Kind.SLEEP,
    "electrocardiogram": Kind.ECG,
}

Bound = date | datetime
Keep = Callable[[dict[str, Any]], bool]


class RateLimiter:
    """Token bucket: `per_minute` requests per minute on average, bursts of at most `burst`. Thread-safe."""

    def __init__(self, per_minute: float = 300, burst: int = 5, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("per_minute must be > 0 and burst >= 1")
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._clock, self._sleep = clock, sleep
        self._tokens, self._updated = self.burst, clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until one is available; returns the seconds slept."""
        with self._lock:
            self._refill()
            waited = 0.0
            if self._tokens < 1:
                waited = (1 - self._tokens) / self.rate
                self._sleep(waited)
                self._refill()
                self._tokens = max(self._tokens, 1.0)
            self._tokens -= 1
            return waited

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now


def _rfc3339(value: Bound, what: str) -> str:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValueError(f"{what} needs timezone-aware datetimes, got {value!r}")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _civil(value: Bound, what: str) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            raise ValueError(f"{what} needs civil (naive) times, got {value!r}")
        return value.replace(microsecond=0).isoformat()
    return value.isoformat()


def _day(value: Bound, what: str) -> str:
    if isinstance(value, datetime):
        raise ValueError(f"{what} filters by the user's civil date: pass datetime.date, got {value!r}")
    return value.isoformat()


def build_filter(data_type: str, start: Bound, end: Bound) -> tuple[str, Keep | None]:
    """The `filter` expression for [start, end) and a client-side predicate when the API cannot express it.

    Sample/interval types and sleep take tz-aware datetimes; daily types take dates (the user's civil days);
    exercise takes civil times (naive datetimes or dates) — or tz-aware datetimes, for which the civil range
    is widened by ±14 h (any UTC offset) and points are then kept by their physical start time.
    """
    kind = kind_of(data_type)
    member = f"{data_type.replace('-', '_')}.{kind.member}"
    what = f"{data_type} ({kind.name.lower()})"
    keep: Keep | None = None
    if kind is Kind.DAILY:
        low, high = _day(start, what), _day(end, what)
    elif kind is Kind.SESSION:
        if isinstance(start, datetime) and start.tzinfo is not None:
            phys_start, phys_end = start, end
            _rfc3339(end, what)
            start = start.astimezone(UTC).replace(tzinfo=None) - WIDEST_UTC_OFFSET
            end = end.astimezone(UTC).replace(tzinfo=None) + WIDEST_UTC_OFFSET
            keep = _physical_start_within(data_type, phys_start, phys_end)
        low, high = _civil(start, what), _civil(end, what)
    else:
        low, high = _rfc3339(start, what), _rfc3339(end, what)
    if kind is Kind.ECG:
        return f'{member} >= "{low}"', _physical_start_within(data_type, start, end)
    return f'{member} >= "{low}" AND {member} < "{high}"', keep


def _physical_start_within(data_type: str, start: Any, end: Any) -> Keep:
    key = _camel(data_type)

    def keep(raw: dict[str, Any]) -> bool:
        try:
            began = datetime.fromisoformat(raw[key]["interval"]["startTime"].replace("Z", "+00:00"))
        except (KeyError, TypeError, ValueError):
            return True  # let validation report the broken point
        return start <= began < end

    return keep


def _camel(data_type: str) -> str:
    first, *rest = data_type.split("-")
    return first + "".join(part.capitalize() for part in rest)


def kind_of(data_type: str) -> Kind:
    try:
        return DATA_TYPES[data_type]
    except KeyError:
        known = ", ".join(sorted(DATA_TYPES))
        raise ValueError(f"unknown Google Health data type {data_type!r}; known: {known}") from None


def page_size_for(data_type: str, requested: int | None = None) -> int:
    limit = SESSION_PAGE_SIZE if data_type in ("sleep", "exercise") else MAX_PAGE_SIZE
    return max(1, min(requested or limit, limit))


class GoogleHealthClient:
    """Reads one user's (`users/me`) data points and rollups. `token_provider()` returns a valid access token;
    if it also has `refresh(rejected=token)`, that is called once after a 401, before the request is retried."""

    def __init__(self, base_url: str = BASE_URL, token_provider: Callable[[], str] | None = None,
                 http: HttpClient | None = None, requests_per_minute: float = 300, *,
                 limiter: RateLimiter | None = None) -> None:
        if token_provider is None:
            raise ValueError("token_provider is required (see tracker.sources.google_health.oauth.TokenProvider)")
        self.base_url = base_url.rstrip("/")
        self.token_provider = token_provider
        self.http = http or HttpClient(credential=CREDENTIAL)
        self.limiter = limiter or RateLimiter(requests_per_minute)

    # ---------------------------------------------------------------------------------------- data points
    def list_data_points(self, data_type: str, start: Bound, end: Bound, *,
                         page_size: int | None = None) -> Iterator[DataPoint]:
        """Every point of `data_type` in [start, end), validated, in the API's order (newest first)."""
        for i, raw in enumerate(self.list_raw_data_points(data_type, start, end, page_size=page_size)):
            yield parse_data_point(raw, where=f"{data_type} dataPoints[{i}]", data_type=data_type)

    def list_raw_data_points(self, data_type: str, start: Bound, end: Bound, *,
                             page_size: int | None = None) -> Iterator[dict[str, Any]]:
        """The same points as received (dicts), for callers that validate and quarantine themselves."""
        expression, keep = build_filter(data_type, start, end)
        params = {"filter": expression, "pageSize": page_size_for(data_type, page_size)}
        url = f"{self.base_url}/v4/users/me/dataTypes/{data_type}/dataPoints"
        for page in self._pages("GET", url, params=params):
            yield from (p for p in _items(page, "dataPoints") if keep is None or keep(p))

    # ---------------------------------------------------------------------------------------- rollups
    def roll_up(self, data_type: str, start: datetime, end: datetime, window: timedelta = timedelta(hours=1), *,
                page_size: int | None = None) -> list[RollupDataPoint]:
        """Aggregates per physical `window` over [start, end), oldest first; long ranges are split into the
        API's maximum (14 days for heart-rate, total-calories, active-minutes, calories-in-heart-rate-zone;
        90 days otherwise), each part a multiple of `window`."""
        _rfc3339(start, "roll_up")
        _rfc3339(end, "roll_up")
        step = int(window.total_seconds())
        if step < 1 or step != window.total_seconds():
            raise ValueError("window must be a whole number of seconds >= 1")
        chunk = timedelta(seconds=max(step, _max_days(data_type) * 86400 // step * step))
        url = f"{self.base_url}/v4/users/me/dataTypes/{data_type}/dataPoints:rollUp"
        out: list[RollupDataPoint] = []
        part = start
        while part < end:
            part_end = min(part + chunk, end)
            body: dict[str, Any] = {"range": {"startTime": _rfc3339(part, ""), "endTime": _rfc3339(part_end, "")},
                                    "windowSize": f"{step}s"}
            if page_size:
                body["pageSize"] = page_size
            for page in self._pages("POST", url, body=body):
                out += [parse_rollup(r, RollupDataPoint) for r in _items(page, "rollupDataPoints")]
            part = part_end
        return sorted(out, key=lambda r: r.start_time)

    def daily_roll_up(self, data_type: str, start: date, end: date, window_days: int = 1, *,
                      page_size: int | None = None) -> list[DailyRollupDataPoint]:
        """Aggregates per `window_days` civil days over [start, end) in the user's time zone, oldest first."""
        _day(start, "daily_roll_up")
        _day(end, "daily_roll_up")
        if window_days < 1:
            raise ValueError("window_days must be >= 1")
        chunk = timedelta(days=max(window_days, _max_days(data_type) // window_days * window_days))
        url = f"{self.base_url}/v4/users/me/dataTypes/{data_type}/dataPoints:dailyRollUp"
        out: list[DailyRollupDataPoint] = []
        part = start
        while part < end:
            part_end = min(part + chunk, end)
            body: dict[str, Any] = {"range": {"start": {"date": _ymd(part)}, "end": {"date": _ymd(part_end)}},
                                    "windowSizeDays": window_days}
            if page_size:
                body["pageSize"] = page_size
            for page in self._pages("POST", url, body=body):
                out += [parse_rollup(r, DailyRollupDataPoint) for r in _items(page, "rollupDataPoints")]
            part = part_end
        return sorted(out, key=lambda r: r.date)

    # ---------------------------------------------------------------------------------------- plumbing
    def _pages(self, method: str, url: str, *, params: dict[str, Any] | None = None,
               body: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Follow nextPageToken until it is empty or absent; a last page may be literally `{}`."""
        token, seen = "", set()
        while True:
            if token:
                if params is not None:
                    params = {**params, "pageToken": token}
                if body is not None:
                    body = {**body, "pageToken": token}
            page = self._request(method, url, params=params, body=body)
            if page is None:
                return
            if not isinstance(page, dict):
                raise MalformedResponseError("<root>", f"expected an object, got {type(page).__name__}",
                                             source=SOURCE)
            yield page
            token = page.get("nextPageToken") or ""
            if not token:
                return
            if token in seen:
                raise MalformedResponseError("nextPageToken", f"repeated token {token[:20]!r}", source=SOURCE)
            seen.add(token)

    def _request(self, method: str, url: str, *, params: dict[str, Any] | None, body: Any) -> Any:
        access = self.token_provider()
        for attempt in range(2):
            self.limiter.acquire()
            try:
                return self.http.request_json(method, url, params=params, json=body,
                                              headers={"Authorization": f"Bearer {access}"}).data
            except AuthError as exc:
                if exc.status != 401 or attempt == 1:
                    raise AuthError(self.http.credential or CREDENTIAL, status=exc.status, reason=exc.reason) from None
            refresh = getattr(self.token_provider, "refresh", None)
            access = refresh(rejected=access) if callable(refresh) else self.token_provider()
        raise AssertionError("unreachable")  # pragma: no cover


def _max_days(data_type: str) -> int:
    return ROLLUP_MAX_DAYS.get(data_type, ROLLUP_DEFAULT_MAX_DAYS)


def _ymd(day: date) -> dict[str, int]:
    return {"year": day.year, "month": day.month, "day": day.day}


def _items(page: dict[str, Any], key: str) -> list[Any]:
    """A page's items. A page may be `{}` (the last one) or carry only `nextPageToken`; a page with other
    fields but without `key` is a changed format, not "no data": it fails instead of loading nothing."""
    if key not in page and set(page) - {"nextPageToken"}:
        raise MalformedResponseError(key, f"missing from a page with fields {sorted(page)[:5]}: has the API's format "
                                     "changed?", source=SOURCE)
    items = page.get(key) or []
    if not isinstance(items, list):
        raise MalformedResponseError(key, "expected a list", source=SOURCE)
    return items
