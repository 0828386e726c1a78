"""A deterministic demo person for the fake Google Health API (Europe/Berlin, DST-correct offsets).

Every value is a pure function of the date or minute (seeded hashes), so repeated requests agree. The person:
resting heart rate drifting between ~55 and 60 bpm, one sick week (+6–8 bpm, more sleep, no runs) ending 12 days
before `today`; a main sleep every night (about 5 to 9 hours, with stages) and an occasional afternoon nap; a
run every 2–3 days; daily steps; HRV, SpO2, respiratory rate and heart-rate zones per day. One heart-rate
sample per minute keeps it cheap. Nothing exists after the end of `today`.

`Person(today, key)` is a study participant: a seeded variant keyed by an account key (`[a-z0-9_]+`, e.g.
`p01`): every seed also takes the key, and the key sets the person's own resting heart rate, maximum heart
rate, bedtime and sleep length, step volume, run days and sick week. `key=None` is the demo person above,
unchanged.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("Europe/Berlin")
MAX_HR = 186
USER = "users/4815162342"
DEVICE = {"recordingMethod": "PASSIVELY_MEASURED", "device": {"displayName": "Pixel Watch 3", "formFactor": "WATCH"},
          "platform": "FITBIT"}
ZONES = ("LIGHT", "MODERATE", "VIGOROUS", "PEAK")
_MINUTE = timedelta(minutes=1)


def u(*key: object) -> float:
    """A uniform number in [0, 1) seeded by `key`."""
    return int.from_bytes(hashlib.blake2b(repr(key).encode(), digest_size=8).digest(), "big") / 2**64


def at_local(day: date, hour: float) -> datetime:
    """The UTC instant of local wall-clock `hour` (fractional, rounded to the minute) on `day`."""
    wall = datetime.combine(day, time()) + timedelta(minutes=round(hour * 60))
    return wall.replace(tzinfo=ZONE).astimezone(UTC)


def offset(t: datetime) -> int:
    """The person's UTC offset in seconds at instant `t`."""
    return int(t.astimezone(ZONE).utcoffset().total_seconds())


@dataclass(frozen=True)
class SleepSession:
    id: str
    start: datetime
    end: datetime
    stages: tuple[tuple[str, datetime, datetime], ...]
    nap: bool


@dataclass(frozen=True)
class Run:
    id: str
    start: datetime
    end: datetime
    pause_seconds: int
    distance_m: float
    avg_hr: int
    calories: float
    steps: int


KEY = re.compile(r"[a-z0-9_]+")


