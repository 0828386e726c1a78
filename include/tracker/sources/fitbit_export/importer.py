"""Import a whole Fitbit export into the raw tables: `import_export(path, dsn=…)` (the CLI wraps it).

Idempotent by construction:
- small tables: keyed merge (`loader.load`) of all rows of a kind at once, the later file winning when two
  files carry the same day — re-importing changes nothing, not even load metadata;
- sleep: sessions de-duplicated by logId across chunk files (the first file in name order wins; the copy in
  the next chunk is skipped and counted), stages keyed by (logId, kind, seq), a session's surplus stage rows
  from an older import deleted;
- heart rate: each file replaced as a whole (tables.py); a file already loaded with the same content,
  reading and zone (raw.fitbit__heart_rate_files) is skipped, so a re-import leaves even its metadata alone;
- quarantine: replaced per file (locator prefix = file name), so reruns never pile rows up;
- a file that cannot be read at all (cut off, a corrupt zip member, not UTF-8) is left out and reported
  (damaged.py): what an earlier import loaded from it stays, never replaced by fewer rows.
Overlapping exports (a newer Takeout holding the days of an older account export) name the same files the
same way, so they replace rather than duplicate.
"""

from __future__ import annotations

import re
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import psycopg

from tracker.config import Person, TrackerConfig, load_config
from tracker.imports.runner import ImportRun
from tracker.sources.fitbit_export import activity, damaged, parsers, tables
from tracker.sources.fitbit_export.damaged import DamagedFile
from tracker.sources.fitbit_export.layout import ExportFile, ExportLayout, MemberError, scan
from tracker.sources.fitbit_export.tables import SOURCE, HeartRateFileLoad, HeartRateWriter, row_tuple
from tracker.sources.fitbit_export.timezones import (
    US,
    Decision,
    decide_by_google_csv,
    decide_by_span,
    file_window_utc,
    local_to_utc_us,
)
from tracker.warehouse import quarantine
from tracker.warehouse.load_log import EventSpan, log_import
from tracker.warehouse.loader import LoadResult, LoadTotals, RawTable, load
from tracker.warehouse.quarantine import Rejected
from tracker.warehouse.schema import ensure_warehouse

HR_FORMAT_VERSION = "hr1"   # bump when parsing/conversion changes: every heart-rate file reloads
HR_TIMEZONE_OPTIONS = ("auto", "utc", "local")
DETERMINISTIC_BASES = {"option", "same", "span", "nearest"}   # decided by the file alone
_UNIX = datetime(1970, 1, 1, tzinfo=UTC)
CROSSCHECKS = 3             # decided files also compared with their GoogleData CSV, for the summary


# heart rate counts `deleted` as the rows of the same files from an earlier import, replaced
TableStats = LoadTotals


@dataclass(kw_only=True)
class ImportSummary(ImportRun):
    """What one Fitbit export import did, per table and file kind (`source` is the export's path)."""

    source: str
    time_zone: str
    files: Counter[str] = field(default_factory=Counter)
    tables: dict[str, TableStats] = field(default_factory=dict)
    skipped: Counter[tuple[str, str]] = field(default_factory=Counter)        # (table, reason) → rows
    quarantined: Counter[tuple[str, str]] = field(default_factory=Counter)    # (entity, reason) → rows
    unrecognised: Counter[str] = field(default_factory=Counter)               # name pattern → files
    unrecognised_files: list[str] = field(default_factory=list)
    skipped_links: list[str] = field(default_factory=list)                    # symlinks, never followed
    damaged: list[DamagedFile] = field(default_factory=list)                  # files left out, unreadable
    ignored_google_data: int = 0
    hr_readings: Counter[tuple[str, str]] = field(default_factory=Counter)    # (reading, basis) → files
    hr_unchanged_files: int = 0
    hr_unchanged_rows: int = 0
    hr_scan_files: int = 0
    hr_json_files: int = 0
    google_crosscheck: Counter[str] = field(default_factory=Counter)          # agree | conflict | no match
    activity_reading: str | None = None      # utc | local: how steps/exercise times were read
    seconds: float = 0.0
    timings: Counter[str] = field(default_factory=Counter)   # heart-rate path, seconds: where the time goes

    def table(self, table: RawTable) -> TableStats:
        return self.tables.setdefault(table.qualified, TableStats())

    def quarantine(self, entity: str, rejected: Iterable[Rejected]) -> None:
        for r in rejected:
            self.quarantined[(entity, reason_group(r.reason))] += 1

    @property
    def heart_rate_rows(self) -> int:
        return self.tables.get(tables.HEART_RATE.qualified, TableStats()).rows


