"""Parsers of the Fitbit export files: bounded memory (one file at a time), bad records → Rejected.

Heart rate (`heart_rate-YYYY-MM-DD.json`, one day, up to ~90k samples, ~30 M a year) is the hot path: no
per-row objects beyond what the JSON parse needs. `parse_heart_rate` returns numpy columns. It first tries a
vectorised scan of the exact layout Fitbit writes (pretty-printed `"key" : value`, fixed-width
`MM/DD/YY HH:MM:SS`, integer bpm/confidence; every structural assumption is checked over the whole file) and
falls back to `orjson.loads` of the whole file (GC paused) with per-record validation whenever a check
fails — strings-as-numbers, nulls, missing keys, odd formatting and bad records all take that path, which is
the reference the scan is tested against. Memory is bounded by one day's file either way.

The other files are small (daily rows, sleep sessions, CSVs) and are parsed record by record into dicts
whose keys are the raw tables' column names. Numbers given as strings are accepted; records that cannot be
read go to `Rejected` with `file[index]` (JSON) or `file:line` (CSV) and the reason; records that are valid
but carry no value (resting heart rate 0/null, SpO2 sentinel 50.0, …) are skipped and counted by reason.
"""

from __future__ import annotations

import csv
import gc
import math
from collections import Counter
from collections.abc import Generator, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import IO, Any
from zoneinfo import ZoneInfo

import numpy as np
import orjson

from tracker.sources.fitbit_export.timezones import (
    US,
    local_to_utc,
    naive_us,
    place_segments,
    transitions,
    wall,
)
from tracker.warehouse.quarantine import Rejected

BPM_RANGE = (1, 300)
SPO2_SENTINEL = 50.0
STAGE_LEVELS = {"stages": {"wake", "light", "deep", "rem"}, "classic": {"asleep", "restless", "awake"}}
_EPOCH_DATE = date(1970, 1, 1)


class BadRecord(ValueError):
    """A record that cannot be loaded; the message is the quarantine reason."""


@contextmanager
def gc_paused() -> Generator[None, None, None]:
    """Parsing a large JSON array allocates ~10^5 containers: the cyclic GC would run dozens of times."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_BOM = b"\xef\xbb\xbf"


def load_json(data: bytes) -> Any:
    with gc_paused():
        return orjson.loads(data[3:] if data.startswith(_BOM) else data)


def _raw(record: Any) -> str:
    try:
        return orjson.dumps(record).decode()
    except TypeError:
        return repr(record)


# ---------------------------------------------------------------------------------------------- numbers
def as_float(value: Any, what: str) -> float | None:
    """A number, or a number given as a string; None for null/empty. NaN/inf and booleans are bad."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise BadRecord(f"{what} is a boolean")
    if isinstance(value, int | float):
        result = float(value)
    elif isinstance(value, str):
        try:
            result = float(value.strip())
        except ValueError:
            raise BadRecord(f"{what} is not a number: {value!r}") from None
    else:
        raise BadRecord(f"{what} is not a number: {value!r}")
    if not math.isfinite(result):
        raise BadRecord(f"{what} is not finite: {value!r}")
    return result


def as_int(value: Any, what: str) -> int | None:
    result = as_float(value, what)
    if result is None:
        return None
    if not result.is_integer():
        raise BadRecord(f"{what} is not an integer: {value!r}")
    return int(result)


def required(value: Any, what: str) -> Any:
    if value is None:
        raise BadRecord(f"{what} is missing")
    return value


# ---------------------------------------------------------------------------------------------- times
@lru_cache(maxsize=4096)
def _mdy_day_us(text: str) -> int:
    """'MM/DD/YY' → naive µs of that midnight (validated)."""
    if len(text) != 8 or text[2] != "/" or text[5] != "/" or not (text[:2] + text[3:5] + text[6:]).isdigit():
        raise BadRecord(f"bad date {text!r} (expected MM/DD/YY)")
    try:
        day = date(2000 + int(text[6:]), int(text[:2]), int(text[3:5]))
    except ValueError:
        raise BadRecord(f"bad date {text!r}") from None
    return (day - _EPOCH_DATE).days * 86_400 * US


