"""Time zones of a Fitbit export: which reading a heart-rate file needs, and naive local time → UTC.

Facts (/work/shared/docs/sources.md §2.3): sleep JSON and the HRV/SpO2-daily/sleep-score CSVs carry naive
local times; Minute SpO2 and all `*_GoogleData` CSVs carry UTC with `Z`; for `heart_rate-D.json`
(`MM/DD/YY HH:MM:SS`, no zone) the evidence conflicts — one real export holds UTC times covering the user's
*local* day D, another source calls them local. So every heart-rate file is judged on its own.

Heart-rate file reading (`--hr-timezone auto`), decided per file, first rule that applies wins:
1. `--hr-timezone utc|local` forces the reading for every file (basis `option`).
2. Zone offset 0 on that day: both readings give the same instants (basis `same`; recorded as `utc`).
3. Span: a local-style file holds naive times in [D 00:00, D+1 00:00); a UTC-style file holds them in
   [U0, U1) where U0/U1 are local D 00:00 / D+1 00:00 in UTC (for UTC+1: D-1 23:00 → D 23:00, i.e. its first
   sample sits near D-1 (24 h − offset) instead of near D 00:00). A file whose samples (± 5 min) fit only one
   of the two ranges is decided by it (basis `span`) — every day the watch is worn around local midnight.
4. `Physical Activity_GoogleData/heart_rate_D.csv` (explicit `Z`), when present: the reading under which
   more of the file's (second, bpm) samples coincide with the CSV's wins, if it matches ≥ 10 samples and at
   least twice as many as the other reading (basis `google_csv`). Files decided by 1–3 are cross-checked
   against the CSV too; disagreements are counted in the summary (the span rule still wins: it is a hard
   bound, the CSV is a heuristic).
5. Otherwise (a day worn only between the two boundaries, no CSV) the majority reading of the files decided
   by 2–4 in the same import (basis `majority`), else `utc` (basis `default`, the reading backed by real
   timestamps in the facts doc).
A file whose samples fit neither range (wrong person zone, travel) takes the nearer reading (basis
`nearest`) and is counted; samples outside [D-1 00:00Z, D+2 00:00Z) are quarantined by the importer.
Travel is not modelled: local times are read in the person's configured IANA zone.

Naive local → UTC (`local_to_utc_us` vectorised for heart rate, `local_to_utc` per value for sleep; they
agree, tests check it), with the person's IANA zone and DST:
- nonexistent times (spring-forward gap, e.g. 02:30 on 2026-03-29 in Europe/Berlin) are shifted forward by
  the gap: they take the offset in force before the transition (PEP 495 fold=0), so 02:30 → 01:30Z (03:30
  CEST) — a 23-hour local day never crashes;
- ambiguous times (the repeated hour on fall-back, 02:00–02:59 on 2026-10-25) follow the sample order:
  samples are the first occurrence (fold=0, the earlier offset) until the sequence (a file, a sleep
  session) steps back in time into the repeated hour — the clock went back — and the second occurrence
  (fold=1, the later offset) from that sample on. A 25-hour day of samples therefore maps to distinct,
  increasing instants (its last first-pass 02:59 and its last second-pass 02:59 included); a sample
  repeated within one pass stays a duplicate rather than being moved an hour.
- sleep segments (levels.data) are contiguous, so they are placed by elapsed time instead: the session
  start is converted (fold=0, else fold=1 if only that makes the segments line up) and each segment starts
  where the previous one ended; the fold rule is the fallback when the segments' wall times do not line up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np

Reading = Literal["utc", "local"]
READINGS: tuple[Reading, ...] = ("utc", "local")
US = 1_000_000
DAY_US = 86_400 * US
TOLERANCE_US = 5 * 60 * US
_EPOCH = datetime(1970, 1, 1)


def naive_us(value: datetime) -> int:
    """Microseconds of a naive datetime read as if it were UTC (the 'naive epoch')."""
    return (value.replace(tzinfo=None) - _EPOCH) // timedelta(microseconds=1)


def day_start_naive_us(day: date) -> int:
    return (day - _EPOCH.date()).days * DAY_US


def utc_offset_s(zone: ZoneInfo, utc_s: int) -> int:
    return int(datetime.fromtimestamp(utc_s, zone).utcoffset().total_seconds())


def transitions(zone: ZoneInfo, start_s: int, end_s: int) -> list[tuple[int, int, int]]:
    """Offset changes in [start_s, end_s] (UTC seconds) as (instant, offset before, offset after)."""
    found = []
    t, before = start_s, utc_offset_s(zone, start_s)
    while t < end_s:
        nxt = min(t + 3600, end_s)
        after = utc_offset_s(zone, nxt)
        if after != before:
            lo, hi = t, nxt  # offset(lo) == before, offset(hi) == after
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if utc_offset_s(zone, mid) == before:
                    lo = mid
                else:
                    hi = mid
            found.append((hi, before, after))
            before = after
        t = nxt
    return found


def local_to_utc_us(naive: np.ndarray, zone: ZoneInfo) -> np.ndarray:
    """Naive local µs (int64, in sample order) → UTC µs, with the gap and fold rules of the module doc."""
    if naive.size == 0:
        return naive.copy()
    lo_s, hi_s = int(naive.min()) // US, int(naive.max()) // US
    start, end = lo_s - 2 * 86_400, hi_s + 2 * 86_400
    offset = np.full(naive.shape, utc_offset_s(zone, start) * US, dtype=np.int64)
    earlier_max = None
    for instant, before, after in transitions(zone, start, end):
        wall_before, wall_after = (instant + before) * US, (instant + after) * US
        if after > before:      # gap [wall_before, wall_after): keep `before` there = shift forward
            offset[naive >= wall_after] = after * US
        else:                   # fold: [wall_after, wall_before) happens twice
            offset[naive >= wall_before] = after * US
            ambiguous = (naive >= wall_after) & (naive < wall_before)
            if ambiguous.any():
                if earlier_max is None:
                    earlier_max = np.empty_like(naive)
                    earlier_max[0] = np.iinfo(np.int64).min
                    np.maximum.accumulate(naive[:-1], out=earlier_max[1:])
                back = np.flatnonzero(ambiguous & (earlier_max > naive))
                if back.size:   # the clock went back here: from now on the repeated hour is the second one
                    second = ambiguous.copy()
                    second[:back[0]] = False
                    offset[second] = after * US
    return naive - offset


def is_ambiguous(value: datetime, zone: ZoneInfo) -> bool:
    """True for a wall time that happens twice (not for one that never happens)."""
    first, second = value.replace(tzinfo=zone, fold=0), value.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return False
    return first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == value.replace(tzinfo=None)


def local_to_utc(values: Sequence[datetime], zone: ZoneInfo) -> list[datetime]:
    """Naive local datetimes of one sequence (in its order) → aware UTC, same rules as local_to_utc_us."""
    out: list[datetime] = []
    latest: datetime | None = None
    gone_back: set[tuple] = set()   # repeated intervals the sequence has already stepped back into
    for value in values:
        fold = 0
        if is_ambiguous(value, zone):
            interval = (value.date(), value.replace(tzinfo=zone, fold=0).utcoffset(),
                        value.replace(tzinfo=zone, fold=1).utcoffset())
            if latest is not None and latest > value:
                gone_back.add(interval)
            fold = 1 if interval in gone_back else 0
        out.append(value.replace(tzinfo=zone, fold=fold).astimezone(UTC))
        latest = value if latest is None or value > latest else latest
    return out


def wall(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def place_segments(start: datetime, segments: Sequence[tuple[datetime, int]], end: datetime,
                   zone: ZoneInfo) -> tuple[datetime, list[datetime], datetime]:
    """A sleep session's start, contiguous segments (naive wall time, seconds) and end → UTC.

    By elapsed time when the segments line up (each starts where the previous ended, on the wall clock of
    `zone`), trying the start as first then as second occurrence; otherwise the fold rule of
    local_to_utc over [start, segment starts…, end]."""
    candidates = []
    for fold in (0, 1):
        candidate = start.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if wall(candidate, zone) == start and candidate not in candidates:
            candidates.append(candidate)
    for candidate in candidates:
        t, placed = candidate, []
        for naive, seconds in segments:
            if wall(t, zone) != naive:
                break
            placed.append(t)
            t += timedelta(seconds=seconds)
        else:
            if segments and wall(t, zone) == end:
                return candidate, placed, t
            # the segments line up but the end is elsewhere (or there are none): the end by the fold rule
            return candidate, placed, local_to_utc([start, *(n for n, _ in segments), end], zone)[-1]
    seq = local_to_utc([start, *(n for n, _ in segments), end], zone)
    return seq[0], seq[1:-1], seq[-1]


@dataclass(frozen=True)
class Decision:
    reading: Reading | None   # None: undecided (resolved later by majority/default)
    basis: str                # option | same | span | google_csv | nearest | majority | default | undecided


def _local_day_in_utc_naive_us(day: date, zone: ZoneInfo) -> tuple[int, int]:
    """[U0, U1): local day D as naive UTC µs (local midnight of D and of D+1, converted to UTC)."""
    bounds = local_to_utc([datetime(day.year, day.month, day.day),
                           datetime(day.year, day.month, day.day) + timedelta(days=1)], zone)
    return naive_us(bounds[0]), naive_us(bounds[1])


def decide_by_span(day: date, lo_us: int, hi_us: int, zone: ZoneInfo) -> Decision:
    """Rules 2–3 of the module doc for a file of day D whose naive samples span [lo_us, hi_us]."""
    d0 = day_start_naive_us(day)
    d1 = d0 + DAY_US
    u0, u1 = _local_day_in_utc_naive_us(day, zone)
    if (u0, u1) == (d0, d1):
        return Decision("utc", "same")
    local_ok = lo_us >= d0 - TOLERANCE_US and hi_us < d1 + TOLERANCE_US
    utc_ok = lo_us >= u0 - TOLERANCE_US and hi_us < u1 + TOLERANCE_US
    if local_ok != utc_ok:
        return Decision("local" if local_ok else "utc", "span")
    if local_ok:
        return Decision(None, "undecided")

    def miss(a: int, b: int) -> int:
        return max(0, a - lo_us) + max(0, hi_us - b)
    return Decision("local" if miss(d0, d1) < miss(u0, u1) else "utc", "nearest")


def decide_by_google_csv(naive: np.ndarray, bpm: np.ndarray, zone: ZoneInfo, csv_utc_us: np.ndarray,
                         csv_bpm: np.ndarray) -> Decision:
    """Rule 4: compare (second, bpm) pairs under both readings with the GoogleData CSV's UTC samples."""
    if csv_utc_us.size == 0 or naive.size == 0:
        return Decision(None, "undecided")
    reference = np.unique(csv_utc_us // US * 1024 + csv_bpm.astype(np.int64))
    matches = {}
    for reading in READINGS:
        instants = naive if reading == "utc" else local_to_utc_us(naive, zone)
        keys = instants // US * 1024 + bpm.astype(np.int64)
        matches[reading] = int(np.isin(keys, reference, assume_unique=False).sum())
    best, other = sorted(READINGS, key=lambda r: matches[r], reverse=True)
    if matches[best] >= 10 and matches[best] >= 2 * matches[other]:
        return Decision(best, "google_csv")
    return Decision(None, "undecided")


def file_window_utc(day: date) -> tuple[datetime, datetime]:
    """[D-1 00:00Z, D+2 00:00Z): holds local day D in every zone (UTC−12 … UTC+14), under either reading."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(days=1)
    return start, start + timedelta(days=3)
