"""Parsers of the Fitbit export files: bounded memory (one file at a time), bad records → Rejected.

The heart-rate scanner lives in heart_rate.py, sleep sessions and their placement in sleep.py, the shared
number/time readers in records.py; all are re-exported here. The other files are small (daily rows, CSVs)
and are parsed record by record into dicts whose keys are the raw tables' column names. Records that cannot
be read go to `Rejected` with `file[index]` (JSON) or `file:line` (CSV) and the reason; records that are
valid but carry no value (resting heart rate 0/null, SpO2 sentinel 50.0, …) are skipped and counted by reason.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import UTC
from typing import IO, Any
from zoneinfo import ZoneInfo

from tracker.sources.fitbit_export.heart_rate import HeartRateSamples, parse_heart_rate  # noqa: F401  re-exported
from tracker.sources.fitbit_export.records import (  # noqa: F401  re-exported for activity.py and callers
    BPM_RANGE,
    SPO2_SENTINEL,
    STAGE_LEVELS,
    BadRecord,
    Parsed,
    _each,
    _json_array,
    _raw,
    as_float,
    as_int,
    gc_paused,
    iso_date,
    iso_naive,
    load_json,
    mdy_date,
    mdy_naive_us,
    required,
    to_utc,
)
from tracker.sources.fitbit_export.sleep import parse_sleep, place_sleep  # noqa: F401  re-exported
from tracker.sources.fitbit_export.timezones import (
    naive_us,
)
from tracker.warehouse.quarantine import Rejected


# ---------------------------------------------------------------------------------------------- small JSON
def parse_resting_heart_rate(data: bytes, name: str) -> Parsed:
    """`{dateTime, value:{date "MM/DD/YY", value, error}}`; value 0/null = no estimate that day (skipped)."""
    out = Parsed()
    for i, record in _each(_json_array(data, name, out), name, out):
        try:
            value = record.get("value")
            if not isinstance(value, dict):
                raise BadRecord("value is missing or not an object")
            day = mdy_date(value.get("date") or record.get("dateTime"))
            bpm = as_float(value.get("value"), "value.value")
            error = as_float(value.get("error"), "value.error")
        except BadRecord as exc:
            out.rejected.append(Rejected(f"{name}[{i}]", str(exc), _raw(record)))
            continue
        if bpm is None or bpm == 0:
            out.skipped["no estimate (value 0 or null)"] += 1
            continue
        if not BPM_RANGE[0] <= bpm <= BPM_RANGE[1]:
            out.rejected.append(Rejected(f"{name}[{i}]", f"value.value={bpm} outside {BPM_RANGE}", _raw(record)))
            continue
        out.rows.append({"date": day, "bpm": bpm, "error": error, "record": record})
    return out


ZONE_KEYS = {"BELOW_DEFAULT_ZONE_1": "below_zone_1_min", "IN_DEFAULT_ZONE_1": "zone_1_min",
             "IN_DEFAULT_ZONE_2": "zone_2_min", "IN_DEFAULT_ZONE_3": "zone_3_min"}


def parse_heart_rate_zones(data: bytes, name: str) -> Parsed:
    """`{dateTime, value:{valuesInZones:{BELOW_DEFAULT_ZONE_1, IN_DEFAULT_ZONE_1..3}}}` minutes per day."""
    out = Parsed()
    for i, record in _each(_json_array(data, name, out), name, out):
        try:
            day = mdy_date(required(record.get("dateTime"), "dateTime"))
            zones = (record.get("value") or {}).get("valuesInZones") if isinstance(record.get("value"), dict) \
                else None
            if not isinstance(zones, dict):
                raise BadRecord("value.valuesInZones is missing")
            row: dict[str, Any] = {"date": day, "record": record}
            for key, column in ZONE_KEYS.items():
                minutes = as_float(zones.get(key), f"valuesInZones.{key}")
                if minutes is not None and not 0 <= minutes <= 1500:
                    raise BadRecord(f"valuesInZones.{key}={minutes} outside [0, 1500] minutes")
                row[column] = minutes
            if all(row[c] is None for c in ZONE_KEYS.values()):
                raise BadRecord("no zone minutes")
        except BadRecord as exc:
            out.rejected.append(Rejected(f"{name}[{i}]", str(exc), _raw(record)))
            continue
        out.rows.append(row)
    return out


# ---------------------------------------------------------------------------------------------- CSV
def _csv_rows(stream: IO[str], name: str, needed: Iterable[str], out: Parsed) -> Iterator[tuple[str, dict]]:
    reader = csv.DictReader(stream)
    header = reader.fieldnames or []
    missing = [c for c in needed if c not in header]
    if missing:
        out.rejected.append(Rejected(f"{name}:1", f"header lacks {missing}", ",".join(header)))
        return
    for row in reader:
        if None in row:  # more cells than header columns
            out.rejected.append(Rejected(f"{name}:{reader.line_num}", "more cells than the header",
                                         _raw({k or "_extra": v for k, v in row.items()})))
            continue
        yield f"{name}:{reader.line_num}", row


def parse_hrv_daily(stream: IO[str], name: str) -> Parsed:
    """`Daily Heart Rate Variability Summary - *.csv`: timestamp,rmssd,nremhr,entropy (local date)."""
    out = Parsed()
    for locator, row in _csv_rows(stream, name, ("timestamp", "rmssd"), out):
        try:
            parsed = {"date": iso_date(row["timestamp"], "timestamp"),
                      "rmssd_ms": as_float(row.get("rmssd"), "rmssd"),
                      "nrem_hr_bpm": as_float(row.get("nremhr"), "nremhr"),
                      "entropy": as_float(row.get("entropy"), "entropy"), "record": row}
            if parsed["rmssd_ms"] is None:
                out.skipped["no rmssd"] += 1
                continue
            if not 0 < parsed["rmssd_ms"] < 1000:
                raise BadRecord(f"rmssd={parsed['rmssd_ms']} outside (0, 1000) ms")
        except BadRecord as exc:
            out.rejected.append(Rejected(locator, str(exc), _raw(row)))
            continue
        out.rows.append(parsed)
    return out


def _spo2(value: float | None, what: str) -> float | None:
    if value is not None and not 0 < value <= 100:
        raise BadRecord(f"{what}={value} outside (0, 100] %")
    return value


def parse_spo2_daily(stream: IO[str], name: str) -> Parsed:
    """`Daily SpO2 - <start>-<end>.csv`: timestamp,average_value,lower_bound,upper_bound (local date)."""
    out = Parsed()
    for locator, row in _csv_rows(stream, name, ("timestamp", "average_value"), out):
        try:
            parsed = {"date": iso_date(row["timestamp"], "timestamp"),
                      "average_pct": _spo2(as_float(row.get("average_value"), "average_value"), "average_value"),
                      "lower_bound_pct": _spo2(as_float(row.get("lower_bound"), "lower_bound"), "lower_bound"),
                      "upper_bound_pct": _spo2(as_float(row.get("upper_bound"), "upper_bound"), "upper_bound"),
                      "record": row}
        except BadRecord as exc:
            out.rejected.append(Rejected(locator, str(exc), _raw(row)))
            continue
        if parsed["average_pct"] is None:
            out.skipped["no average value"] += 1
            continue
        out.rows.append(parsed)
    return out


def parse_spo2_minute(stream: IO[str], name: str) -> Parsed:
    """`Minute SpO2 - D.csv`: timestamp (ISO, Z = UTC; no zone is read as UTC too),value; 50.0 = invalid."""
    out = Parsed()
    for locator, row in _csv_rows(stream, name, ("timestamp", "value"), out):
        try:
            at = iso_naive(row["timestamp"], "timestamp")
            at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
            value = as_float(row.get("value"), "value")
            if value == SPO2_SENTINEL:
                out.skipped["invalid-reading sentinel 50.0"] += 1
                continue
            if value is None:
                out.skipped["no value"] += 1
                continue
            _spo2(value, "value")
        except BadRecord as exc:
            out.rejected.append(Rejected(locator, str(exc), _raw(row)))
            continue
        out.rows.append({"observed_at": at, "spo2_pct": value})
    return out


SLEEP_SCORE_INTS = {"overall_score": "overall_score", "composition_score": "composition_score",
                    "revitalization_score": "revitalization_score", "duration_score": "duration_score",
                    "deep_sleep_in_minutes": "deep_sleep_min", "resting_heart_rate": "resting_heart_rate"}


def parse_sleep_score(stream: IO[str], name: str, zone: ZoneInfo) -> Parsed:
    """`sleep_score.csv`; sleep_log_entry_id is the sleep logId; a naive timestamp is local time."""
    out = Parsed()
    for locator, row in _csv_rows(stream, name, ("sleep_log_entry_id", "timestamp", "overall_score"), out):
        try:
            parsed: dict[str, Any] = {
                "log_id": as_int(required(as_float(row["sleep_log_entry_id"], "sleep_log_entry_id"),
                                          "sleep_log_entry_id"), "sleep_log_entry_id"),
                "scored_at": to_utc(iso_naive(row["timestamp"], "timestamp"), zone)}
            for key, column in SLEEP_SCORE_INTS.items():
                parsed[column] = as_int(row.get(key), key)
            parsed["restlessness"] = as_float(row.get("restlessness"), "restlessness")
            if parsed["overall_score"] is not None and not 0 <= parsed["overall_score"] <= 100:
                raise BadRecord(f"overall_score={parsed['overall_score']} outside [0, 100]")
            parsed["record"] = row
        except BadRecord as exc:
            out.rejected.append(Rejected(locator, str(exc), _raw(row)))
            continue
        out.rows.append(parsed)
    return out


__all__ = ["HeartRateSamples", "Parsed", "BadRecord", "parse_heart_rate", "parse_resting_heart_rate",
           "parse_heart_rate_zones", "parse_sleep", "parse_hrv_daily", "parse_spo2_daily", "parse_spo2_minute",
           "parse_sleep_score", "mdy_naive_us", "naive_us"]
