"""The Fitbit export's fast heart-rate file writer; the raw tables live in `tracker.sources.fitbit.tables`
(shared with the Google Health API) and are re-exported here for the code that imports them from this path.

Small tables go through `warehouse.loader.load` (keyed merge: a re-import touches nothing). Heart rate
(~30 M rows a year) does not fit a keyed merge's ≈ 200 k rows/s; each export file is replaced as a whole —
the same delete-then-COPY as `loader.replace_window`, in one transaction per file, but the rows are
encoded by numpy straight into PostgreSQL's binary COPY format (`encode_heart_rate`) instead of one Python
tuple and one `write_row` per sample, and several files load in parallel on their own connections
(`HeartRateWriter`). The delete is scoped to person_id + source + source_file inside the file's
[D-1, D+2) UTC window, so a file re-read with another time-zone reading still replaces its old rows.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import psycopg

from tracker.sources.fitbit.tables import (  # noqa: F401  re-exported: the old home of the shared tables
    ALL,
    EXERCISES,
    HEART_RATE,
    HEART_RATE_ZONE_LIMITS,
    HEART_RATE_ZONES,
    HRV_DAILY,
    RESPIRATORY_RATE_DAILY,
    RESTING_HEART_RATE,
    SLEEP_SCORES,
    SLEEP_SESSIONS,
    SLEEP_STAGES,
    SPO2_DAILY,
    SPO2_MINUTE,
    STEPS_DAILY,
    STEPS_MINUTE,
    row_tuple,
)
from tracker.warehouse import quarantine
from tracker.warehouse.load_log import half_open, log_import
from tracker.warehouse.quarantine import Rejected

SOURCE = "fitbit_export"


# ------------------------------------------------------------------------------------------ binary COPY
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8
COPY_TRAILER = b"\xff\xff"
PG_EPOCH_US = 946_684_800 * 1_000_000   # 2000-01-01 in Unix µs: binary timestamptz counts from there
HR_COPY_COLUMNS = ("person_id", "observed_at", "bpm", "confidence", "source", "source_file", "_run_id")


def _text_field(name: str, value: str) -> tuple[list[tuple[str, str]], bytes]:
    raw = value.encode()
    if not raw:
        raise ValueError(f"{name} must not be empty")
    return [(f"{name}_len", ">i4"), (name, f"S{len(raw)}")], raw


def encode_heart_rate(person_id: str, source: str, source_file: str, run_id: str, instants_us: np.ndarray,
                      bpm: np.ndarray, confidence: np.ndarray, confidence_null: np.ndarray | None) -> bytes:
    """Rows (HR_COPY_COLUMNS order) in PostgreSQL's binary COPY tuple format, without header/trailer.

    Every row of a file has the same layout (the text values are constant per file), so the rows are one
    numpy structured array: no Python object per sample. Rows with a null confidence use a second layout.
    """
    texts = {}
    fields_person, texts["person"] = _text_field("person", person_id)
    fields_source, texts["source"] = _text_field("source", source)
    fields_file, texts["file"] = _text_field("file", source_file)
    fields_run, texts["run"] = _text_field("run", run_id)
    parts = []
    masks = [np.ones(instants_us.size, dtype=bool) if confidence_null is None else ~confidence_null]
    if confidence_null is not None:
        masks.append(confidence_null)
    for null, mask in zip((False, True), masks, strict=False):
        conf_fields = [("conf_len", ">i4")] + ([] if null else [("conf", ">i2")])
        dtype = np.dtype([("nfields", ">i2"), *fields_person, ("ts_len", ">i4"), ("ts", ">i8"),
                          ("bpm_len", ">i4"), ("bpm", ">i2"), *conf_fields, *fields_source, *fields_file,
                          *fields_run])
        rows = np.empty(int(mask.sum()), dtype=dtype)
        rows["nfields"] = len(HR_COPY_COLUMNS)
        for key, raw in texts.items():
            rows[f"{key}_len"] = len(raw)
            rows[key] = raw
        rows["ts_len"], rows["ts"] = 8, instants_us[mask] - PG_EPOCH_US
        rows["bpm_len"], rows["bpm"] = 2, bpm[mask]
        if null:
            rows["conf_len"] = -1
        else:
            rows["conf_len"], rows["conf"] = 2, confidence[mask]
        parts.append(rows.tobytes())
    return b"".join(parts)


@dataclass
class HeartRateFileLoad:
    """One file's replacement: its rows (encoded), its rejected samples and its manifest entry."""

    person_id: str
    source_file: str
    file_day: date
    window: tuple[datetime, datetime]
    payload: bytes
    rows: int
    rejected: list[Rejected]
    fingerprint: str
    reading: str
    reading_basis: str
    time_zone: str
    first_at: datetime | None
    last_at: datetime | None
    run_id: str
    delete_previous: bool = True   # False when the file was never loaded (no manifest row): nothing to delete


_DELETE = ("delete from raw.fitbit__heart_rate where person_id = %s and source = %s and source_file = %s"
           " and observed_at >= %s and observed_at < %s")