def reason_group(reason: str) -> str:
    """'value.bpm=400 outside [1, 300]' → 'value.bpm=… outside [1, 300]'; drops quoted values after ':'."""
    reason = re.sub(r"=[^\s,]+", "=…", reason)
    return re.sub(r": .*$", "", reason) if ": " in reason and "JSON" not in reason else reason[:120]


ProgressCallback = Callable[[str, ExportFile], None]


def import_export(path: str | Path, *, dsn: str, person_id: str | None = None, hr_timezone: str = "auto",
                  config: TrackerConfig | None = None, run_id: str | None = None, force: bool = False,
                  workers: int = 2, progress: ProgressCallback | None = None,
                  on_layout: Callable[[ExportLayout], None] | None = None) -> ImportSummary:
    """Import the export at `path` (zip or folder) for one configured person; see the module doc."""
    if hr_timezone not in HR_TIMEZONE_OPTIONS:
        raise ValueError(f"hr_timezone must be one of {HR_TIMEZONE_OPTIONS}, not {hr_timezone!r}")
    started = datetime.now(UTC)
    person = (config or load_config()).choose(person_id, only_one=True)[0]
    run_id = run_id or f"{SOURCE}__{started:%Y%m%dT%H%M%SZ}_{secrets.token_hex(3)}"
    layout = scan(path)
    try:
        if on_layout:
            on_layout(layout)
        summary = ImportSummary(source=str(path), person_id=person.id, time_zone=person.timezone, run_id=run_id,
                                files=layout.counts(), unrecognised=layout.unrecognised_groups(),
                                unrecognised_files=list(layout.unrecognised), skipped_links=list(layout.links),
                                ignored_google_data=layout.ignored_google_data)
        with psycopg.connect(dsn, autocommit=True) as conn:
            ensure_warehouse(conn)
            job = _Import(conn, dsn, layout, person, hr_timezone, run_id, summary, force, workers,
                          progress or (lambda kind, f: None))
            job.run()
    finally:
        layout.close()
    summary.seconds = (datetime.now(UTC) - started).total_seconds()
    return summary