def mdy_date(text: Any) -> date:
    if not isinstance(text, str):
        raise BadRecord(f"bad date {text!r} (expected MM/DD/YY)")
    return _EPOCH_DATE + timedelta(days=_mdy_day_us(text[:8]) // US // 86_400)


def mdy_naive_us(text: Any) -> int:
    """'MM/DD/YY HH:MM:SS' (fixed width) → naive µs, by slicing."""
    if not isinstance(text, str) or len(text) != 17 or text[8] != " " or text[11] != ":" or text[14] != ":":
        raise BadRecord(f"bad dateTime {text!r} (expected MM/DD/YY HH:MM:SS)")
    clock = text[9:11] + text[12:14] + text[15:17]
    if not clock.isdigit():
        raise BadRecord(f"bad dateTime {text!r}")
    h, m, s = int(clock[:2]), int(clock[2:4]), int(clock[4:])
    if h > 23 or m > 59 or s > 59:
        raise BadRecord(f"bad dateTime {text!r}")
    return _mdy_day_us(text[:8]) + ((h * 60 + m) * 60 + s) * US


def iso_naive(text: Any, what: str) -> datetime:
    """ISO local time without zone ('2024-02-22T07:41:30.000'); an explicit offset is kept (aware)."""
    if not isinstance(text, str):
        raise BadRecord(f"{what} is missing or not a string: {text!r}")
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadRecord(f"{what} is not an ISO time: {text!r}") from None


def iso_date(text: Any, what: str) -> date:
    if not isinstance(text, str) or len(text.strip()) < 10:
        raise BadRecord(f"{what} is not a date: {text!r}")
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise BadRecord(f"{what} is not a date: {text!r}") from None


def to_utc(value: datetime, zone: ZoneInfo) -> datetime:
    """One local time (no sequence context: fold=0, gap shifted forward); aware values just convert."""
    if value.tzinfo is not None:
        return value.astimezone(UTC)
    return local_to_utc([value], zone)[0]


# ---------------------------------------------------------------------------------------------- heart rate
@dataclass
class HeartRateSamples:
    """One heart_rate-D.json as columns; `index` is each sample's position in the file's array."""

    naive_us: np.ndarray          # int64, naive µs as written (reading decided later)
    bpm: np.ndarray               # int16
    confidence: np.ndarray        # int16 (0 where null)
    confidence_null: np.ndarray | None  # bool mask, None when no confidence is null
    index: np.ndarray             # int64
    records: int
    rejected: list[Rejected] = field(default_factory=list)
    path: str = "scan"            # scan | json

    def __len__(self) -> int:
        return int(self.bpm.size)

    def record_text(self, i: int) -> str:
        """The sample at column position i, re-serialised in the export's shape (for quarantine)."""
        naive = datetime(1970, 1, 1) + timedelta(microseconds=int(self.naive_us[i]))
        conf = None if self.confidence_null is not None and self.confidence_null[i] else int(self.confidence[i])
        return orjson.dumps({"dateTime": naive.strftime("%m/%d/%y %H:%M:%S"),
                             "value": {"bpm": int(self.bpm[i]), "confidence": conf}}).decode()

    def select(self, keep: np.ndarray) -> HeartRateSamples:
        return HeartRateSamples(
            self.naive_us[keep], self.bpm[keep], self.confidence[keep],
            None if self.confidence_null is None else self.confidence_null[keep], self.index[keep],
            self.records, self.rejected, self.path)


_BPM_KEY, _CONF_KEY = b'"bpm"', b'"confidence"'
_DT_KEY = b'"dateTime"'
_DIGITS = np.array([0, 1, 3, 4, 6, 7, 9, 10, 12, 13, 15, 16])
_SEPARATORS = np.array([2, 5, 8, 11, 14])
_SEPARATOR_CHARS = np.frombuffer(b"// ::", np.uint8)
_AFTER_NUMBER = np.zeros(256, dtype=bool)
_AFTER_NUMBER[[ord(c) for c in ", \t\r\n}"]] = True
_IS_DIGIT = np.zeros(256, dtype=bool)
_IS_DIGIT[ord("0"):ord("9") + 1] = True
_KEY_GAP = np.zeros(256, dtype=bool)
_KEY_GAP[[ord(c) for c in " \t\r\n:"]] = True


_MONTH_DAYS = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates, vectorised (H. Hinnant's algorithm)."""
    y = y - (m <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + np.where(m > 2, -3, 9)) + 2) // 5 + d - 1
    return era * 146_097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719_468


def decode_mdy(text: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, 17) uint8 matrix of 'MM/DD/YY HH:MM:SS' → (naive µs int64, valid mask), vectorised."""
    ok = (text[:, _SEPARATORS] == _SEPARATOR_CHARS).all(axis=1)
    digits = text[:, _DIGITS].astype(np.int32) - 48
    ok &= ((digits >= 0) & (digits <= 9)).all(axis=1)
    pairs = digits[:, 0::2] * 10 + digits[:, 1::2]  # MM DD YY hh mm ss (int32)
    month, day, year = pairs[:, 0], pairs[:, 1], pairs[:, 2] + 2000
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    ok &= (month >= 1) & (month <= 12) & (day >= 1)
    ok &= day <= np.where((month == 2) & ~leap, 28, _MONTH_DAYS[np.clip(month, 0, 12)])
    ok &= (pairs[:, 3] <= 23) & (pairs[:, 4] <= 59) & (pairs[:, 5] <= 59)
    days = days_from_civil(year, month, day).astype(np.int64)
    naive = days * (86_400 * US) + ((pairs[:, 3] * 60 + pairs[:, 4]) * 60 + pairs[:, 5]).astype(np.int64) * US
    return naive, ok


def _key_positions(buf: np.ndarray, key: bytes, marker: int, offset: int, n: int) -> np.ndarray | None:
    """Start of each occurrence of `key`, found through a byte (`marker`, at `offset` in key) that occurs
    nowhere else in the file; None unless there are exactly n. The first occurrence is compared whole,
    the others by their quotes and first letter (the marker count already ties each one to a key)."""
    hits = np.flatnonzero(buf == marker)
    if hits.size != n:
        return None
    starts = hits - offset
    if starts[0] < 0 or starts[-1] + len(key) > buf.size or buf[starts[0]:starts[0] + len(key)].tobytes() != key:
        return None
    if not ((buf[starts] == key[0]) & (buf[starts + 1] == key[1]) & (buf[starts + len(key) - 1] == key[-1])).all():
        return None
    return starts


def _small_ints(buf: np.ndarray, key_starts: np.ndarray, key_len: int) -> np.ndarray | None:
    """The unsigned integer (1–3 digits) after each `"key" :`; None if any value is anything else."""
    first = int(key_starts[0]) + key_len
    gap = 0
    while first + gap < buf.size and _KEY_GAP[buf[first + gap]]:
        gap += 1
    if gap == 0 or b":" not in buf[first:first + gap].tobytes():
        return None
    begin = key_starts + key_len
    if begin[-1] + gap + 4 > buf.size:
        return None
    if not _KEY_GAP[buf[begin[:, None] + np.arange(gap)]].all():
        return None
    v = begin + gap
    c0, c1, c2, c3 = buf[v], buf[v + 1], buf[v + 2], buf[v + 3]
    d1, d2 = _IS_DIGIT[c1], _IS_DIGIT[c2]
    if not _IS_DIGIT[c0].all():
        return None
    one, two = ~d1, d1 & ~d2
    end = np.where(one, c1, np.where(two, c2, c3))
    if not _AFTER_NUMBER[end].all():
        return None
    a, b, c = c0.astype(np.int16) - 48, c1.astype(np.int16) - 48, c2.astype(np.int16) - 48
    return np.where(one, a, np.where(two, a * 10 + b, a * 100 + b * 10 + c)).astype(np.int16)


def _scan_heart_rate(data: bytes) -> HeartRateSamples | None:
    """Vectorised read of Fitbit's exact layout; None as soon as any assumption does not hold."""
    if data.startswith(_BOM):
        data = data[3:]
    buf = np.frombuffer(data, np.uint8)
    # in these files 'T' occurs only in "dateTime", 'b' only in "bpm", 'f' only in "confidence"
    t_pos = np.flatnonzero(buf == ord("T")) - 5
    n = t_pos.size
    if n == 0 or not data.lstrip().startswith(b"[") or not data.rstrip().endswith(b"]"):
        return None  # a truncated file is left to the JSON path, which rejects it as a whole
    opening = np.count_nonzero(buf == ord("{"))
    if opening != 2 * n or np.count_nonzero(buf == ord("}")) != opening:
        return None
    b_pos = _key_positions(buf, _BPM_KEY, ord("b"), 1, n)
    c_pos = _key_positions(buf, _CONF_KEY, ord("f"), 4, n)
    if b_pos is None or c_pos is None or t_pos[0] < 0 or buf[t_pos[0]:t_pos[0] + 10].tobytes() != _DT_KEY:
        return None
    # one record: a 'T' (of "dateTime"), its time (the record's only '/'-holding string: fixed width,
    # quoted), then bpm, then confidence, all before the next record's 'T'
    nxt = np.append(t_pos[1:], buf.size)
    if not ((t_pos < b_pos) & (b_pos < c_pos) & (c_pos < nxt)).all():
        return None
    slashes = np.flatnonzero(buf == ord("/"))
    if slashes.size != 2 * n:
        return None
    start = slashes[0::2] - 2
    if not ((start > t_pos) & (start < b_pos)).all() or start[-1] + 18 > buf.size:
        return None
    if not ((buf[start - 1] == ord('"')) & (buf[start + 17] == ord('"'))).all():
        return None
    naive, ok = decode_mdy(buf[start[:, None] + np.arange(17)])
    if not ok.all():
        return None
    bpm = _small_ints(buf, b_pos, len(_BPM_KEY))
    confidence = _small_ints(buf, c_pos, len(_CONF_KEY))
    if bpm is None or confidence is None or (bpm < BPM_RANGE[0]).any() or (bpm > BPM_RANGE[1]).any():
        return None  # the JSON path reads or quarantines them one by one
    return HeartRateSamples(naive, bpm, confidence, None, np.arange(n, dtype=np.int64), n, path="scan")


def _heart_rate_record(record: Any) -> tuple[int, int, int | None]:
    """Full validation of one sample (the slow path): (naive µs, bpm, confidence or None)."""
    if not isinstance(record, dict):
        raise BadRecord("record is not an object")
    t = mdy_naive_us(required(record.get("dateTime"), "dateTime"))
    value = record.get("value")
    if not isinstance(value, dict):
        raise BadRecord("value is missing or not an object")
    b = as_int(required(value.get("bpm"), "value.bpm"), "value.bpm")
    if not BPM_RANGE[0] <= b <= BPM_RANGE[1]:
        raise BadRecord(f"value.bpm={b} outside [{BPM_RANGE[0]}, {BPM_RANGE[1]}]")
    c = as_int(value.get("confidence"), "value.confidence")
    if c is not None and not -32768 <= c <= 32767:
        raise BadRecord(f"value.confidence={c} out of range")
    return t, b, c


def _json_heart_rate(data: bytes, name: str) -> HeartRateSamples:
    """orjson of the whole file; well-formed samples are decoded in bulk, the rest one by one."""
    try:
        records = load_json(data)
    except orjson.JSONDecodeError as exc:
        return _empty(name, f"invalid JSON: {exc}", data)
    if not isinstance(records, list):
        return _empty(name, f"expected a JSON array, got {type(records).__name__}", data)
    n = len(records)
    texts, bpms, confs, fast_idx, slow_idx = [], [], [], [], []
    for i, record in enumerate(records):
        try:
            value = record["value"]
            text, b, c = record["dateTime"], value["bpm"], value["confidence"]
        except (KeyError, TypeError):
            slow_idx.append(i)
            continue
        if type(b) is int and type(c) is int and type(text) is str and len(text) == 17 and text.isascii() \
                and BPM_RANGE[0] <= b <= BPM_RANGE[1] and -32768 <= c <= 32767:
            texts.append(text)
            bpms.append(b)
            confs.append(c)
            fast_idx.append(i)
        else:
            slow_idx.append(i)
    index = np.array(fast_idx, dtype=np.int64)
    if texts:
        naive, ok = decode_mdy(np.frombuffer("".join(texts).encode("ascii"), np.uint8).reshape(-1, 17))
        if not ok.all():
            slow_idx.extend(index[~ok].tolist())
            naive, index = naive[ok], index[ok]
        bpm, conf = np.array(bpms, dtype=np.int16)[ok], np.array(confs, dtype=np.int16)[ok]
    else:
        naive, bpm, conf = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int16), np.empty(0, dtype=np.int16))
    conf_null = None
    rejected = []
    if slow_idx:
        extra = []
        for i in sorted(slow_idx):
            try:
                extra.append((i, *_heart_rate_record(records[i])))
            except BadRecord as exc:
                rejected.append(Rejected(locator=f"{name}[{i}]", reason=str(exc), raw_text=_raw(records[i])))
        if extra:
            null = np.concatenate([np.zeros(naive.size, dtype=bool), np.array([e[3] is None for e in extra])])
            index = np.concatenate([index, np.array([e[0] for e in extra], dtype=np.int64)])
            naive = np.concatenate([naive, np.array([e[1] for e in extra], dtype=np.int64)])
            bpm = np.concatenate([bpm, np.array([e[2] for e in extra], dtype=np.int16)])
            conf = np.concatenate([conf, np.array([e[3] or 0 for e in extra], dtype=np.int16)])
            order = np.argsort(index, kind="stable")  # file order: the fold rule depends on it
            index, naive, bpm, conf, null = index[order], naive[order], bpm[order], conf[order], null[order]
            conf_null = null if null.any() else None
    return HeartRateSamples(naive, bpm, conf, conf_null, index, n, rejected, path="json")


