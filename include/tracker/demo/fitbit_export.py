"""A small Fitbit data export (Google Takeout layout) of the demo person, for `tracker import fitbit-export`.

`write_export(folder, today, first, last)` writes `Takeout/Fitbit/…` for the local days [first, last] in the
export's real formats (sources.md §2.2): Fitbit's pretty-printed JSON arrays with `" : "`, `MM/DD/YY
HH:MM:SS` times written as UTC (the reading the importer detects), sleep in naive local ISO time, the HRV /
SpO2 / respiratory CSVs. The values come from the same `tracker.demo.google_health.Person` the demo Google
Health API serves, so where the export and the API overlap they describe the same days (and silver's
source precedence picks the API's).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from tracker.demo.google_health import MAX_HR, ZONE, Person, at_local
from tracker.sources.google_health.extract import STAGE_LEVELS  # the API's stage names → the export's levels

_MINUTE = timedelta(minutes=1)


def _pretty(value: object, indent: int = 0) -> str:
    """Fitbit's exporter style: two-space indent and `" : "` between key and value."""
    pad = " " * indent
    if isinstance(value, dict):
        inner = ",\n".join(f'{pad}  {json.dumps(k)} : {_pretty(v, indent + 2)}' for k, v in value.items())
        return "{\n" + inner + f"\n{pad}}}"
    if isinstance(value, list):
        return "[" + ",".join(_pretty(v, indent) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _write_json(path: Path, records: list) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_pretty(records), encoding="utf-8")