class _Import:
    def __init__(self, conn: psycopg.Connection, dsn: str, layout: ExportLayout, person: Person,
                 hr_timezone: str, run_id: str, summary: ImportSummary, force: bool, workers: int,
                 progress: ProgressCallback) -> None:
        self.conn, self.dsn, self.layout, self.person = conn, dsn, layout, person
        self.zone = ZoneInfo(person.timezone)
        self.hr_timezone, self.run_id, self.summary = hr_timezone, run_id, summary
        self.force, self.workers, self.progress = force, workers, progress
        self.base = {"person_id": person.id, "source": SOURCE}

    def run(self) -> None:
        # one import per person at a time: the heart-rate manifest decides what to delete
        lock = f"{SOURCE}:{self.person.id}"
        self.conn.execute("select pg_advisory_lock(hashtext(%s))", (lock,))
        try:
            self._run()
        finally:
            self.conn.execute("select pg_advisory_unlock(hashtext(%s))", (lock,))

    def _run(self) -> None:
        self.heart_rate()
        self.daily("resting_heart_rate", tables.RESTING_HEART_RATE,
                   lambda f: parsers.parse_resting_heart_rate(self.layout.read_bytes(f), f.name))
        self.daily("heart_rate_zones", tables.HEART_RATE_ZONES,
                   lambda f: parsers.parse_heart_rate_zones(self.layout.read_bytes(f), f.name))
        self.sleep()
        self.daily("hrv_daily", tables.HRV_DAILY, lambda f: self._csv(f, parsers.parse_hrv_daily))
        self.daily("spo2_daily", tables.SPO2_DAILY, lambda f: self._csv(f, parsers.parse_spo2_daily))
        self.spo2_minute()
        self.daily("sleep_score", tables.SLEEP_SCORES,
                   lambda f: self._csv(f, lambda s, n: parsers.parse_sleep_score(s, n, self.zone)))
        self.daily("respiratory_rate_daily", tables.RESPIRATORY_RATE_DAILY,
                   lambda f: self._csv(f, activity.parse_respiratory_rate_daily))
        self.steps()
        self.exercise()

    # ---------------------------------------------------------------------------------- activity
    def activity_reading(self) -> str:
        """Steps and exercise files are read like the export's heart-rate files: the forced reading, else
        the one most heart-rate files settled by evidence, else UTC (what the exercise files are said to be)."""
        if self.hr_timezone != "auto":
            return self.hr_timezone
        evidence = Counter({reading: n for (reading, basis), n in self.summary.hr_readings.items()
                            if basis in {"same", "span", "google_csv"}})
        reading = max(evidence, key=lambda r: (evidence[r], r == "utc")) if evidence else "utc"  # tie → utc
        self.summary.activity_reading = reading
        return reading

    def _instants(self, naive: list[int]) -> np.ndarray:
        values = np.array(naive, dtype=np.int64)
        return values if self.activity_reading() == "utc" else local_to_utc_us(values, self.zone)

    def steps(self) -> None:
        """Per chunk file: one keyed load; a minute repeated in a later chunk is merged (the later wins)."""
        for f in self.layout.of("steps"):
            parsed = self._parse("steps", tables.STEPS_MINUTE, f,
                                 lambda f: activity.parse_steps(self.layout.read_bytes(f), f.name))
            if parsed is None:
                continue
            self._count(tables.STEPS_MINUTE, "steps", parsed)
            base = {**self.base, "source_file": f.name}
            instants = self._instants([r["naive_us"] for r in parsed.rows])
            rows = [row_tuple(tables.STEPS_MINUTE, {"observed_at": _UNIX + timedelta(microseconds=int(t)),
                                                    "steps": r["steps"]}, base)
                    for t, r in zip(instants.tolist(), parsed.rows, strict=True)]
            with self.conn.transaction():
                self._load(tables.STEPS_MINUTE, rows, quarantined=len(parsed.rejected), scope=f.name)
                self._replace_quarantine("steps", {f.name: parsed.rejected})
            self.progress("steps", f)

    def exercise(self) -> None:
        """Workouts of every page; keyed by logId (a workout on two pages is loaded once, the later wins)."""
        def parse(f: ExportFile) -> parsers.Parsed:
            parsed = activity.parse_exercise(self.layout.read_bytes(f), f.name)
            starts = self._instants([r["naive_start_us"] for r in parsed.rows])
            for t, row in zip(starts.tolist(), parsed.rows, strict=True):
                row["start_at"] = _UNIX + timedelta(microseconds=int(t))
                row["end_at"] = row["start_at"] + timedelta(milliseconds=row["duration_ms"])
            return parsed
        self.daily("exercise", tables.EXERCISES, parse)

    def _csv(self, f: ExportFile, parse: Callable[[Any, str], parsers.Parsed]) -> parsers.Parsed:
        with self.layout.open_text(f) as stream:
            return parse(stream, f.name)

    # ---------------------------------------------------------------------------------- small tables
    def daily(self, kind: str, table: RawTable, parse: Callable[[ExportFile], parsers.Parsed]) -> None:
        """All files of a kind merged into one keyed load; the later file wins on a repeated key."""
        files = self.layout.of(kind)
        if not files:
            return
        rows: dict[tuple, tuple] = {}
        rejected: dict[str, list[Rejected]] = {}
        key_idx = [list(table.columns).index(k) for k in table.key]
        for f in files:
            parsed = self._parse(kind, table, f, parse)
            if parsed is None:
                continue
            rejected[f.name] = parsed.rejected
            self._count(table, kind, parsed)
            base = {**self.base, "source_file": f.name}
            for row in parsed.rows:
                values = row_tuple(table, row, base)
                key = tuple(values[i] for i in key_idx)
                if key in rows:
                    self.summary.skipped[(table.qualified, "same key in a later file (the later file wins)")] += 1
                rows[key] = values
            self.progress(kind, f)
        with self.conn.transaction():
            self._load(table, list(rows.values()), quarantined=sum(len(r) for r in rejected.values()))
            self._replace_quarantine(kind, rejected)

    def _parse(self, kind: str, table: RawTable, f: ExportFile,
               parse: Callable[[ExportFile], parsers.Parsed]) -> parsers.Parsed | None:
        """parse(f), or None when the file cannot be read at all (then reported, its earlier rows kept)."""
        try:
            parsed = parse(f)
        except MemberError as exc:
            self._damaged(kind, table, f, str(exc).removeprefix(f"{f.path}: "), "")
            return None
        except UnicodeDecodeError as exc:
            self._damaged(kind, table, f, f"not UTF-8 text ({exc})", "")
            return None
        whole = [r for r in parsed.rejected if r.locator == f.name]
        if whole and not parsed.rows:
            self._damaged(kind, table, f, whole[0].reason, whole[0].raw_text)
            return None
        return parsed

    def _damaged(self, entity: str, table: RawTable | None, f: ExportFile, reason: str, raw_text: str,
                 kept: int | None = None) -> None:
        if kept is None:
            kept = damaged.earlier_rows(self.conn, table, self.person.id, SOURCE, f.name)
        report = DamagedFile(f.path, entity, reason, kept)
        damaged.record(self.conn, person_id=self.person.id, source=SOURCE, run_id=self.run_id, damaged=report,
                       name=f.name, raw_text=raw_text)
        self.summary.damaged.append(report)
        self.summary.quarantined[(entity, reason_group(reason))] += 1
        self.progress(entity, f)

    def _count(self, table: RawTable, entity: str, parsed: parsers.Parsed) -> None:
        for reason, n in parsed.skipped.items():
            self.summary.skipped[(table.qualified, reason)] += n
        self.summary.quarantine(entity, parsed.rejected)

    def _load(self, table: RawTable, rows: list[tuple], *, quarantined: int, scope: str = "",
              deleted: int = 0) -> LoadResult:
        """One keyed load and its load-log row (entity: the table without `fitbit__`, scope: the file when
        the table is loaded file by file), inside the caller's transaction; `deleted`: rows the caller deleted
        for this load in the same transaction."""
        started_at = datetime.now(UTC)
        result = load(self.conn, table, rows, run_id=self.run_id)
        result.deleted += deleted
        self.summary.table(table).add(result)
        log_import(self.conn, run_id=self.run_id, source=SOURCE, entity=table.name.removeprefix("fitbit__"),
                   person_id=self.person.id, window=EventSpan(table).over(rows).window(started_at),
                   rows=result.staged, inserted=result.inserted, updated=result.updated, deleted=result.deleted,
                   quarantined=quarantined, started_at=started_at, scope=scope)
        return result

    def _replace_quarantine(self, entity: str, rejected: dict[str, list[Rejected]]) -> None:
        for name, items in rejected.items():
            quarantine.replace(self.conn, person_id=self.person.id, source=SOURCE, entity=entity,
                               run_id=self.run_id, rejected=items, locator_prefix=name)

    def sleep(self) -> None:
        """Per chunk file: sessions not seen in an earlier chunk, their stages, stale stages removed."""
        dedupe = LogIdDeduper()
        for f in self.layout.of("sleep"):
            parsed = self._parse("sleep", tables.SLEEP_SESSIONS, f,
                                 lambda f: parsers.parse_sleep(self.layout.read_bytes(f), f.name, self.zone))
            if parsed is None:
                continue
            self._count(tables.SLEEP_SESSIONS, "sleep", parsed)
            base = {**self.base, "source_file": f.name}
            sessions, kept = [], set()
            for row in parsed.rows:
                if (why := dedupe.skip_reason(row["log_id"], f.name)) is not None:
                    self.summary.skipped[(tables.SLEEP_SESSIONS.qualified, why)] += 1
                    continue
                kept.add(row["log_id"])
                sessions.append(row_tuple(tables.SLEEP_SESSIONS, row, base))
            stages = [row_tuple(tables.SLEEP_STAGES, s, base) for s in parsed.extra if s["log_id"] in kept]
            counts = Counter((s["log_id"], s["kind"]) for s in parsed.extra if s["log_id"] in kept)
            ids = sorted(kept)
            with self.conn.transaction():
                self._load(tables.SLEEP_SESSIONS, sessions, quarantined=len(parsed.rejected), scope=f.name)
                stale = 0  # stages past a kept session's new count: deleted (before or after the merge, the same)
                if ids:
                    cur = self.conn.execute(
                        "delete from raw.fitbit__sleep_stages s using unnest(%s::bigint[], %s::int[], %s::int[])"
                        " as v(log_id, n_data, n_short) where s.person_id = %s and s.source = %s"
                        " and s.log_id = v.log_id and s.seq >= case s.kind when 'data' then v.n_data"
                        " else v.n_short end",
                        (ids, [counts[(i, "data")] for i in ids], [counts[(i, "short")] for i in ids],
                         self.person.id, SOURCE))
                    stale = cur.rowcount
                self._load(tables.SLEEP_STAGES, stages, quarantined=0, scope=f.name, deleted=stale)
                self._replace_quarantine("sleep", {f.name: parsed.rejected})
            self.progress("sleep", f)

    def spo2_minute(self) -> None:
        """One keyed load per (daily) file; a minute also present in the previous file is skipped."""
        previous: set = set()
        for f in self.layout.of("spo2_minute"):
            parsed = self._parse("spo2_minute", tables.SPO2_MINUTE, f,
                                 lambda f: self._csv(f, parsers.parse_spo2_minute))
            if parsed is None:
                continue
            self._count(tables.SPO2_MINUTE, "spo2_minute", parsed)
            base = {**self.base, "source_file": f.name}
            rows, keys = [], set()
            for row in parsed.rows:
                if row["observed_at"] in previous:
                    self.summary.skipped[(tables.SPO2_MINUTE.qualified, "same minute in the previous file")] += 1
                    continue
                keys.add(row["observed_at"])
                rows.append(row_tuple(tables.SPO2_MINUTE, row, base))
            previous = keys
            with self.conn.transaction():
                self._load(tables.SPO2_MINUTE, rows, quarantined=len(parsed.rejected), scope=f.name)
                self._replace_quarantine("spo2_minute", {f.name: parsed.rejected})
            self.progress("spo2_minute", f)

    # ---------------------------------------------------------------------------------- heart rate
    def heart_rate(self) -> None:
        files = self.layout.of("heart_rate")
        if not files:
            return
        manifest = {row[0]: row[1:] for row in self.conn.execute(
            "select source_file, fingerprint, reading, reading_basis, time_zone, sample_rows"
            " from raw.fitbit__heart_rate_files where person_id = %s and source = %s", (self.person.id, SOURCE))}
        stats = self.summary.table(tables.HEART_RATE)

        def done(job: HeartRateFileLoad, deleted: int, copied: int) -> None:
            stats.rows += copied
            stats.inserted += copied
            stats.deleted += deleted

        writer = HeartRateWriter(self.dsn, self.workers, on_done=done)
        decided: Counter[str] = Counter()
        deferred: list[ExportFile] = []
        unchanged: list[str] = []
        try:
            for f in files:
                previous = manifest.get(f.name)
                fingerprint = f"{HR_FORMAT_VERSION}|{self.layout.fingerprint(f)}" if f.crc is not None else None
                if self._unchanged_before_parsing(previous, fingerprint):
                    self._skip_unchanged(f, previous, decided)
                    unchanged.append(f.name)
                    continue
                if (read := self._read_heart_rate(f, previous)) is None:
                    continue
                data, fingerprint = read
                if self._unchanged_before_parsing(previous, fingerprint):
                    self._skip_unchanged(f, previous, decided)
                    unchanged.append(f.name)
                    continue
                samples = self._timed("parse", parsers.parse_heart_rate, data, f.name)
                del data
                if self._heart_rate_damaged(f, samples, previous):
                    continue
                decision = self._timed("decide time zone", self._decide, f, samples)
                if decision.reading is None:
                    deferred.append(f)   # decided by the majority of the other files, below
                    continue
                if decision.basis in {"same", "span", "google_csv"}:
                    decided[decision.reading] += 1
                self._heart_rate_file(writer, f, samples, decision, fingerprint, previous)
            if deferred:
                reading, basis = (decided.most_common(1)[0][0], "majority") if decided else ("utc", "default")
                for f in deferred:
                    if (read := self._read_heart_rate(f, manifest.get(f.name))) is None:
                        continue
                    data, fingerprint = read
                    samples = self._timed("parse", parsers.parse_heart_rate, data, f.name)
                    del data
                    self._heart_rate_file(writer, f, samples, Decision(reading, basis), fingerprint,
                                          manifest.get(f.name))
            damaged.clear(self.conn, person_id=self.person.id, source=SOURCE, entity="heart_rate", names=unchanged)
        finally:
            writer.close()
            self.summary.timings["load threads (delete + COPY + commit)"] += writer.busy_seconds
            self.summary.timings["waiting for a free load thread"] += writer.waited_seconds

    def _read_heart_rate(self, f: ExportFile, previous: tuple | None) -> tuple[bytes, str] | None:
        """(content, fingerprint), or None when the file cannot be read (reported; its rows kept)."""
        try:
            data = self._timed("read + CRC", self.layout.read_bytes, f)
        except MemberError as exc:
            self._damaged("heart_rate", None, f, str(exc).removeprefix(f"{f.path}: "), "",
                          kept=previous[4] if previous else 0)
            return None
        return data, f"{HR_FORMAT_VERSION}|{self._timed('read + CRC', self.layout.fingerprint, f, data)}"

    def _heart_rate_damaged(self, f: ExportFile, samples: parsers.HeartRateSamples, previous: tuple | None) -> bool:
        """A file that is not a JSON array at all (cut off mid-file…) never replaces the rows loaded before."""
        whole = [r for r in samples.rejected if r.locator == f.name]
        if not whole or len(samples):
            return False
        self._damaged("heart_rate", None, f, whole[0].reason, whole[0].raw_text, kept=previous[4] if previous else 0)
        return True

    def _timed(self, what: str, fn: Callable, *args: Any) -> Any:
        began = time.perf_counter()
        try:
            return fn(*args)
        finally:
            self.summary.timings[what] += time.perf_counter() - began

    def _unchanged_before_parsing(self, previous: tuple | None, fingerprint: str | None) -> bool:
        """Same content, same zone, and a reading that depended on the file alone (or on the option)."""
        if self.force or previous is None or fingerprint is None:
            return False
        prev_fp, prev_reading, prev_basis, prev_zone, _ = previous
        if prev_fp != fingerprint or prev_zone != self.person.timezone:
            return False
        if self.hr_timezone != "auto":
            return prev_basis == "option" and prev_reading == self.hr_timezone
        return prev_basis in DETERMINISTIC_BASES - {"option"}

    def _skip_unchanged(self, f: ExportFile, previous: tuple, decided: Counter[str]) -> None:
        _, reading, basis, _, rows = previous
        if basis in {"same", "span", "google_csv"}:
            decided[reading] += 1
        self.summary.hr_readings[(reading, basis)] += 1
        self.summary.hr_unchanged_files += 1
        self.summary.hr_unchanged_rows += rows
        self.progress("heart_rate", f)

    def _decide(self, f: ExportFile, samples: parsers.HeartRateSamples) -> Decision:
        if self.hr_timezone != "auto":
            return Decision(self.hr_timezone, "option")
        if len(samples) == 0 or f.day is None:
            return Decision("utc", "default")
        decision = decide_by_span(f.day, int(samples.naive_us.min()), int(samples.naive_us.max()), self.zone)
        google = self.layout.google_heart_rate.get(f.day)
        checks = sum(self.summary.google_crosscheck.values())
        if google is not None and (decision.reading is None or checks < CROSSCHECKS):
            try:
                csv_us, csv_bpm = read_google_heart_rate(self.layout, google)
            except (MemberError, UnicodeDecodeError):  # an unreadable GoogleData CSV settles nothing
                csv_us, csv_bpm = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int16)
            by_csv = decide_by_google_csv(samples.naive_us, samples.bpm, self.zone, csv_us, csv_bpm)
            if decision.reading is None:
                return by_csv
            if decision.basis != "same":
                verdict = "no match" if by_csv.reading is None else \
                    "agree" if by_csv.reading == decision.reading else "conflict"
                self.summary.google_crosscheck[verdict] += 1
        return decision

    def _heart_rate_file(self, writer: HeartRateWriter, f: ExportFile, samples: parsers.HeartRateSamples,
                         decision: Decision, fingerprint: str, previous: tuple | None) -> None:
        assert decision.reading is not None and f.day is not None
        self.summary.hr_readings[(decision.reading, decision.basis)] += 1
        if samples.path == "scan":
            self.summary.hr_scan_files += 1
        else:
            self.summary.hr_json_files += 1
        began = time.perf_counter()
        instants = samples.naive_us if decision.reading == "utc" else local_to_utc_us(samples.naive_us, self.zone)
        window = file_window_utc(f.day)
        lo, hi = (int(w.timestamp()) * US for w in window)
        inside = (instants >= lo) & (instants < hi)
        rejected = list(samples.rejected)
        if not inside.all():
            for i in np.flatnonzero(~inside).tolist():
                rejected.append(Rejected(
                    locator=f"{f.name}[{int(samples.index[i])}]",
                    reason=f"sample outside the file's window [{window[0]:%Y-%m-%d}, {window[1]:%Y-%m-%d}) UTC "
                           f"({decision.reading} reading)", raw_text=samples.record_text(i)))
            samples, instants = samples.select(inside), instants[inside]
        if not self.force and previous is not None and previous[:2] == (fingerprint, decision.reading) \
                and previous[3] == self.person.timezone:
            self.summary.hr_unchanged_files += 1
            self.summary.hr_unchanged_rows += previous[4]
            damaged.clear(self.conn, person_id=self.person.id, source=SOURCE, entity="heart_rate", names=[f.name])
            self.progress("heart_rate", f)
            return
        self.summary.quarantine("heart_rate", rejected)
        first_at = _UNIX + timedelta(microseconds=int(instants.min())) if instants.size else None
        last_at = _UNIX + timedelta(microseconds=int(instants.max())) if instants.size else None
        payload = tables.encode_heart_rate(self.person.id, SOURCE, f.name, self.run_id, instants, samples.bpm,
                                           samples.confidence, samples.confidence_null)
        self.summary.timings["convert + encode"] += time.perf_counter() - began
        writer.submit(HeartRateFileLoad(
            person_id=self.person.id, source_file=f.name, file_day=f.day, window=window, payload=payload,
            rows=int(instants.size), rejected=rejected, fingerprint=fingerprint, reading=decision.reading,
            reading_basis=decision.basis, time_zone=self.person.timezone, first_at=first_at, last_at=last_at,
            run_id=self.run_id, delete_previous=previous is not None))
        self.progress("heart_rate", f)


