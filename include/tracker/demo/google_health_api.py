"""Fake Google Health API v4 and OAuth token endpoint, mounted by the demo server under `/google-health`.

- `GET  /google-health/v4/users/me/dataTypes/{type}/dataPoints` — filter grammar as the real API accepts it
  (sample: `sample_time.physical_time|civil_time`; interval: `interval.start_time|civil_start_time`; daily:
  `date`; exercise: `interval.civil_start_time` only; sleep: `interval.end_time|civil_end_time` only; anything
  else → 400 INVALID_DATA_POINT_FILTER), pageSize (default 1440, max 10000; 25 for sleep/exercise) and
  pageToken, newest first, and — as observed on the real API — a final page that is literally `{}`. A range of
  more than 120 days (up to 3 years: a backfill's) is paged by a cursor, generating only the days each page
  needs.
- `POST …/dataPoints:rollUp` and `…:dailyRollUp` for steps, heart-rate, total-calories, time-in-heart-rate-zone,
  daily-resting-heart-rate and daily-heart-rate-variability (max range 14/90 days like the real API).
- `POST /google-health/oauth/token` — refresh_token and authorization_code grants; refresh token "revoked" or
  `demo-revoked-<key>`, or code "expired" → 400 invalid_grant; client_id "bad-client" → 401 invalid_client.
Data requests need any `Authorization: Bearer …` header. Data come from `tracker.demo.google_health.Person`.

Many people, one per account key (`[a-z0-9_]+`, e.g. `p01`): the refresh token `demo-refresh-<key>` is refreshed
into access tokens `demo-access-<key>-<n>`, and data requests with such a token read `Person(today, key)`, a
seeded variant of the demo person. Any other token (`demo-refresh`, `demo-access-<n>`, a sign-in's
`demo-refresh-code-<hex>`) is the demo person itself, unchanged. `subject(req)` names whose quota a request
spends — the key, or `DEFAULT_SUBJECT` — and the demo server counts requests by it (see `tracker.demo.server`).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs

from tracker.demo.google_health import DEVICE, ZONE, Person, at_local, offset
from tracker.demo.server import DemoRequest, DemoResponse, Route, counted

PREFIX = "/google-health"
DATA = f"{PREFIX}/v4/users/me/dataTypes"
TOKEN = f"{PREFIX}/oauth/token"
SCOPE = " ".join(f"https://www.googleapis.com/auth/googlehealth.{s}.readonly"
                 for s in ("activity_and_fitness", "health_metrics_and_measurements", "sleep"))
MAX_SPAN_DAYS = 120  # longer ranges are paged by a cursor (`_long_list`) instead of one cached listing
LONG_SPAN_DAYS = 3 * 366 + 2
SAMPLE, INTERVAL = ("sample_time.physical_time", "sample_time.civil_time"), ("interval.start_time",
                                                                             "interval.civil_start_time")
MEMBERS: dict[str, tuple[str, ...]] = {
    "heart-rate": SAMPLE, "steps": INTERVAL, "time-in-heart-rate-zone": INTERVAL,
    "exercise": ("interval.civil_start_time",), "sleep": ("interval.end_time", "interval.civil_end_time"),
    **dict.fromkeys(("daily-resting-heart-rate", "daily-heart-rate-variability", "daily-oxygen-saturation",
                     "daily-respiratory-rate", "daily-heart-rate-zones"), ("date",)),
    # real types this person has no data for: valid filters, empty answers
    **dict.fromkeys(("weight", "body-fat", "oxygen-saturation", "heart-rate-variability"), SAMPLE),
    **dict.fromkeys(("distance", "floors", "active-minutes", "active-zone-minutes"), INTERVAL),
}
ROLLUP_KEYS = {"steps": "steps", "heart-rate": "heartRate", "total-calories": "totalCalories",
               "time-in-heart-rate-zone": "timeInHeartRateZone",
               "daily-resting-heart-rate": "restingHeartRatePersonalRange",
               "daily-heart-rate-variability": "heartRateVariabilityPersonalRange"}
SHORT_ROLLUPS = frozenset({"heart-rate", "total-calories", "active-minutes", "calories-in-heart-rate-zone"})
_CLAUSE = re.compile(r'^([a-z0-9_]+)\.([a-z_.]+)\s*(>=|<)\s*"([^"]*)"$')
_15MIN = timedelta(minutes=15)
API = "google_health"
DEFAULT_SUBJECT = "(default)"  # the demo person's requests: not a key, so no person can share its count
_KEYED_ACCESS = re.compile(r"demo-access-([a-z0-9_]+)-(\d+)")
_KEYED_REFRESH = re.compile(r"demo-(refresh|revoked)-([a-z0-9_]+)")


class ApiError(Exception):
    def __init__(self, code: int, status: str, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.code, self.status, self.message, self.reason = code, status, message, reason

    def response(self) -> DemoResponse:
        error: dict[str, Any] = {"code": self.code, "message": self.message, "status": self.status}
        if self.reason:
            error["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": self.reason,
                                 "domain": "health.googleapis.com"}]
        return DemoResponse(self.code, {"error": error})


def routes(today: date | None = None) -> dict[str, Route]:
    """The fake API; `today` pins the person's clock (default: the real date at request time)."""
    counter = itertools.count(1)

    def data(req: DemoRequest) -> DemoResponse:
        try:
            return _data(req, today or datetime.now(ZONE).date())
        except ApiError as exc:
            return exc.response()

    def token(req: DemoRequest) -> DemoResponse:
        return _token(req, counter)

    return {DATA: counted(API, subject)(data), TOKEN: counted("google_oauth", _token_subject)(token)}


