"""Heart rate (`heart_rate-YYYY-MM-DD.json`, one day, up to ~90k samples, ~30 M a year): the hot path.

`parse_heart_rate` returns numpy columns, no per-row objects beyond what the JSON parse needs. It first tries
a vectorised scan of the exact layout Fitbit writes (pretty-printed `"key" : value`, fixed-width
`MM/DD/YY HH:MM:SS`, integer bpm/confidence; every structural assumption is checked over the whole file) and
falls back to `orjson.loads` of the whole file (GC paused) with per-record validation whenever a check
fails — strings-as-numbers, nulls, missing keys, odd formatting and bad records all take that path, which is
the reference the scan is tested against. Memory is bounded by one day's file either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import orjson

from tracker.sources.fitbit_export.records import (
    _BOM,
    BPM_RANGE,
    BadRecord,
    _raw,
    as_int,
    load_json,
    mdy_naive_us,
    required,
)
from tracker.sources.fitbit_export.timezones import (
    US,
)
from tracker.warehouse.quarantine import Rejected


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