class Person:
    def __init__(self, today: date, key: str | None = None) -> None:
        if key is not None and not KEY.fullmatch(key):
            raise ValueError(f"a demo person's key is [a-z0-9_]+, got {key!r}")
        self.today, self.key = today, key
        self.last_instant = at_local(today + timedelta(days=1), 0)
        if key is None:  # the demo person: every figure as it always was
            self.u, self.user, self.max_hr = u, USER, MAX_HR
            sick_end, self.rhr_base, self.bed_hour, self.sleep_base = 12, 57.5, 22.5, 300
            self.run_shift, self.run_days, self.steps_scale = 0, (0, 2), 1.0
        else:
            def seeded(*k: object) -> float:
                return u(*k, key)
            self.u = seeded
            self.user = f"users/{4_000_000_000 + int(seeded('user') * 1e9)}"
            self.max_hr = 172 + int(24 * seeded("max-hr"))
            sick_end = 12 + int(40 * seeded("sick-at"))
            self.rhr_base = round(50 + 16 * seeded("rhr-base"), 1)
            self.bed_hour = round(21.5 + 2 * seeded("bed-base"), 2)
            self.sleep_base = 255 + int(75 * seeded("sleep-base"))
            self.run_shift = int(5 * seeded("run-shift"))
            self.run_days = (0, 2) if seeded("runner") < 0.6 else (1,) if seeded("runner") < 0.85 else (0, 2, 3)
            self.steps_scale = round(0.55 + 0.9 * seeded("steps-scale"), 2)
        # the sick week (inclusive, 7 days) ends `sick_end` days before today
        self.sick_days = (today - timedelta(days=sick_end + 6), today - timedelta(days=sick_end))

    def sick(self, day: date) -> bool:
        return self.sick_days[0] <= day <= self.sick_days[1]

    @lru_cache(maxsize=65536)  # noqa: B019 - Person instances are few (one per account key) and bounded
    def resting_hr(self, day: date) -> int:
        n, u = day.toordinal(), self.u
        if self.sick(day):  # 6–8 bpm above the usual (57.5 for the demo person)
            return round(self.rhr_base + 6 + 2 * u("sick", n))
        drift = self.rhr_base + 1.6 * math.sin(2 * math.pi * n / 23) + 0.8 * math.sin(2 * math.pi * n / 61)
        return round(drift + (u("rhr", n) - 0.5) * 1.2)

    # ------------------------------------------------------------------------------------------ sleep
    @lru_cache(maxsize=65536)  # noqa: B019
    def sleeps_ending_on(self, day: date) -> tuple[SleepSession, ...]:
        """The main sleep ending on the morning of `day` (local) and, some days, an afternoon nap."""
        n, u = day.toordinal(), self.u
        bed = at_local(day - timedelta(days=1), self.bed_hour + 1.7 * u("bed", n))
        minutes = self.sleep_base + int(240 * u("len", n)) + (60 if self.sick(day) else 0)
        sessions = [SleepSession(str(7_000_000_000 + n * 10), bed, bed + minutes * _MINUTE,
                                 _stages(bed, minutes, n, u), nap=False)]
        if u("nap", n) < 0.15:
            start = at_local(day, 13.5 + 2 * u("nap-at", n))
            length = 20 + int(25 * u("nap-len", n))
            asleep = length - 4
            stages = (("ASLEEP", start, start + asleep * _MINUTE), ("RESTLESS", start + asleep * _MINUTE,
                                                                    start + length * _MINUTE))
            sessions.append(SleepSession(str(7_000_000_001 + n * 10), start, start + length * _MINUTE, stages, True))
        return tuple(s for s in sessions if s.end <= self.last_instant)

    # ------------------------------------------------------------------------------------------ runs
    @lru_cache(maxsize=65536)  # noqa: B019
    def runs_on(self, day: date) -> tuple[Run, ...]:
        """A run on days n % 5 in {0, 2} (gaps of 2 and 3 days; a variant's own days), none while sick."""
        n, u = day.toordinal(), self.u
        if (n + self.run_shift) % 5 not in self.run_days or self.sick(day):
            return ()
        start = at_local(day, 7 + 0.5 * u("am", n) if u("when", n) < 0.5 else 18 + u("pm", n))
        awake_from = max((s.end for s in self.sleeps_ending_on(day) if s.end.astimezone(ZONE).hour < 12),
                         default=start)
        start = max(start, awake_from + timedelta(minutes=15))  # a morning run starts after waking up
        seconds = 1500 + int(2100 * u("dur", n))
        pause = int(60 * u("pause", n))
        active = seconds - pause
        speed = 2.6 + 0.6 * u("speed", n)
        run = Run(id=str(3_000_000_000 + n), start=start, end=start + timedelta(seconds=seconds),
                  pause_seconds=pause, distance_m=round(active * speed, 1),
                  avg_hr=round(142 + 14 * u("avg", n) + (self.resting_hr(day) - 57) / 2),
                  calories=round(active / 60 * (10.5 + u("kcal", n)), 1), steps=round(active / 60 * 166))
        return (run,) if run.end <= self.last_instant else ()

    # ------------------------------------------------------------------------------------------ minutes
    @lru_cache(maxsize=4096)  # noqa: B019
    def _sessions_near(self, day: date) -> tuple[tuple[str, datetime, datetime, int], ...]:
        out = []
        for d in (day - timedelta(days=1), day, day + timedelta(days=1)):
            out += [("sleep", s.start, s.end, 0) for s in self.sleeps_ending_on(d)]
            out += [("run", r.start, r.end, r.avg_hr) for r in self.runs_on(d)]
        return tuple(out)

    def activity_at(self, t: datetime) -> tuple[str, int]:
        """("sleep" | "run" | "awake", run's average HR) at UTC instant `t`."""
        for kind, start, end, hr in self._sessions_near(t.astimezone(ZONE).date()):
            if start <= t < end:
                return kind, hr
        return "awake", 0

    def heart_rate(self, t: datetime) -> int:
        """One sample for the minute starting at `t` (UTC)."""
        day = t.astimezone(ZONE).date()
        rhr = self.resting_hr(day)
        kind, run_hr = self.activity_at(t)
        key, u = int(t.timestamp() // 60), self.u
        if kind == "sleep":
            return round(rhr - 1 + 5 * u("hr", key))
        if kind == "run":
            return round(run_hr - 8 + 16 * u("hr", key))
        hour = t.astimezone(ZONE).hour
        busy = 0.4 + 0.6 * u("busy", key // 60)
        return round(rhr + 8 + (18 if 7 <= hour < 22 else 6) * busy + 6 * u("hr", key))

    def steps_in(self, start: datetime) -> int:
        """Steps in the 15-minute bucket starting at `start` (0 while asleep)."""
        kind, _ = self.activity_at(start)
        if kind == "sleep":
            return 0
        if kind == "run":
            return 166 * 15
        hour = start.astimezone(ZONE).hour
        base = {7: 320, 8: 520, 12: 380, 13: 260, 17: 430, 18: 480}.get(hour, 90 if 6 <= hour < 23 else 5)
        factor = (0.35 if self.sick(start.astimezone(ZONE).date()) else 1.0) * self.steps_scale
        return int(base * factor * (0.2 + self.u("steps", int(start.timestamp()))))

    def run_zone_seconds(self, run: Run) -> dict[str, int]:
        """Seconds per zone during a run, from its own per-minute heart rate and the day's zone limits (the
        device's figures agree with its samples, as a real watch's would)."""
        limits = self.hr_zones(run.start.astimezone(ZONE).date())
        seconds = dict.fromkeys(ZONES, 0)
        t = run.start
        while t < run.end:
            bpm = self.heart_rate(t)
            span = int(min(_MINUTE, run.end - t).total_seconds())
            for zone, low, _ in reversed(limits):
                if bpm >= low:
                    seconds[zone] += span
                    break
            t += _MINUTE
        return seconds

    # ------------------------------------------------------------------------------------------ daily
    def hrv(self, day: date) -> float:
        n = day.toordinal()
        return round(47 - 2 * (self.resting_hr(day) - 57.5) + 6 * (self.u("hrv", n) - 0.5), 1)

    def spo2(self, day: date) -> float:
        n = day.toordinal()
        return round(96.4 + 1.2 * (self.u("spo2", n) - 0.5) - (1.2 if self.sick(day) else 0), 1)

    def breathing(self, day: date) -> float:
        n = day.toordinal()
        return round(14.2 + 1.2 * (self.u("br", n) - 0.5) + (1.6 if self.sick(day) else 0), 1)

    def hr_zones(self, day: date) -> list[tuple[str, int, int]]:
        """Karvonen thresholds: 40/60/70/85 % of the heart-rate reserve above resting."""
        rhr = self.resting_hr(day)
        reserve = self.max_hr - rhr
        bounds = [round(rhr + p * reserve) for p in (0.4, 0.6, 0.7, 0.85)] + [self.max_hr + 1]
        return [(ZONES[i], bounds[i], bounds[i + 1] - 1) for i in range(4)]


def _stages(bed: datetime, minutes: int, n: int,
            u: Callable[..., float] = u) -> tuple[tuple[str, datetime, datetime], ...]:
    """Minute-aligned stages: time to fall asleep, ~90-minute cycles (deep early, REM late), brief wakings."""
    plan: list[tuple[str, int]] = [("AWAKE", 3 + int(12 * u("fall", n)))]
    cycle = 0
    while sum(m for _, m in plan) < minutes:
        late = min(cycle / 4, 1.0)
        deep = int((30 - 20 * late) * (0.6 + 0.4 * u("deep", n, cycle)))
        rem = int((12 + 20 * late) * (0.7 + 0.6 * u("rem", n, cycle)))
        plan += [("LIGHT", 25 + int(15 * u("l1", n, cycle))), ("DEEP", deep),
                 ("LIGHT", 10 + int(10 * u("l2", n, cycle))), ("REM", rem)]
        if u("wake", n, cycle) < 0.5:
            plan.append(("AWAKE", 1 + int(6 * u("wl", n, cycle))))
        cycle += 1
    stages, at = [], 0
    for kind, length in plan:
        length = min(length, minutes - at)
        if length <= 0:
            break
        if stages and stages[-1][0] == kind:
            stages[-1] = (kind, stages[-1][1], stages[-1][2] + length * _MINUTE)
        else:
            stages.append((kind, bed + at * _MINUTE, bed + (at + length) * _MINUTE))
        at += length
    return tuple(stages)
