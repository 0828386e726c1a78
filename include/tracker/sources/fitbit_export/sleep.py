"""Sleep sessions (`sleep-YYYY-MM-DD.json`): the session rows, their stage segments, and their placement
on UTC instants from the local wall times the export writes (DST rules in timezones.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tracker.sources.fitbit_export.records import (
    STAGE_LEVELS,
    BadRecord,
    Parsed,
    _each,
    _json_array,
    _raw,
    as_int,
    iso_date,
    iso_naive,
    required,
)
from tracker.sources.fitbit_export.timezones import (
    local_to_utc,
    place_segments,
    transitions,
    wall,
)
from tracker.warehouse.quarantine import Rejected

_SESSION_INTS = {"duration": "duration_ms", "minutesToFallAsleep": "minutes_to_fall_asleep",
                 "minutesAsleep": "minutes_asleep", "minutesAwake": "minutes_awake",
                 "minutesAfterWakeup": "minutes_after_wakeup", "timeInBed": "time_in_bed_min",
                 "efficiency": "efficiency", "infoCode": "info_code"}


def _wall_sequence_to_utc(values: list[datetime], zone: ZoneInfo) -> list[datetime]:
    """Naive wall times of one session, in order → non-decreasing UTC instants: the fold rule of
    `local_to_utc`, but a time inside a spring-forward gap (a clock reading that never happened) is the
    switch instant itself instead of being shifted an hour forward, so wall-clock-contiguous segments that
    run through the gap keep their order and the skipped hour gets no elapsed time."""
    out: list[datetime] = []
    for value, instant in zip(values, local_to_utc(values, zone), strict=True):
        if wall(instant, zone) != value:     # nonexistent: find the switch between the two readings
            earlier = value.replace(tzinfo=zone, fold=1).astimezone(UTC)
            found = transitions(zone, int(earlier.timestamp()), int(instant.timestamp()))
            if found:
                instant = datetime.fromtimestamp(found[0][0], UTC)
        out.append(max(instant, out[-1]) if out else instant)
    return out


def place_sleep(start: datetime, segments: list[tuple[datetime, int]], end: datetime,
                zone: ZoneInfo) -> tuple[datetime, list[tuple[datetime, datetime]], datetime]:
    """A session's naive start, `levels.data` segments (wall time, seconds) and end → UTC start, one
    (started_at, ended_at) per segment and end, all on the elapsed clock.

    Segments whose `seconds` are elapsed time line up from the start (`place_segments`): end = start +
    seconds. Otherwise Fitbit wrote the night on the wall clock (across a DST switch the seconds then sum to
    the clock span — 287 min for a 227-min spring night, 480 for a 540-min autumn one): each segment is
    placed by its own wall time and, where it is wall-contiguous with the next one (start + seconds = the
    next start on the clock), ends where that one begins, so the segments tile the session's real time."""
    start_at, placed, end_at = place_segments(start, segments, end, zone)
    if all(placed[i] + timedelta(seconds=segments[i][1]) == placed[i + 1] for i in range(len(placed) - 1)):
        return start_at, [(at, at + timedelta(seconds=s)) for at, (_, s) in zip(placed, segments, strict=True)], end_at
    seq = _wall_sequence_to_utc([start, *(n for n, _ in segments), end], zone)
    start_at, placed, end_at = seq[0], seq[1:-1], max(seq[-1], seq[0])
    spans = []
    for i, (naive, seconds) in enumerate(segments):
        next_naive, next_at = (segments[i + 1][0], placed[i + 1]) if i + 1 < len(segments) else (end, end_at)
        began = placed[i]
        if naive + timedelta(seconds=seconds) == next_naive:
            ended = next_at
        else:
            ended = min(began + timedelta(seconds=seconds), max(next_at, began))
        spans.append((began, max(ended, began)))
    return start_at, spans, end_at