def _mdy(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%m/%d/%y %H:%M:%S")


def _days(first: date, last: date) -> Iterator[date]:
    for n in range((last - first).days + 1):
        yield first + timedelta(days=n)


def _local_iso(t: datetime) -> str:
    return t.astimezone(ZONE).strftime("%Y-%m-%dT%H:%M:%S.000")


def _minutes_of(day: date) -> Iterator[datetime]:
    t, end = at_local(day, 0), at_local(day + timedelta(days=1), 0)
    while t < end:
        yield t
        t += _MINUTE


def write_export(folder: Path, today: date, first: date, last: date) -> Path:
    """Write the export for local days [first, last]; returns the `Takeout` folder to import."""
    person = Person(today)
    last = min(last, today - timedelta(days=1))   # whole days only
    root = folder / "Takeout" / "Fitbit"
    data = root / "Global Export Data"
    old_zone = {"fat_burn": 0.5 * MAX_HR, "cardio": 0.7 * MAX_HR, "peak": 0.85 * MAX_HR}  # Fitbit's default zones
    resting, steps, sleeps, runs = [], [], [], []
    hrv, spo2, breathing = ["timestamp,rmssd,nremhr,entropy"], ["timestamp,average_value,lower_bound,upper_bound"], \
        ["timestamp,daily_respiratory_rate"]
    for day in _days(first, last):
        samples, zones = [], dict.fromkeys(("below", "fat_burn", "cardio", "peak"), 0)
        for t in _minutes_of(day):
            bpm = person.heart_rate(t)
            samples.append({"dateTime": _mdy(t), "value": {"bpm": bpm, "confidence": 3}})
            zone = "peak" if bpm >= old_zone["peak"] else "cardio" if bpm >= old_zone["cardio"] else \
                "fat_burn" if bpm >= old_zone["fat_burn"] else "below"
            zones[zone] += 1
        _write_json(data / f"heart_rate-{day:%Y-%m-%d}.json", samples)
        _write_json(data / f"time_in_heart_rate_zones-{day:%Y-%m-%d}.json", [{
            "dateTime": f"{day:%m/%d/%y} 00:00:00", "value": {"valuesInZones": {
                "BELOW_DEFAULT_ZONE_1": float(zones["below"]), "IN_DEFAULT_ZONE_1": float(zones["fat_burn"]),
                "IN_DEFAULT_ZONE_2": float(zones["cardio"]), "IN_DEFAULT_ZONE_3": float(zones["peak"])}}}])
        resting.append({"dateTime": f"{day:%m/%d/%y} 00:00:00",
                        "value": {"date": f"{day:%m/%d/%y}", "value": float(person.resting_hr(day)), "error": 6.4}})
        t = at_local(day, 0)
        while t < at_local(day + timedelta(days=1), 0):
            per_minute, extra = divmod(person.steps_in(t), 15)
            for i in range(15):
                steps.append({"dateTime": _mdy(t + i * _MINUTE), "value": str(per_minute + (1 if i < extra else 0))})
            t += 15 * _MINUTE
        sleeps += [_sleep_record(s) for s in person.sleeps_ending_on(day)]
        runs += [{"logId": int(r.id), "activityName": "Run", "activityTypeId": 90009, "averageHeartRate": r.avg_hr,
                  "calories": round(r.calories), "duration": int((r.end - r.start).total_seconds() * 1000),
                  "activeDuration": int(((r.end - r.start).total_seconds() - r.pause_seconds) * 1000),
                  "steps": r.steps, "logType": "auto_detected", "startTime": _mdy(r.start),
                  "distance": round(r.distance_m / 1000, 3), "distanceUnit": "Kilometer", "hasGps": True,
                  "source": {"type": "tracker", "name": "Pixel Watch 3"}} for r in person.runs_on(day)]
        entropy = round(2.6 + person.hrv(day) / 100, 2)
        hrv.append(f"{day}T00:00:00,{person.hrv(day)},{person.resting_hr(day) + 3},{entropy}")
        spo2.append(f"{day}T00:00:00,{person.spo2(day)},{round(person.spo2(day) - 2.3, 1)},"
                    f"{min(100.0, round(person.spo2(day) + 1.6, 1))}")
        breathing.append(f"{day}T00:00:00,{person.breathing(day)}")
    _write_json(data / f"resting_heart_rate-{first:%Y-%m-%d}.json", resting)
    _write_json(data / f"steps-{first:%Y-%m-%d}.json", steps)
    _write_json(data / f"sleep-{first:%Y-%m-%d}.json", sleeps)
    _write_json(data / "exercise-0.json", runs)
    hrv_name = f"Daily Heart Rate Variability Summary - {first:%Y-%m}-({first.day}).csv"
    for rel, lines in ((f"Heart Rate Variability/{hrv_name}", hrv),
                       (f"Oxygen Saturation (SpO2)/Daily SpO2 - {first}-{last}.csv", spo2),
                       (f"Heart Rate Variability/Daily Respiratory Rate Summary - {first}.csv", breathing)):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder / "Takeout"


def _sleep_record(s) -> dict:
    seconds = int((s.end - s.start).total_seconds())
    levels = [{"dateTime": _local_iso(a), "level": STAGE_LEVELS.get(kind, "awake"),
               "seconds": int((b - a).total_seconds())} for kind, a, b in s.stages]
    awake = sum(x["seconds"] for x in levels if x["level"] in ("wake", "awake", "restless")) // 60
    in_bed = seconds // 60
    summary: dict[str, dict[str, int]] = {}
    for x in levels:
        entry = summary.setdefault(x["level"], {"count": 0, "minutes": 0})
        entry["count"] += 1
        entry["minutes"] += x["seconds"] // 60
    return {"logId": int(s.id), "dateOfSleep": f"{s.end.astimezone(ZONE):%Y-%m-%d}", "startTime": _local_iso(s.start),
            "endTime": _local_iso(s.end), "duration": seconds * 1000,
            "minutesToFallAsleep": (s.stages[0][2] - s.stages[0][1]).seconds // 60 if s.stages[0][0] == "AWAKE" else 0,
            "minutesAsleep": in_bed - awake, "minutesAwake": awake, "minutesAfterWakeup": 0, "timeInBed": in_bed,
            "efficiency": round(100 * (in_bed - awake) / in_bed), "type": "classic" if s.nap else "stages",
            "infoCode": 0, "logType": "auto_detected", "mainSleep": not s.nap,
            "levels": {"summary": summary, "data": levels, "shortData": []}}


def import_demo_export(days: int = 30, *, today: date | None = None, history_days: int = 14, overlap_days: int = 3,
                       echo=print) -> None:
    """Write the demo export (the `history_days` before the demo's API window plus its first `overlap_days`,
    where the API wins) under the state folder and import it for the first configured person."""
    from tracker import settings
    from tracker.config import load_config
    from tracker.sources.fitbit_export.importer import import_export

    today = today or datetime.now(ZONE).date()
    window_start = today - timedelta(days=days)
    takeout = write_export(settings.state_dir() / "demo" / "fitbit_export", today,
                           window_start - timedelta(days=history_days), window_start + timedelta(days=overlap_days - 1))
    config = load_config()
    summary = import_export(takeout, dsn=settings.warehouse_dsn(), person_id=config.people[0].id, config=config)
    rows = sum(t.rows for t in summary.tables.values())
    echo(f"fitbit export for {summary.person_id}: {rows:,} rows ({summary.heart_rate_rows:,} heart-rate samples, "
         f"{summary.hr_unchanged_files} files unchanged) in {summary.seconds:.1f}s")