class LogIdDeduper:
    """Sleep chunk files repeat the sessions at their boundaries: keep the first copy of each logId (files
    are read in name order, i.e. chunk order), skip the others with a reason."""

    def __init__(self) -> None:
        self.kept: dict[int, str] = {}

    def skip_reason(self, log_id: int, file_name: str) -> str | None:
        first = self.kept.get(log_id)
        if first is None:
            self.kept[log_id] = file_name
            return None
        where = "twice in one file" if first == file_name else "in an earlier chunk file"
        return f"same logId {where} (first copy kept)"


def read_google_heart_rate(layout: ExportLayout, f: ExportFile, limit: int = 200_000) -> tuple[np.ndarray,
                                                                                               np.ndarray]:
    """`heart_rate_D.csv` of Physical Activity_GoogleData (timestamp with Z, beats per minute) → µs, bpm."""
    import csv

    instants, bpm = [], []
    with layout.open_text(f) as stream:
        reader = csv.reader(stream)
        header = next(reader, [])
        try:
            t_col, b_col = header.index("timestamp"), header.index("beats per minute")
        except ValueError:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int16)
        for row in reader:
            if len(instants) >= limit:
                break
            try:
                at = datetime.fromisoformat(row[t_col])
                value = float(row[b_col])
            except (ValueError, IndexError):
                continue
            at = at.replace(tzinfo=UTC) if at.tzinfo is None else at
            instants.append((at - _UNIX) // timedelta(microseconds=1))
            bpm.append(int(round(value)))
    return np.array(instants, dtype=np.int64), np.array(bpm, dtype=np.int16)
