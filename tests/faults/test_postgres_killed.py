"""PostgreSQL killed in the middle of a load (every server process SIGKILLed, then crash recovery on start):
no partial window is left behind, and the rerun completes. On a cluster of its own (the session cluster is
shared by every other test), started durable (fsync on) like the local stack's."""

from __future__ import annotations

import shutil
import signal
import socket
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import psycopg
import pytest
from tracker import settings
from tracker.warehouse.loader import RawTable, Window, load, replace_window

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

DAY = datetime(2026, 3, 29, tzinfo=UTC)
TABLE = RawTable("raw", "t_killed_samples", {"person_id": "text", "observed_at": "timestamptz", "bpm": "int2"},
                 key=("person_id", "observed_at"), window_column="observed_at")
WINDOW = Window(DAY, DAY + timedelta(days=1), {"person_id": "ann"})


@pytest.fixture()
def cluster(pg):
    from tracker.stack.postgres import Cluster, bootstrap

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    folder = Path(tempfile.mkdtemp(prefix="tracker-pg-kill-"))
    c = Cluster(folder / "pg", port, name=f"kill-pg-{port}", state=folder)
    secrets = settings.Secrets.load_or_create(folder)
    c.initdb()
    c.start(durable=True)
    bootstrap(c, secrets)
    c.dsn = f"postgresql://{settings.LOADER_ROLE}:{secrets.loader_password}@127.0.0.1:{port}/{settings.WAREHOUSE_DB}"
    with psycopg.connect(c.dsn, autocommit=True) as conn:
        conn.execute("create schema if not exists raw")
        conn.execute("create table raw.t_killed_samples (person_id text not null, observed_at timestamptz not null,"
                     " bpm int2, _run_id text not null, _loaded_at timestamptz not null default now(),"
                     " primary key (person_id, observed_at))")
    try:
        yield c
    finally:
        c.stop()
        shutil.rmtree(folder, ignore_errors=True)


def kill_server(cluster) -> None:
    """SIGKILL the postmaster and every backend (what an OOM killer or a power cut leaves)."""
    pid = int((cluster.data_dir / "postmaster.pid").read_text().split()[0])
    master = psutil.Process(pid)
    for proc in [*master.children(recursive=True), master]:
        proc.send_signal(signal.SIGKILL)
    psutil.wait_procs([master], timeout=10)


def day_rows(bpm: int) -> list[tuple]:
    return [("ann", DAY + timedelta(minutes=m), bpm + m % 7) for m in range(1440)]


def snapshot(dsn: str) -> tuple[int, str]:
    with psycopg.connect(dsn) as conn:
        return conn.execute("select count(*), md5(coalesce(string_agg((person_id, observed_at, bpm)::text, '|'"
                            " order by observed_at), '')) from raw.t_killed_samples").fetchone()


def kill_when_copying(cluster, started: threading.Event) -> threading.Thread:
    def watch() -> None:
        started.wait(30)
        deadline = time.monotonic() + 30
        with psycopg.connect(cluster.superuser_dsn(settings.WAREHOUSE_DB), autocommit=True) as conn:
            while time.monotonic() < deadline:
                if conn.execute("select count(*) from pg_stat_activity where query ilike 'copy%%'"
                                " and state = 'active'").fetchone()[0]:
                    break
                time.sleep(0.005)
        kill_server(cluster)

    thread = threading.Thread(target=watch)
    thread.start()
    return thread


@pytest.mark.fault("PostgreSQL killed mid-load (keyed merge of a rerun)",
                   "old rows intact after recovery; rerun completes")
def test_killed_during_a_keyed_reload(cluster, fault):
    with psycopg.connect(cluster.dsn, autocommit=True) as conn:
        load(conn, TABLE, day_rows(60), run_id="first", window=WINDOW)
    before = snapshot(cluster.dsn)
    started = threading.Event()

    def slow(rows):
        started.set()
        for i, row in enumerate(rows):
            if i % 100 == 0:
                time.sleep(0.01)
            yield row

    killer = kill_when_copying(cluster, started)
    with pytest.raises(psycopg.OperationalError), psycopg.connect(cluster.dsn, autocommit=True) as conn:
        load(conn, TABLE, slow(day_rows(70)), run_id="killed", window=WINDOW)
    killer.join()
    cluster.start(durable=True)   # crash recovery
    after_crash = snapshot(cluster.dsn)
    with psycopg.connect(cluster.dsn, autocommit=True) as conn:
        load(conn, TABLE, day_rows(70), run_id="rerun", window=WINDOW)
    rerun = snapshot(cluster.dsn)
    fault.record(f"after recovery: {'unchanged' if after_crash == before else 'CHANGED'}; rerun: {rerun[0]} rows",
                 before=before[0], after=rerun[0], lost=before[0] - after_crash[0] + 1440 - rerun[0])
    assert after_crash == before
    assert rerun[0] == 1440 and rerun != before


@pytest.mark.fault("PostgreSQL killed mid-load (window replace)", "the window is whole after recovery; rerun completes")
def test_killed_during_a_window_replace(cluster, fault):
    big = [("ann", DAY + timedelta(seconds=s), 60 + s % 9) for s in range(0, 86400, 1)]  # 1 s samples
    with psycopg.connect(cluster.dsn, autocommit=True) as conn:
        replace_window(conn, TABLE, big, run_id="first", window=WINDOW)
    before = snapshot(cluster.dsn)
    started = threading.Event()
    changed = [(p, t, b + 1) for p, t, b in big]
    killer = kill_when_copying(cluster, started)
    started.set()
    with pytest.raises(psycopg.OperationalError), psycopg.connect(cluster.dsn, autocommit=True) as conn:
        for _ in range(20):  # until the killer lands inside one of the COPYs
            replace_window(conn, TABLE, changed, run_id="killed", window=WINDOW)
    killer.join()
    cluster.start(durable=True)
    after_crash = snapshot(cluster.dsn)
    with psycopg.connect(cluster.dsn, autocommit=True) as conn:
        replace_window(conn, TABLE, changed, run_id="rerun", window=WINDOW)
    rerun = snapshot(cluster.dsn)
    whole = after_crash[0] == 86400
    fault.record(f"after recovery: {after_crash[0]:,} rows ({'whole' if whole else 'PARTIAL'}); rerun {rerun[0]:,}",
                 before=before[0], after=rerun[0], lost=before[0] - after_crash[0] + 86400 - rerun[0])
    assert whole and after_crash in (before, snapshot_of(changed))
    assert rerun == snapshot_of(changed)


def snapshot_of(rows: list[tuple]) -> tuple[int, str]:
    import hashlib

    def text(r):
        return f"({r[0]},\"{r[1].astimezone(UTC):%Y-%m-%d %H:%M:%S+00}\",{r[2]})"

    return len(rows), hashlib.md5("|".join(text(r) for r in sorted(rows, key=lambda r: r[1])).encode()).hexdigest()
