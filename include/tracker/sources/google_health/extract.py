"""Google Health API → the raw Fitbit tables (`source = 'google_health_api'`), one person, one window.

The run's data interval is widened by a trailing re-pull (default 3 days): the phone syncs late and sleep
stages are computed after waking, so the days before the interval are read again and replaced. Each data
type is read with its own filter field (client.build_filter) over the widened window:
- heart-rate samples (sample time) → raw.fitbit__heart_rate, the window replaced (delete + COPY);
- steps and time in heart-rate zones → one `dailyRollUp` request per 90 days instead of a page of
  per-minute points per day;
- daily types (`date`): resting heart rate, HRV, SpO2, respiratory rate, the zone limits;
- sleep (end time) with its stages, and exercise (civil start time).
Every keyed table is merged with delete-missing inside the window, so a rerun or backfill of any window
leaves the same rows. A point that fails validation goes to raw.quarantine with its type, position and
reason; the others load. The raw JSON of each session/daily point is kept (unknown fields included).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import psycopg

from tracker.config import Person, TrackerConfig
from tracker.http import MalformedResponseError
from tracker.sources.accounts import people_with_account
from tracker.sources.contract import Clients, client_for
from tracker.sources.fitbit import tables
from tracker.sources.google_health.client import GoogleHealthClient
from tracker.sources.google_health.models import DataPoint, coerce_wire_values, parse_data_point
from tracker.warehouse.load_log import log_load
from tracker.warehouse.loader import RawTable, Window, load
from tracker.warehouse.loads import Load, QuarantineScope, load_checked
from tracker.warehouse.quarantine import Rejected
from tracker.windows import ExtractWindow, plain_utc

log = logging.getLogger(__name__)

SOURCE = "google_health_api"
ACCOUNT = "google_health"
DEFAULT_REPULL = timedelta(days=3)
BPM_RANGE = (20, 250)
ZONES = ("LIGHT", "MODERATE", "VIGOROUS", "PEAK")
STAGE_LEVELS = {"AWAKE": "wake", "LIGHT": "light", "DEEP": "deep", "REM": "rem", "ASLEEP": "asleep",
                "RESTLESS": "restless"}
SLEEP_SESSIONS = dataclasses.replace(tables.SLEEP_SESSIONS, window_column="end_at")


def file_of(data_type: str) -> str:
    """What `source_file` holds for API rows: the endpoint they came from."""
    return f"google-health-api/{data_type}"


def session_id(point: DataPoint) -> str:
    """The data point id (last segment of `name`)."""
    name = point.name or point.data_point_name
    if not name:
        raise MalformedResponseError("name", "a session data point has no name", source="Google Health")
    return name.rsplit("/", 1)[-1]


def numeric_log_id(point_id: str) -> int:
    """Sleep rows are keyed by a bigint logId (the export's): numeric ids are used as they are, others are
    mapped to a stable positive 63-bit hash."""
    if re.fullmatch(r"\d{1,18}", point_id):
        return int(point_id)
    return int.from_bytes(hashlib.blake2b(point_id.encode(), digest_size=8).digest(), "big") >> 1


class BadPoint(ValueError):
    """A point that parsed but cannot be loaded (value out of range, missing field)."""


class _Extract:
    def __init__(self, conn: psycopg.Connection, client: GoogleHealthClient, person: Person,
                 window: ExtractWindow, run_id: str) -> None:
        self.conn, self.client, self.person, self.window, self.run_id = conn, client, person, window, run_id
        self.zone = ZoneInfo(person.timezone)
        # local days touched by the window: [first_day, stop_day)
        self.first_day = window.start.astimezone(self.zone).date()
        self.stop_day = (window.end - timedelta(microseconds=1)).astimezone(self.zone).date() + timedelta(days=1)
        self.loads: list[Load] = []

    # ------------------------------------------------------------------------------------------ plumbing
    def points(self, data_type: str, start: date | datetime, end: date | datetime,
               rejected: list[Rejected]) -> Iterator[DataPoint]:
        for i, raw in enumerate(self.client.list_raw_data_points(data_type, start, end)):
            try:
                yield parse_data_point(raw, where=f"{data_type}[{i}]", data_type=data_type)
            except MalformedResponseError as exc:
                rejected.append(self.rejected(data_type, i, str(exc), raw))

    @staticmethod
    def rejected(data_type: str, i: int, reason: str, raw: Any) -> Rejected:
        return Rejected(locator=f"{file_of(data_type)}[{i}]", reason=reason,
                        raw_text=orjson.dumps(raw, default=str).decode())

    def base(self, data_type: str) -> dict[str, Any]:
        return {"person_id": self.person.id, "source": SOURCE, "source_file": file_of(data_type)}

    def day_window(self) -> Window:
        return Window(self.first_day, self.stop_day, {"person_id": self.person.id, "source": SOURCE})

    def instant_window(self) -> Window:
        return Window(self.window.start, self.window.end, {"person_id": self.person.id, "source": SOURCE})

    def finish(self, data_type: str, table: RawTable, rows: Iterable[tuple], rejected: list[Rejected],
               window: Window, *, replace: bool = False) -> None:
        self.loads.append(load_checked(
            self.conn, table, rows, rejected, run_id=self.run_id, window=window, replace=replace,
            quarantine_scope=QuarantineScope(SOURCE, data_type, self.person.id, self.window.start,
                                             self.window.end, locator_prefix=file_of(data_type))))

    def row(self, table: RawTable, data_type: str, values: dict[str, Any]) -> tuple:
        return tables.row_tuple(table, values, self.base(data_type))

    def local(self, instant: datetime, offset_s: int | None) -> datetime:
        """Naive local time of an instant: with the point's own UTC offset when given, else the person's zone."""
        if offset_s is not None:
            return (instant.astimezone(UTC) + timedelta(seconds=offset_s)).replace(tzinfo=None)
        return instant.astimezone(self.zone).replace(tzinfo=None)

    # ------------------------------------------------------------------------------------------ types
    def heart_rate(self) -> None:
        rejected: list[Rejected] = []

        def rows() -> Iterator[tuple]:
            for i, p in enumerate(self.points("heart-rate", self.window.start, self.window.end, rejected)):
                bpm = p.heart_rate.beats_per_minute
                if not BPM_RANGE[0] <= bpm <= BPM_RANGE[1]:
                    rejected.append(self.rejected("heart-rate", i, f"beatsPerMinute={bpm} outside {BPM_RANGE}",
                                                  p.record))
                    continue
                yield (self.person.id, p.heart_rate.sample_time.physical_time, bpm, None, SOURCE,
                       file_of("heart-rate"))

        self.finish("heart-rate", tables.HEART_RATE, rows(), rejected, self.instant_window(), replace=True)

    def daily_rollup(self, data_type: str, table: RawTable, values: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        rejected: list[Rejected] = []
        rows = []
        for i, r in enumerate(self.client.daily_roll_up(data_type, self.first_day, self.stop_day)):
            try:
                rows.append(self.row(table, data_type, {"date": r.date, **values(r.value), "record": r.value}))
            except (BadPoint, KeyError, TypeError, ValueError) as exc:
                rejected.append(self.rejected(data_type, i, f"{type(exc).__name__}: {exc}", r.model_dump()))
        self.finish(data_type, table, rows, rejected, self.day_window())

    def daily(self, data_type: str, table: RawTable, values: Callable[[Any], dict[str, Any]]) -> None:
        rejected: list[Rejected] = []
        rows = []
        for i, p in enumerate(self.points(data_type, self.first_day, self.stop_day, rejected)):
            try:
                rows.append(self.row(table, data_type, {"date": p.value.date, **values(p.value),
                                                        "record": p.record}))
            except BadPoint as exc:
                rejected.append(self.rejected(data_type, i, str(exc), p.record))
        self.finish(data_type, table, rows, rejected, self.day_window())

    def zone_limits(self) -> None:
        rejected: list[Rejected] = []
        rows = [self.row(tables.HEART_RATE_ZONE_LIMITS, "daily-heart-rate-zones", {
                    "date": p.daily_heart_rate_zones.date, "zone": z.heart_rate_zone_type,
                    "min_bpm": z.min_beats_per_minute, "max_bpm": z.max_beats_per_minute})
                for p in self.points("daily-heart-rate-zones", self.first_day, self.stop_day, rejected)
                for z in p.daily_heart_rate_zones.heart_rate_zones]
        self.finish("daily-heart-rate-zones", tables.HEART_RATE_ZONE_LIMITS, rows, rejected, self.day_window())

    def sleep(self) -> None:
        rejected: list[Rejected] = []
        sessions, stages = [], []
        for i, p in enumerate(self.points("sleep", self.window.start, self.window.end, rejected)):
            s, iv = p.sleep, p.sleep.interval
            try:
                log_id = numeric_log_id(session_id(p))
            except MalformedResponseError as exc:
                rejected.append(self.rejected("sleep", i, str(exc), p.record))
                continue
            summary = s.summary
            in_period = summary.minutes_in_sleep_period if summary else None
            asleep = summary.minutes_asleep if summary else None
            end_local = self.local(iv.end_time, iv.end_utc_offset)
            meta = s.metadata
            sessions.append(self.row(SLEEP_SESSIONS, "sleep", {
                "log_id": log_id, "date_of_sleep": end_local.date(), "start_at": iv.start_time,
                "end_at": iv.end_time, "start_local": self.local(iv.start_time, iv.start_utc_offset),
                "end_local": end_local, "sleep_type": (s.type or "").lower() or None,
                "log_type": "manual" if meta and meta.manually_edited else "auto_detected",
                "is_main_sleep": bool(meta.main_sleep) if meta and meta.main_sleep is not None
                else not (meta and meta.nap),
                "duration_ms": int(iv.seconds * 1000),
                "minutes_to_fall_asleep": summary.minutes_to_fall_asleep if summary else None,
                "minutes_asleep": asleep, "minutes_awake": summary.minutes_awake if summary else None,
                "minutes_after_wakeup": summary.minutes_after_wake_up if summary else None,
                "time_in_bed_min": in_period,
                "efficiency": round(100 * asleep / in_period) if asleep is not None and in_period else None,
                "record": p.record}))
            for seq, st in enumerate(sorted(s.stages, key=lambda x: x.start_time)):
                stages.append(self.row(tables.SLEEP_STAGES, "sleep", {
                    "log_id": log_id, "kind": "data", "seq": seq,
                    "level": STAGE_LEVELS.get(st.type or "", (st.type or "unknown").lower()),
                    "start_local": self.local(st.start_time, st.start_utc_offset), "started_at": st.start_time,
                    "ended_at": st.end_time, "seconds": int((st.end_time - st.start_time).total_seconds())}))
        self.finish("sleep", SLEEP_SESSIONS, sessions, rejected, self.instant_window())
        # stages of every session ending in the window are rewritten with the sessions just loaded
        started_at = datetime.now(UTC)
        with self.conn.transaction():
            self.conn.execute(
                "delete from raw.fitbit__sleep_stages s where s.person_id = %(p)s and s.source = %(s)s"
                " and (s.log_id = any(%(ids)s) or not exists (select 1 from raw.fitbit__sleep_sessions x"
                " where x.person_id = s.person_id and x.source = s.source and x.log_id = s.log_id))",
                {"p": self.person.id, "s": SOURCE, "ids": sorted({r[2] for r in sessions})})
            result = load(self.conn, tables.SLEEP_STAGES, stages, run_id=self.run_id)
            done = Load.of(result, source=SOURCE, entity="sleep-stages", person_id=self.person.id,
                           window=self.instant_window())
            log_load(self.conn, done, run_id=self.run_id, started_at=started_at, finished_at=datetime.now(UTC))
        self.loads.append(done)

    def exercise(self) -> None:
        rejected: list[Rejected] = []
        rows = []
        for i, p in enumerate(self.points("exercise", self.first_day, self.stop_day, rejected)):
            e, iv = p.exercise, p.exercise.interval
            if not p.name:
                rejected.append(self.rejected("exercise", i, "an exercise data point has no name", p.record))
                continue
            if not self.window.start <= iv.start_time < self.window.end:
                continue  # the civil-date filter is coarser than the window: that workout is another window's
            m = e.metrics_summary
            z = m.heart_rate_zone_durations
            rows.append(self.row(tables.EXERCISES, "exercise", {
                "exercise_id": session_id(p), "exercise_type": e.exercise_type, "display_name": e.display_name,
                "start_at": iv.start_time, "end_at": iv.end_time, "utc_offset_s": iv.start_utc_offset,
                "active_seconds": round(e.duration_seconds),
                "distance_m": m.distance_millimeters / 1000 if m.distance_millimeters is not None else None,
                "steps": m.steps, "calories_kcal": m.calories_kcal,
                "average_hr_bpm": m.average_heart_rate_beats_per_minute,
                **{f"{k}_s": round(getattr(z, f"{k}_time")) if z and getattr(z, f"{k}_time") is not None
                   else None for k in ("light", "moderate", "vigorous", "peak")},
                "record": p.record}))
        self.finish("exercise", tables.EXERCISES, rows, rejected, self.instant_window())

    def run(self) -> list[Load]:
        self.heart_rate()
        self.daily_rollup("steps", tables.STEPS_DAILY, _steps)
        self.daily_rollup("time-in-heart-rate-zone", tables.HEART_RATE_ZONES, _zone_minutes)
        self.daily("daily-resting-heart-rate", tables.RESTING_HEART_RATE, _resting)
        self.daily("daily-heart-rate-variability", tables.HRV_DAILY, _hrv)
        self.daily("daily-oxygen-saturation", tables.SPO2_DAILY, _spo2)
        self.daily("daily-respiratory-rate", tables.RESPIRATORY_RATE_DAILY, _respiratory)
        self.zone_limits()
        self.sleep()
        self.exercise()
        return self.loads


# ------------------------------------------------------------------------------------------ value mappers
def _steps(value: dict[str, Any]) -> dict[str, Any]:
    return {"steps": int(value["countSum"])}


def _zone_minutes(value: dict[str, Any]) -> dict[str, Any]:
    minutes = dict.fromkeys(ZONES, 0.0)
    for z in value.get("timeInHeartRateZones") or []:
        seconds = float(coerce_wire_values(z["duration"]))   # "123s" → 123.0 (rollup values arrive coerced)
        minutes[z["heartRateZone"]] = minutes.get(z["heartRateZone"], 0.0) + seconds / 60
    return {f"{k.lower()}_min": round(v, 2) for k, v in minutes.items() if k in ZONES}


def _resting(v: Any) -> dict[str, Any]:
    if not BPM_RANGE[0] <= v.beats_per_minute <= 150:
        raise BadPoint(f"beatsPerMinute={v.beats_per_minute} is not a resting heart rate")
    return {"bpm": float(v.beats_per_minute)}


def _hrv(v: Any) -> dict[str, Any]:
    if v.average_heart_rate_variability_milliseconds is None:
        raise BadPoint("averageHeartRateVariabilityMilliseconds is missing")
    return {"rmssd_ms": v.average_heart_rate_variability_milliseconds,
            "nrem_hr_bpm": v.non_rem_heart_rate_beats_per_minute, "entropy": v.entropy}


def _spo2(v: Any) -> dict[str, Any]:
    if not 50 < v.average_percentage <= 100:
        raise BadPoint(f"averagePercentage={v.average_percentage} outside (50, 100]")
    return {"average_pct": v.average_percentage, "lower_bound_pct": v.lower_bound_percentage,
            "upper_bound_pct": v.upper_bound_percentage}


def _respiratory(v: Any) -> dict[str, Any]:
    if not 4 <= v.breaths_per_minute <= 60:
        raise BadPoint(f"breathsPerMinute={v.breaths_per_minute} outside [4, 60]")
    return {"breaths_per_minute": v.breaths_per_minute}


def extract_person(conn: psycopg.Connection, client: GoogleHealthClient, person: Person, window: ExtractWindow,
                   run_id: str, *, repull: timedelta = DEFAULT_REPULL) -> list[Load]:
    """Load every supported type of one person for `window` widened by `repull` before it (see the module doc)."""
    window = plain_utc(window)
    first, _ = person.collection_bounds()  # a study's participant: never re-pull before their collection window
    earliest = min(first, window.start) if first else window.start - repull
    widened = ExtractWindow(max(window.start - repull, earliest), window.end)
    return _Extract(conn, client, person, widened, run_id).run()


def extract_and_load(conn: psycopg.Connection, clients: Clients, config: TrackerConfig, window: ExtractWindow,
                     run_id: str, *, repull: timedelta = DEFAULT_REPULL) -> list[Load]:
    """Every person with `accounts.google_health`; `clients(account)` builds their client (its tokens are
    the account's row in `auth.oauth_tokens`)."""
    return [load for person, account in people_with_account(config, ACCOUNT)
            for load in extract_person(conn, client_for(clients, account), person, window, run_id, repull=repull)]
