"""Activity files of the export: `steps-D.json` (per-minute counts, ≈30-day chunks), `exercise-N.json`
(workouts, 100 per page) and `Daily Respiratory Rate Summary - *.csv`.

Steps and exercise times are `MM/DD/YY HH:MM:SS` without a zone, and the evidence on whether they are UTC or
local conflicts (sources.md §2.3). The parsers return naive µs; the importer converts them with the reading
it settled for the export's heart-rate files (or the one forced with `--hr-timezone`), so all three series
of one export agree.
"""

from __future__ import annotations

import re
from typing import IO

from tracker.sources.fitbit_export.parsers import (
    BadRecord,
    Parsed,
    _csv_rows,
    _each,
    _json_array,
    _raw,
    as_float,
    as_int,
    iso_date,
    mdy_naive_us,
    required,
)
from tracker.warehouse.quarantine import Rejected

STEPS_PER_MINUTE_MAX = 400
# export activityName → the Google Health API's exerciseType, so both sources share one vocabulary
EXERCISE_TYPES = {
    "run": "RUNNING", "treadmill": "RUNNING", "walk": "WALKING", "bike": "BIKING", "outdoor bike": "BIKING",
    "spinning": "BIKING", "swim": "SWIMMING", "hike": "HIKING", "yoga": "YOGA", "pilates": "PILATES",
    "weights": "WEIGHTLIFTING", "weight training": "WEIGHTLIFTING", "workout": "WORKOUT", "hiit": "HIIT",
    "interval workout": "HIIT", "strength training": "STRENGTH_TRAINING",
}
KM_PER = {"kilometer": 1.0, "kilometers": 1.0, "km": 1.0, "mile": 1.609344, "miles": 1.609344, "mi": 1.609344,
          "meter": 0.001, "meters": 0.001, "m": 0.001}


def exercise_type(activity_name: str) -> str:
    """'Run' → RUNNING; names outside the table become their upper snake case ('Dance' → DANCE)."""
    name = activity_name.strip().lower()
    return EXERCISE_TYPES.get(name) or re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_") or "OTHER"


def parse_steps(data: bytes, name: str) -> Parsed:
    """`{dateTime "MM/DD/YY HH:MM:SS", value "<count>"}` per minute → rows {naive_us, steps}."""
    out = Parsed()
    for i, record in _each(_json_array(data, name, out), name, out):
        try:
            naive = mdy_naive_us(required(record.get("dateTime"), "dateTime"))
            steps = as_int(record.get("value"), "value")
            if steps is None:
                raise BadRecord("value is missing")
            if not 0 <= steps <= STEPS_PER_MINUTE_MAX:
                raise BadRecord(f"value={steps} outside [0, {STEPS_PER_MINUTE_MAX}] steps per minute")
        except BadRecord as exc:
            out.rejected.append(Rejected(f"{name}[{i}]", str(exc), _raw(record)))
            continue
        out.rows.append({"naive_us": naive, "steps": steps})
    return out


def parse_exercise(data: bytes, name: str) -> Parsed:
    """One workout per record → rows with naive start µs, durations, distance in metres, average HR."""
    out = Parsed()
    for i, record in _each(_json_array(data, name, out), name, out):
        try:
            log_id = as_int(required(record.get("logId"), "logId"), "logId")
            start = mdy_naive_us(required(record.get("startTime"), "startTime"))
            duration_ms = as_int(required(record.get("duration"), "duration"), "duration")
            if duration_ms is None or not 0 < duration_ms <= 7 * 86_400_000:
                raise BadRecord(f"duration={duration_ms} ms is not a plausible workout length")
            active_ms = as_int(record.get("activeDuration"), "activeDuration")
            distance = as_float(record.get("distance"), "distance")
            unit = str(record.get("distanceUnit") or "Kilometer").strip().lower()
            if distance is not None and unit not in KM_PER:
                raise BadRecord(f"unknown distanceUnit {record.get('distanceUnit')!r}")
            if distance is not None and distance < 0:
                raise BadRecord(f"distance={distance} is negative")
            average_hr = as_float(record.get("averageHeartRate"), "averageHeartRate")
            if average_hr is not None and not 25 <= average_hr <= 250:
                raise BadRecord(f"averageHeartRate={average_hr} outside [25, 250]")
            activity = str(record.get("activityName") or "").strip()
            steps = as_float(record.get("steps"), "steps")
            calories = as_float(record.get("calories"), "calories")
        except BadRecord as exc:
            out.rejected.append(Rejected(f"{name}[{i}]", str(exc), _raw(record)))
            continue
        out.rows.append({
            "exercise_id": str(log_id), "naive_start_us": start, "duration_ms": duration_ms,
            "exercise_type": exercise_type(activity) if activity else "OTHER", "display_name": activity or None,
            "active_seconds": active_ms // 1000 if active_ms is not None else duration_ms // 1000,
            "distance_m": round(distance * KM_PER[unit] * 1000, 1) if distance is not None else None,
            "steps": round(steps) if steps is not None else None, "calories_kcal": calories,
            "average_hr_bpm": average_hr, "record": record})
    return out


def parse_respiratory_rate_daily(stream: IO[str], name: str) -> Parsed:
    """`timestamp,daily_respiratory_rate` (breaths per minute, naive local date)."""
    out = Parsed()
    for locator, row in _csv_rows(stream, name, ("timestamp", "daily_respiratory_rate"), out):
        try:
            day = iso_date(row["timestamp"], "timestamp")
            rate = as_float(row["daily_respiratory_rate"], "daily_respiratory_rate")
            if rate is None:
                out.skipped["no respiratory rate that day"] += 1
                continue
            if not 4 <= rate <= 60:
                raise BadRecord(f"daily_respiratory_rate={rate} outside [4, 60]")
        except BadRecord as exc:
            out.rejected.append(Rejected(locator, str(exc), _raw(row)))
            continue
        out.rows.append({"date": day, "breaths_per_minute": rate, "record": row})
    return out