def _empty(name: str, reason: str, data: bytes) -> HeartRateSamples:
    none = np.empty(0, dtype=np.int64)
    return HeartRateSamples(none, none.astype(np.int16), none.astype(np.int16), None, none, 0,
                            [Rejected(locator=name, reason=reason, raw_text=data[:2000].decode("utf-8", "replace"))],
                            path="json")


def parse_heart_rate(data: bytes, name: str, *, allow_scan: bool = True) -> HeartRateSamples:
    """`heart_rate-D.json` → columns (vectorised scan, else the orjson reference path)."""
    if allow_scan and (scanned := _scan_heart_rate(data)) is not None:
        return scanned
    return _json_heart_rate(data, name)


# ---------------------------------------------------------------------------------------------- small JSON
@dataclass
class Parsed:
    """Rows (dicts keyed by raw column names), rejected records and skipped-with-reason counts."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    extra: list[dict[str, Any]] = field(default_factory=list)   # second table (sleep stages)


def _json_array(data: bytes, name: str, out: Parsed) -> list[Any]:
    try:
        records = load_json(data)
    except orjson.JSONDecodeError as exc:
        out.rejected.append(Rejected(name, f"invalid JSON: {exc}", data[:2000].decode("utf-8", "replace")))
        return []
    if not isinstance(records, list):
        out.rejected.append(Rejected(name, "expected a JSON array", data[:2000].decode("utf-8", "replace")))
        return []
    return records


def _each(records: list[Any], name: str, out: Parsed) -> Iterator[tuple[int, dict[str, Any]]]:
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            out.rejected.append(Rejected(f"{name}[{i}]", "record is not an object", _raw(record)))
            continue
        yield i, record


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