def person_key(req: DemoRequest) -> str | None:
    """The account key bound to the request's bearer token (`demo-access-<key>-<n>`), else None: the demo person."""
    auth = next((v for k, v in req.headers.items() if k.lower() == "authorization"), "")
    match = _KEYED_ACCESS.fullmatch(auth[7:].strip()) if auth.startswith("Bearer ") else None
    return match.group(1) if match else None


def subject(req: DemoRequest) -> str:
    """Whose per-user quota a data request spends: the person's key, or DEFAULT_SUBJECT."""
    return person_key(req) or DEFAULT_SUBJECT


def _token_subject(req: DemoRequest) -> str:
    form = {k: v[0] for k, v in parse_qs(req.body.decode(errors="replace")).items()}
    match = _KEYED_REFRESH.fullmatch(form.get("refresh_token", ""))
    return match.group(2) if match else DEFAULT_SUBJECT


# ------------------------------------------------------------------------------------------ dispatch
def _data(req: DemoRequest, today: date) -> DemoResponse:
    auth = next((v for k, v in req.headers.items() if k.lower() == "authorization"), "")
    if not auth.startswith("Bearer ") or not auth[7:].strip():
        raise ApiError(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
    match = re.fullmatch(r"/([a-z0-9-]+)/dataPoints(:rollUp|:dailyRollUp)?", req.subpath)
    data_type, action = match.groups() if match else ("", None)
    if not match or (req.method == "GET") != (action is None) or data_type not in (ROLLUP_KEYS if action else MEMBERS):
        raise ApiError(404, "NOT_FOUND", f"no such resource in the demo: {req.method} {req.path}")
    key = person_key(req)
    if action is None:
        return _list(data_type, req.query, today, key)
    try:
        body = json.loads(req.body or b"{}")
    except ValueError:
        raise ApiError(400, "INVALID_ARGUMENT", "Invalid JSON payload received.") from None
    return DemoResponse(200, (_roll_up if action == ":rollUp" else _daily_roll_up)(data_type, body, today, key))


# ------------------------------------------------------------------------------------------ list
def _list(data_type: str, query: dict[str, list[str]], today: date, key: str | None = None) -> DemoResponse:
    expression = query.get("filter", [""])[0]
    session = data_type in ("sleep", "exercise")
    limit = 25 if session else 10_000
    size = min(int(query.get("pageSize", [str(25 if session else 1440)])[0] or 0) or limit, limit)
    _, _, _, first, last = _bounds(today, data_type, expression)
    if (last - first).days > MAX_SPAN_DAYS:
        return _long_list(today, data_type, expression, key, size, query.get("pageToken", [""])[0])
    points = _listing(today, data_type, expression, key)
    start = _decode_token(query.get("pageToken", [""])[0], expression)
    page = points[start:start + size]
    if not page:
        return DemoResponse(200, {})  # proto3 JSON drops the empty list and the empty token
    return DemoResponse(200, {"dataPoints": list(page), "nextPageToken": _encode_token(start + size, expression)})


def _long_list(today: date, data_type: str, expression: str, key: str | None, size: int,
               token: str) -> DemoResponse:
    """A page of a long range, newest first: the points before the cursor (the sort key of the last point sent),
    generated day by day backwards from it (plus one day, so a point crossing midnight keeps its place)."""
    member, low, high, first, last = _bounds(today, data_type, expression)
    if (last - first).days > LONG_SPAN_DAYS:
        raise ApiError(400, "INVALID_ARGUMENT", f"the demo serves at most {LONG_SPAN_DAYS} days per request")
    cursor = _decode_cursor(token, expression)
    person, generate = _person(today, key), GENERATORS.get(data_type, _nothing)
    day = last if cursor is None else min(last, _local_day(cursor) + timedelta(days=1))
    rows: list[tuple[dict[str, Any], dict[str, Any]]] = []
    extra = 1  # days generated after the page is full
    while day >= first and (len(rows) < size or extra > 0):
        extra -= len(rows) >= size
        rows += [(point, meta) for point, meta in generate(person, day, day)
                 if (low is None or _member(meta, member) >= low) and (high is None or _member(meta, member) < high)
                 and (cursor is None or meta["sort"] < cursor)]
        day -= timedelta(days=1)
    rows.sort(key=lambda row: row[1]["sort"], reverse=True)
    page = rows[:size]
    if not page:
        return DemoResponse(200, {})
    return DemoResponse(200, {"dataPoints": [point for point, _ in page],
                              "nextPageToken": _encode_cursor(page[-1][1]["sort"], expression)})


def _encode_cursor(sort: date | datetime, expression: str) -> str:
    return base64.urlsafe_b64encode(f"c{sort.isoformat()}|{zlib.crc32(expression.encode())}".encode()).decode()


def _decode_cursor(token: str, expression: str) -> date | datetime | None:
    if not token:
        return None
    try:
        text, crc = base64.urlsafe_b64decode(token.encode()).decode().split("|")
        if not text.startswith("c") or int(crc) != zlib.crc32(expression.encode()):
            raise ValueError
        return date.fromisoformat(text[1:]) if len(text) == 11 else datetime.fromisoformat(text[1:])
    except ValueError:
        raise ApiError(400, "INVALID_ARGUMENT", "page token does not match this request") from None


def _encode_token(offset_: int, expression: str) -> str:
    return base64.urlsafe_b64encode(f"{offset_}:{zlib.crc32(expression.encode())}".encode()).decode()


def _decode_token(token: str, expression: str) -> int:
    if not token:
        return 0
    try:
        at, crc = base64.urlsafe_b64decode(token.encode()).decode().split(":")
        if int(crc) != zlib.crc32(expression.encode()):
            raise ValueError
        return int(at)
    except ValueError:
        raise ApiError(400, "INVALID_ARGUMENT", "page token does not match this request") from None


def _bounds(today: date, data_type: str, expression: str) -> tuple[str, Any, Any, date, date]:
    """The filter's member and bounds, and the local days [first, last] whose points can match it."""
    member, low, high = _parse_filter(data_type, expression)
    first = _local_day(low) - timedelta(days=1) if low is not None else today - timedelta(days=30)
    last = min(_local_day(high) + timedelta(days=1) if high is not None else today, today)
    return member, low, high, first, last


@lru_cache(maxsize=64)
def _listing(today: date, data_type: str, expression: str, key: str | None = None) -> tuple[dict[str, Any], ...]:
    member, low, high, first, last = _bounds(today, data_type, expression)
    if (last - first).days > MAX_SPAN_DAYS:
        raise ApiError(400, "INVALID_ARGUMENT", f"the demo serves at most {MAX_SPAN_DAYS} days per request")
    person = _person(today, key)
    rows = [(point, meta) for point, meta in GENERATORS.get(data_type, _nothing)(person, first, last)
            if (low is None or _member(meta, member) >= low) and (high is None or _member(meta, member) < high)]
    rows.sort(key=lambda row: row[1]["sort"], reverse=True)
    return tuple(point for point, _ in rows)


def _parse_filter(data_type: str, expression: str) -> tuple[str, Any, Any]:
    low = high = None
    member = ""
    clauses = [c.strip() for c in re.split(r"\s+AND\s+", expression.strip())] if expression.strip() else []
    for clause in clauses:
        match = _CLAUSE.match(clause)
        if not match:
            raise _bad_filter(f"cannot parse {clause!r}")
        prefix, name, op, literal = match.groups()
        if prefix != data_type.replace("-", "_") or name not in MEMBERS[data_type] or member not in ("", name):
            raise _bad_filter(f"Member '{prefix}.{name}' is not supported for filtering.")
        member = name
        try:
            value = _literal(name, literal)
        except ValueError:
            raise _bad_filter(f"invalid literal {literal!r} for {prefix}.{name}") from None
        low, high = (value, high) if op == ">=" else (low, value)
    return member, low, high


def _bad_filter(message: str) -> ApiError:
    return ApiError(400, "INVALID_ARGUMENT", f"Invalid data point filter: {message}", "INVALID_DATA_POINT_FILTER")


def _literal(member: str, text: str) -> Any:
    if member == "date":
        return date.fromisoformat(text)
    if "civil" in member:
        value = datetime.fromisoformat(text) if "T" in text else datetime.fromisoformat(text + "T00:00:00")
        if value.tzinfo is not None:
            raise ValueError("civil times carry no offset")
        return value
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None or "T" not in text:
        raise ValueError("RFC 3339 timestamp expected")
    return value


def _local_day(bound: Any) -> date:
    if isinstance(bound, datetime):
        return bound.astimezone(ZONE).date() if bound.tzinfo else bound.date()
    return bound


def _member(meta: dict[str, Any], member: str) -> Any:
    if member == "date":
        return meta["date"]
    edge = "end" if "end" in member else "start"
    instant = meta[edge]
    if "civil" in member:
        return (instant + timedelta(seconds=offset(instant))).replace(tzinfo=None)
    return instant


# ------------------------------------------------------------------------------------------ JSON shapes
def _ts(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _ymd(d: date) -> dict[str, int]:
    return {"year": d.year, "month": d.month, "day": d.day}


def _civil(t: datetime) -> dict[str, Any]:
    wall = t.astimezone(ZONE)
    clock = {k: v for k, v in (("hours", wall.hour), ("minutes", wall.minute), ("seconds", wall.second)) if v}
    return {"date": _ymd(wall.date()), "time": clock}  # proto3: zero fields omitted, midnight is {}


def _interval(start: datetime, end: datetime, civil: bool = True) -> dict[str, Any]:
    out = {"startTime": _ts(start), "startUtcOffset": f"{offset(start)}s", "endTime": _ts(end),
           "endUtcOffset": f"{offset(end)}s"}
    if civil:  # sleep and exercise intervals came without civil times on the real API
        out |= {"civilStartTime": _civil(start), "civilEndTime": _civil(end)}
    return out


def _source(method: str) -> dict[str, Any]:
    return {**DEVICE, "recordingMethod": method}


# ------------------------------------------------------------------------------------------ generators
Rows = Iterator[tuple[dict[str, Any], dict[str, Any]]]


def _days(first: date, last: date) -> Iterator[date]:
    for n in range((last - first).days + 1):
        yield first + timedelta(days=n)


def _nothing(person: Person, first: date, last: date) -> Rows:
    return iter(())


def _heart_rate(person: Person, first: date, last: date) -> Rows:
    t, stop = at_local(first, 0), min(at_local(last + timedelta(days=1), 0), person.last_instant)
    while t < stop:
        sample: dict[str, Any] = {"physicalTime": _ts(t), "utcOffset": f"{offset(t)}s", "civilTime": _civil(t)}
        hr: dict[str, Any] = {"sampleTime": sample, "beatsPerMinute": str(person.heart_rate(t))}
        if person.activity_at(t)[0] == "run":
            hr["metadata"] = {"motionContext": "ACTIVE", "sensorLocation": "WRIST"}
        yield {"dataSource": _source("PASSIVELY_MEASURED"), "heartRate": hr}, {"start": t, "end": t, "sort": t}
        t += timedelta(minutes=1)


def _step_buckets(person: Person, start: datetime, stop: datetime) -> Iterator[tuple[datetime, int]]:
    t = start
    while t < min(stop, person.last_instant):
        if count := person.steps_in(t):
            yield t, count
        t += _15MIN


def _steps(person: Person, first: date, last: date) -> Rows:
    for t, count in _step_buckets(person, at_local(first, 0), at_local(last + timedelta(days=1), 0)):
        yield ({"dataSource": _source("PASSIVELY_MEASURED"),
                "steps": {"interval": _interval(t, t + _15MIN), "count": str(count)}},
               {"start": t, "end": t + _15MIN, "sort": t})


def _sleep(person: Person, first: date, last: date) -> Rows:
    for day in _days(first, last):
        for s in person.sleeps_ending_on(day):
            done = s.end + timedelta(minutes=10, seconds=int(s.id[-3:]) % 50)
            stages, totals = [], {}
            for kind, a, b in s.stages:
                stages.append({**_interval(a, b, civil=False), "type": kind, "createTime": _ts(done),
                               "updateTime": _ts(done)})
                minutes, count = totals.get(kind, (0, 0))
                totals[kind] = (minutes + int((b - a).total_seconds() // 60), count + 1)
            awake = totals.get("AWAKE", (0, 0))[0]
            asleep = sum(m for k, (m, _) in totals.items() if k not in ("AWAKE", "RESTLESS"))
            summary = {
                "minutesInSleepPeriod": str(int((s.end - s.start).total_seconds() // 60)),
                "minutesAfterWakeUp": str(int((s.stages[-1][2] - s.stages[-1][1]).total_seconds() // 60)
                                          if s.stages[-1][0] == "AWAKE" else 0),
                "minutesToFallAsleep": str(int((s.stages[0][2] - s.stages[0][1]).total_seconds() // 60)
                                           if s.stages[0][0] == "AWAKE" else 0),
                "minutesAsleep": str(asleep), "minutesAwake": str(awake),
                "stagesSummary": [{"type": k, "minutes": str(m), "count": str(c)} for k, (m, c) in totals.items()],
            }
            metadata = {"stagesStatus": "REJECTED_NAP" if s.nap else "SUCCEEDED", "processed": True}
            metadata |= {"nap": True} if s.nap else {"mainSleep": True}  # proto3 omits false booleans
            sleep = {"interval": _interval(s.start, s.end, civil=False), "type": "CLASSIC" if s.nap else "STAGES",
                     "stages": stages, "metadata": metadata, "summary": summary, "createTime": _ts(done),
                     "updateTime": _ts(done)}
            yield ({"name": f"{person.user}/dataTypes/sleep/dataPoints/{s.id}", "dataSource": _source("DERIVED"),
                    "sleep": sleep}, {"start": s.start, "end": s.end, "sort": s.start})


def _exercise(person: Person, first: date, last: date) -> Rows:
    for day in _days(first, last):
        for r in person.runs_on(day):
            active = int((r.end - r.start).total_seconds()) - r.pause_seconds
            events = [(r.start, "START"), (r.end, "STOP")]
            if r.pause_seconds:
                pause_at = r.start + (r.end - r.start) / 2
                events[1:1] = [(pause_at, "PAUSE"), (pause_at + timedelta(seconds=r.pause_seconds), "RESUME")]
            zone_seconds = person.run_zone_seconds(r)
            zones = {f"{z.lower()}Time": f"{s}s" for z, s in zone_seconds.items()}
            azm = (zone_seconds["MODERATE"] + 2 * (zone_seconds["VIGOROUS"] + zone_seconds["PEAK"])) // 60
            metrics = {"caloriesKcal": r.calories, "distanceMillimeters": r.distance_m * 1000,
                       "steps": str(r.steps), "averageHeartRateBeatsPerMinute": str(r.avg_hr),
                       "activeZoneMinutes": str(azm), "averagePaceSecondsPerMeter": round(active / r.distance_m, 4),
                       "averageSpeedMillimetersPerSecond": round(r.distance_m * 1000 / active, 1),
                       "elevationGainMillimeters": 18000.0, "runVo2Max": 46.5, "heartRateZoneDurations": zones}
            saved = r.end + timedelta(minutes=2)
            exercise = {"interval": _interval(r.start, r.end, civil=False), "exerciseType": "RUNNING",
                        "displayName": "Run", "activeDuration": f"{active}s",
                        "exerciseEvents": [{"eventTime": _ts(t), "eventUtcOffset": f"{offset(t)}s",
                                            "exerciseEventType": kind} for t, kind in events],
                        "exerciseMetadata": {"hasGps": True}, "metricsSummary": metrics,
                        "createTime": _ts(saved), "updateTime": _ts(saved)}
            yield ({"name": f"{person.user}/dataTypes/exercise/dataPoints/{r.id}",
                    "dataSource": _source("ACTIVELY_MEASURED"), "exercise": exercise},
                   {"start": r.start, "end": r.end, "sort": r.start})


def _zone_intervals(person: Person, first: date, last: date) -> Iterator[tuple[str, datetime, datetime]]:
    for day in _days(first, last):
        for r in person.runs_on(day):
            t = r.start
            for zone, seconds in person.run_zone_seconds(r).items():
                if seconds > 0:
                    yield zone, t, t + timedelta(seconds=seconds)
                    t += timedelta(seconds=seconds)


def _time_in_zone(person: Person, first: date, last: date) -> Rows:
    for zone, a, b in _zone_intervals(person, first, last):
        yield ({"dataSource": _source("DERIVED"),
                "timeInHeartRateZone": {"interval": _interval(a, b), "heartRateZoneType": zone}},
               {"start": a, "end": b, "sort": a})


def _daily(key: str, value: Callable[[Person, date], dict[str, Any]]) -> Callable[[Person, date, date], Rows]:
    def rows(person: Person, first: date, last: date) -> Rows:
        for day in _days(first, last):
            yield ({"dataSource": _source("DERIVED"), key: {"date": _ymd(day), **value(person, day)}},
                   {"date": day, "sort": day})
    return rows


GENERATORS: dict[str, Callable[[Person, date, date], Rows]] = {
    "heart-rate": _heart_rate, "steps": _steps, "sleep": _sleep, "exercise": _exercise,
    "time-in-heart-rate-zone": _time_in_zone,
    "daily-resting-heart-rate": _daily("dailyRestingHeartRate", lambda p, d: {
        "beatsPerMinute": str(p.resting_hr(d)), "dailyRestingHeartRateMetadata": {"calculationMethod": "WITH_SLEEP"}}),
    "daily-heart-rate-variability": _daily("dailyHeartRateVariability", lambda p, d: {
        "averageHeartRateVariabilityMilliseconds": p.hrv(d), "nonRemHeartRateBeatsPerMinute": str(p.resting_hr(d) + 3),
        "entropy": round(2.6 + p.hrv(d) / 100, 2),
        "deepSleepRootMeanSquareOfSuccessiveDifferencesMilliseconds": round(p.hrv(d) * 1.12, 1)}),
    "daily-oxygen-saturation": _daily("dailyOxygenSaturation", lambda p, d: {
        "averagePercentage": p.spo2(d), "lowerBoundPercentage": round(p.spo2(d) - 2.3, 1),
        "upperBoundPercentage": min(100.0, round(p.spo2(d) + 1.6, 1)), "standardDeviationPercentage": 0.7}),
    "daily-respiratory-rate": _daily("dailyRespiratoryRate", lambda p, d: {"breathsPerMinute": p.breathing(d)}),
    "daily-heart-rate-zones": _daily("dailyHeartRateZones", lambda p, d: {"heartRateZones": [
        {"heartRateZoneType": z, "minBeatsPerMinute": str(lo), "maxBeatsPerMinute": str(hi)}
        for z, lo, hi in p.hr_zones(d)]}),
}


@lru_cache(maxsize=64)
def _person(today: date, key: str | None = None) -> Person:
    return Person(today, key)


# ------------------------------------------------------------------------------------------ rollups
def _rollup_value(person: Person, data_type: str, start: datetime, end: datetime) -> dict[str, Any] | None:
    """Aggregate of [start, end) (UTC) or None when the window holds no data."""
    end = min(end, person.last_instant)
    if start >= end:
        return None
    first, last = start.astimezone(ZONE).date() - timedelta(days=1), end.astimezone(ZONE).date()
    if data_type == "steps":
        return {"countSum": str(sum(c for t, c in _step_buckets(person, start, end)))}
    if data_type == "heart-rate":
        minutes = int((end - start).total_seconds() // 60)
        values = [person.heart_rate(start + timedelta(minutes=i)) for i in range(minutes)]
        if not values:
            return None
        return {"beatsPerMinuteAvg": round(sum(values) / len(values), 2), "beatsPerMinuteMin": float(min(values)),
                "beatsPerMinuteMax": float(max(values))}
    if data_type == "total-calories":
        hours = (end - start).total_seconds() / 3600
        steps = sum(c for _, c in _step_buckets(person, start, end))
        runs = sum(r.calories for d in _days(first, last) for r in person.runs_on(d) if start <= r.start < end)
        return {"kcalSum": round(hours * 72.5 + steps * 0.04 + runs, 2)}
    if data_type == "time-in-heart-rate-zone":
        totals: dict[str, float] = {}
        for zone, a, b in _zone_intervals(person, first, last):
            overlap = (min(b, end) - max(a, start)).total_seconds()
            if overlap > 0:
                totals[zone] = totals.get(zone, 0) + overlap
        return {"timeInHeartRateZones": [{"heartRateZone": z, "duration": f"{int(s)}s"} for z, s in totals.items()]}
    days = list(_days(start.astimezone(ZONE).date(), (end - timedelta(seconds=1)).astimezone(ZONE).date()))
    if data_type == "daily-resting-heart-rate":
        values = [person.resting_hr(d) for d in days]
        return {"beatsPerMinuteMin": float(min(values)), "beatsPerMinuteMax": float(max(values))}
    values = [person.hrv(d) for d in days]
    return {"averageHeartRateVariabilityMillisecondsMin": min(values),
            "averageHeartRateVariabilityMillisecondsMax": max(values)}


def _check_range(data_type: str, days: float) -> None:
    limit = 14 if data_type in SHORT_ROLLUPS else 90
    if days <= 0 or days > limit:
        raise ApiError(400, "INVALID_ARGUMENT", f"range must be within (0, {limit}] days for {data_type}")


def _roll_up(data_type: str, body: dict[str, Any], today: date, key: str | None = None) -> dict[str, Any]:
    try:
        start = datetime.fromisoformat(body["range"]["startTime"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(body["range"]["endTime"].replace("Z", "+00:00"))
        window = timedelta(seconds=float(re.fullmatch(r"(\d+(?:\.\d+)?)s", body["windowSize"]).group(1)))
    except (KeyError, TypeError, ValueError, AttributeError):
        raise ApiError(400, "INVALID_ARGUMENT", "range.startTime, range.endTime and windowSize are required") from None
    _check_range(data_type, (end - start).total_seconds() / 86400)
    person, field, points = _person(today, key), ROLLUP_KEYS[data_type], []
    t = start
    while t < end:
        if (value := _rollup_value(person, data_type, t, min(t + window, end))) is not None:
            points.append({"startTime": _ts(t), "endTime": _ts(min(t + window, end)), field: value})
        t += window
    points.reverse()  # newest first
    at = int(body.get("pageToken") or 0)
    size = min(int(body.get("pageSize") or 1440), 10_000)
    answer: dict[str, Any] = {"rollupDataPoints": points[at:at + size]} if points[at:at + size] else {}
    if at + size < len(points):
        answer["nextPageToken"] = str(at + size)
    return answer


def _daily_roll_up(data_type: str, body: dict[str, Any], today: date, key: str | None = None) -> dict[str, Any]:
    try:
        first = date(**body["range"]["start"]["date"])
        stop = date(**body["range"]["end"]["date"])
        size = int(body.get("windowSizeDays") or 1)
    except (KeyError, TypeError, ValueError):
        raise ApiError(400, "INVALID_ARGUMENT", "range.start.date and range.end.date are required") from None
    _check_range(data_type, (stop - first).days)
    person, field, points = _person(today, key), ROLLUP_KEYS[data_type], []
    day = first
    while day < stop and day <= today:
        until = min(day + timedelta(days=size), stop)
        value = _rollup_value(person, data_type, at_local(day, 0), at_local(until, 0))
        if value is not None:
            points.append({"civilStartTime": {"date": _ymd(day), "time": {}},
                           "civilEndTime": {"date": _ymd(until), "time": {}}, field: value})
        day = until
    points.reverse()  # newest day first, as observed
    return {"rollupDataPoints": points} if points else {}


# ------------------------------------------------------------------------------------------ OAuth
def _token(req: DemoRequest, counter: Iterator[int]) -> DemoResponse:
    if req.method != "POST":
        return DemoResponse(405, {"error": "invalid_request", "error_description": "POST required"})
    form = {k: v[0] for k, v in parse_qs(req.body.decode()).items()}
    if not form.get("client_id"):
        return _oauth_error(400, "invalid_request", "Missing required parameter: client_id")
    if form["client_id"] == "bad-client":
        return _oauth_error(401, "invalid_client", "The OAuth client was not found.")
    grant = form.get("grant_type")
    keyed = _KEYED_REFRESH.fullmatch(form.get("refresh_token", "")) if grant == "refresh_token" else None
    bound = f"{keyed.group(2)}-" if keyed else ""  # demo-refresh-<key> → demo-access-<key>-<n>
    access = {"access_token": f"demo-access-{bound}{next(counter)}", "expires_in": 3599, "scope": SCOPE,
              "token_type": "Bearer"}
    if grant == "refresh_token":
        if not form.get("refresh_token"):
            return _oauth_error(400, "invalid_request", "Missing required parameter: refresh_token")
        if form["refresh_token"] == "revoked" or (keyed and keyed.group(1) == "revoked"):
            return _oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
        return DemoResponse(200, access)  # like Google: no new refresh_token on refresh
    if grant == "authorization_code":
        if not form.get("code") or not form.get("redirect_uri") or not 43 <= len(form.get("code_verifier", "")) <= 128:
            return _oauth_error(400, "invalid_request", "code, redirect_uri and code_verifier are required")
        if form["code"] == "expired":
            return _oauth_error(400, "invalid_grant", "Malformed auth code.")
        # not a key (`-code-`): an interactive sign-in reads the demo person
        refresh = "demo-refresh-code-" + hashlib.sha256(form["code"].encode()).hexdigest()[:16]
        return DemoResponse(200, {**access, "refresh_token": refresh, "refresh_token_expires_in": 604799})
    return _oauth_error(400, "unsupported_grant_type", f"Invalid grant_type: {grant}")


def _oauth_error(status: int, error: str, description: str) -> DemoResponse:
    return DemoResponse(status, {"error": error, "error_description": description})