def parse_sleep(data: bytes, name: str, zone: ZoneInfo) -> Parsed:
    """`sleep-D.json` (≈30-day chunk): sessions in `rows`, their level segments in `extra`.

    Times are naive local, converted with the person's zone (module doc of timezones): `levels.data`
    segments by `place_sleep` (elapsed time from the session start, else — a night written on the wall
    clock — by their wall times, tiling the session), `levels.shortData` (short wakes) by the fold rule as
    one sequence led by the session start, ending at start + seconds. A session over 24 hours is rejected.
    De-duplication by logId across chunk files is the importer's (it sees every file).
    """
    out = Parsed()
    for i, record in _each(_json_array(data, name, out), name, out):
        locator = f"{name}[{i}]"
        try:
            log_id = as_int(required(record.get("logId"), "logId"), "logId")
            day = iso_date(record.get("dateOfSleep"), "dateOfSleep")
            start = iso_naive(record.get("startTime"), "startTime")
            end = iso_naive(record.get("endTime"), "endTime")
            if (start.tzinfo is None) != (end.tzinfo is None):
                raise BadRecord("startTime and endTime mix zoned and naive times")
            sleep_type = record.get("type")
            if sleep_type is not None and not isinstance(sleep_type, str):
                raise BadRecord(f"type is not a string: {sleep_type!r}")
            ints = {col: as_int(record.get(key), key) for key, col in _SESSION_INTS.items()}
            main = record.get("mainSleep")
            if main is not None and not isinstance(main, bool):
                raise BadRecord(f"mainSleep is not a boolean: {main!r}")
            levels = record.get("levels") or {}
            if not isinstance(levels, dict):
                raise BadRecord("levels is not an object")
        except BadRecord as exc:
            out.rejected.append(Rejected(locator, str(exc), _raw(record)))
            continue
        allowed = STAGE_LEVELS.get(sleep_type or "", STAGE_LEVELS["stages"] | STAGE_LEVELS["classic"])
        segments: dict[str, list[tuple[int, datetime, str, int]]] = {}
        for kind, key in (("data", "data"), ("short", "shortData")):
            items = levels.get(key) or []
            if not isinstance(items, list):
                out.rejected.append(Rejected(f"{locator}.levels.{key}", "not an array", _raw(items)))
                items = []
            good = []
            for j, item in enumerate(items):
                try:
                    if not isinstance(item, dict):
                        raise BadRecord("segment is not an object")
                    at = iso_naive(item.get("dateTime"), "dateTime")
                    level = item.get("level")
                    if level not in allowed:
                        raise BadRecord(f"level {level!r} not one of {sorted(allowed)} for type {sleep_type!r}")
                    seconds = as_int(required(item.get("seconds"), "seconds"), "seconds")
                    if not 0 < seconds <= 86_400:
                        raise BadRecord(f"seconds={seconds} outside (0, 86400]")
                    if (at.tzinfo is None) != (start.tzinfo is None):
                        raise BadRecord("segment time zoned differently from the session")
                except BadRecord as exc:
                    out.rejected.append(Rejected(f"{locator}.levels.{key}[{j}]", str(exc), _raw(item)))
                    continue
                good.append((j, at, level, seconds))
            segments[kind] = good
        if start.tzinfo is None:
            start_at, data_spans, end_at = place_sleep(start, [(s[1], s[3]) for s in segments["data"]], end, zone)
            short_at = local_to_utc([start, *(s[1] for s in segments["short"])], zone)[1:]
        else:
            start_at, end_at = start.astimezone(UTC), end.astimezone(UTC)
            data_spans = [(s[1].astimezone(UTC), s[1].astimezone(UTC) + timedelta(seconds=s[3]))
                          for s in segments["data"]]
            short_at = [s[1].astimezone(UTC) for s in segments["short"]]
        spans = {"data": data_spans, "short": [(at, at + timedelta(seconds=s[3]))
                                               for at, s in zip(short_at, segments["short"], strict=True)]}
        if end_at < start_at:
            out.rejected.append(Rejected(locator, "endTime before startTime", _raw(record)))
            continue
        if end_at - start_at > timedelta(hours=24):
            out.rejected.append(Rejected(locator, "session longer than 24 hours", _raw(record)))
            continue
        out.rows.append({"log_id": log_id, "date_of_sleep": day, "start_local": start.replace(tzinfo=None),
                         "end_local": end.replace(tzinfo=None), "start_at": start_at, "end_at": end_at,
                         "sleep_type": sleep_type, "log_type": record.get("logType"), "is_main_sleep": main,
                         **ints, "record": record})
        for kind in ("data", "short"):
            for seq_no, ((_, at, level, seconds), (began, ended)) in enumerate(
                    zip(segments[kind], spans[kind], strict=True)):
                out.extra.append({"log_id": log_id, "kind": kind, "seq": seq_no, "level": level,
                                  "start_local": at.replace(tzinfo=None), "started_at": began,
                                  "ended_at": ended, "seconds": seconds})
    return out