_COPY = f"copy raw.fitbit__heart_rate ({', '.join(HR_COPY_COLUMNS)}) from stdin (format binary)"
_MANIFEST = """
insert into raw.fitbit__heart_rate_files as m (person_id, source, source_file, file_day, fingerprint, reading,
    reading_basis, time_zone, sample_rows, quarantined, first_at, last_at, _run_id)
values (%(person_id)s, %(source)s, %(source_file)s, %(file_day)s, %(fingerprint)s, %(reading)s,
    %(reading_basis)s, %(time_zone)s, %(rows)s, %(quarantined)s, %(first_at)s, %(last_at)s, %(run_id)s)
on conflict (person_id, source, source_file) do update set file_day = excluded.file_day,
    fingerprint = excluded.fingerprint, reading = excluded.reading, reading_basis = excluded.reading_basis,
    time_zone = excluded.time_zone, sample_rows = excluded.sample_rows, quarantined = excluded.quarantined,
    first_at = excluded.first_at, last_at = excluded.last_at, _run_id = excluded._run_id, _loaded_at = now()
"""


def replace_heart_rate_file(conn: psycopg.Connection, job: HeartRateFileLoad) -> tuple[int, int]:
    """In one transaction: delete the file's previous rows, COPY its rows, replace its quarantine rows and
    record it in raw.fitbit__heart_rate_files and the load log (scope: the file). Returns (rows deleted, rows
    copied).

    A file's rows exist exactly when its manifest row does (both are written in this transaction), so a
    file without one skips the delete — which matters: BRIN returns every not-yet-summarised page range,
    so during a first import each delete would rescan everything loaded so far (quadratic in days)."""
    started_at = datetime.now(UTC)
    with conn.transaction(), conn.cursor() as cur:
        if job.first_at is not None:  # the file's month partition (ddl/065; waits ≤ 5 s, else the default one)
            cur.execute("select raw.ensure_partitions('raw.fitbit__heart_rate', %s, %s, '5s')",
                        (job.first_at, job.last_at))
        deleted = 0
        if job.delete_previous:
            cur.execute(_DELETE, (job.person_id, SOURCE, job.source_file, *job.window))
            deleted = cur.rowcount
        with cur.copy(_COPY) as copy:
            copy.write(COPY_HEADER)
            copy.write(job.payload)
            copy.write(COPY_TRAILER)
        quarantine.replace(conn, person_id=job.person_id, source=SOURCE, entity="heart_rate", run_id=job.run_id,
                           rejected=job.rejected, locator_prefix=job.source_file)
        cur.execute(_MANIFEST, {
            "person_id": job.person_id, "source": SOURCE, "source_file": job.source_file, "file_day": job.file_day,
            "fingerprint": job.fingerprint, "reading": job.reading, "reading_basis": job.reading_basis,
            "time_zone": job.time_zone, "rows": job.rows, "quarantined": len(job.rejected),
            "first_at": job.first_at, "last_at": job.last_at, "run_id": job.run_id})
        log_import(conn, run_id=job.run_id, source=SOURCE, entity="heart_rate", person_id=job.person_id,
                   window=half_open(job.first_at, job.last_at, job.window[0]), rows=job.rows, inserted=job.rows,
                   updated=0, deleted=deleted,
                   quarantined=len(job.rejected), started_at=started_at, scope=job.source_file)
    return deleted, job.rows


class HeartRateWriter:
    """Loads heart-rate files on `workers` threads, each with its own connection (PostgreSQL then parses
    the COPY streams on several cores while this process parses the next file). At most `workers + 1`
    encoded files wait in memory; the first error stops further submissions and is raised by close()."""

    def __init__(self, dsn: str, workers: int = 2,
                 on_done: Callable[[HeartRateFileLoad, int, int], None] | None = None) -> None:
        self.dsn, self.workers, self.on_done = dsn, max(1, workers), on_done
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="fitbit-hr")
        self._slots = threading.Semaphore(self.workers + 1)
        self._local = threading.local()
        self._connections: list[psycopg.Connection] = []
        self._lock = threading.Lock()
        self._error: BaseException | None = None
        self.busy_seconds = 0.0      # summed over the load threads
        self.waited_seconds = 0.0    # the submitting thread, blocked because every slot was taken

    def _connection(self) -> psycopg.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = psycopg.connect(self.dsn, autocommit=True)
            with self._lock:
                self._connections.append(conn)
        return conn

    def _run(self, job: HeartRateFileLoad) -> None:
        began = time.perf_counter()
        try:
            deleted, copied = replace_heart_rate_file(self._connection(), job)
            with self._lock:
                self.busy_seconds += time.perf_counter() - began
                if self.on_done:
                    self.on_done(job, deleted, copied)
        except BaseException as exc:  # kept for submit()/close(): the pool would swallow it
            self._error = self._error or exc
        finally:
            self._slots.release()

    def submit(self, job: HeartRateFileLoad) -> None:
        if self._error is not None:
            raise self._error
        began = time.perf_counter()
        self._slots.acquire()
        self.waited_seconds += time.perf_counter() - began
        self._pool.submit(self._run, job)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        for conn in self._connections:
            conn.close()
        if self._error is not None:
            raise self._error
