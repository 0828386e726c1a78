"""Hostile cases against the local stack: other OS accounts, password-less sessions, the analyst role
holding the loaders' locks, benchmarks and tests next to a running stack."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import psycopg
import pytest
from psycopg import errors, sql
from support import free_port

pytestmark = pytest.mark.integration


def refused(**conninfo) -> str | None:
    """The error text if the connection is refused, None if it got in (no ~/.pgpass, no PGPASSWORD)."""
    try:
        with psycopg.connect(connect_timeout=5, passfile="/dev/null", **conninfo):
            return None
    except psycopg.OperationalError as exc:
        return str(exc)


@pytest.fixture()
def private_tmp():
    """A temp folder the `postgres` OS user can traverse (pytest's tmp_path lives in a 0700 folder)."""
    folder = Path(tempfile.mkdtemp(prefix="tracker-fault-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.fault("superuser without password", "socket and TCP refuse postgres/analyst without a password")
def test_no_session_without_a_password(pg, fault, monkeypatch):
    from tracker import settings

    monkeypatch.delenv("PGPASSWORD", raising=False)
    # GIVEN the cluster as `up` makes it
    hba = (pg.data_dir / "pg_hba.conf").read_text()
    # THEN no line trusts anyone
    assert "trust" not in hba, hba
    # AND the socket folder is the server user's only, and so is the socket itself
    assert stat.S_IMODE(pg.socket_dir.stat().st_mode) == 0o700
    with psycopg.connect(pg.superuser_dsn()) as su:
        assert su.execute("show unix_socket_permissions").fetchone()[0] == "0700"
    # AND the superuser password is generated into the private secrets file
    secrets = settings.state_dir() / "secrets.json"
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    assert len(json.loads(secrets.read_text())["postgres_password"]) >= 24
    # WHEN anyone connects without a password, over the socket or TCP, as superuser or analyst
    attempts = {
        "socket postgres": refused(host=str(pg.socket_dir), port=pg.port, user="postgres", dbname="postgres"),
        "socket analyst": refused(host=str(pg.socket_dir), port=pg.port, user="analyst", dbname="warehouse"),
        "tcp postgres": refused(host=settings.HOST, port=pg.port, user="postgres", dbname="postgres"),
        "tcp postgres wrong": refused(host=settings.HOST, port=pg.port, user="postgres", dbname="postgres",
                                      password="postgres"),
    }
    # THEN every attempt is refused for want of the password
    assert all(attempts.values()), attempts
    assert all("password" in why for why in attempts.values()), attempts
    fault.record(f"{len(attempts)} password-less/wrong-password sessions refused; hba has no trust")


@pytest.mark.fault("another OS account on the socket", "permission denied on the 0700 socket folder")
def test_another_os_account_cannot_reach_the_socket(pg, fault):
    if os.geteuid() != 0:
        pytest.skip("needs root to act as another OS account")
    # WHEN the `nobody` account opens the server's socket (which we, the server's side, can)
    socket_file = pg.socket_dir / f".s.PGSQL.{pg.port}"
    probe = "import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1]); print('connected')"
    assert subprocess.run(["python3", "-c", probe, str(socket_file)], capture_output=True).returncode == 0
    result = subprocess.run(["runuser", "-u", "nobody", "--", "python3", "-c", probe, str(socket_file)],
                            capture_output=True, text=True, cwd="/")
    # THEN it cannot even reach the socket
    assert result.returncode != 0
    assert "PermissionError" in result.stderr and "connected" not in result.stdout, result.stderr
    fault.record("nobody: " + result.stderr.strip().splitlines()[-1][-80:])


@pytest.mark.fault("cluster from an older version (trust)", "next up sets the password and drops trust")
def test_an_old_trust_cluster_is_hardened_on_start(private_tmp, fault):
    from tracker import settings
    from tracker.stack.postgres import Cluster, bootstrap

    port = free_port()
    cluster = Cluster(private_tmp / "pg", port, name=f"fault-pg-{port}", state=private_tmp)
    cluster.initdb()
    # GIVEN what an older version left: trust on the socket, a superuser without password
    (cluster.data_dir / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n")
    cluster.start(durable=False)
    try:
        with psycopg.connect(host=str(cluster.socket_dir), port=port, user="postgres", dbname="postgres",
                             autocommit=True, passfile="/dev/null") as su:
            su.execute("alter role postgres password null")
            su.execute("create table kept (id int)")
            su.execute("insert into kept select generate_series(1, 10)")
        assert refused(host=str(cluster.socket_dir), port=port, user="postgres", dbname="postgres") is None
        # WHEN `up` runs again
        bootstrap(cluster, settings.Secrets.load_or_create(private_tmp))
        # THEN the socket asks for the password, which is the generated one; the data is still there
        why = refused(host=str(cluster.socket_dir), port=port, user="postgres", dbname="postgres")
        assert why and "password" in why, why
        with psycopg.connect(cluster.superuser_dsn()) as su:
            after = su.execute("select count(*) from kept").fetchone()[0]
        assert "trust" not in (cluster.data_dir / "pg_hba.conf").read_text()
    finally:
        cluster.stop()
    fault.record("trust removed, password set, data kept", before=10, after=after, lost=10 - after)


@pytest.mark.fault("state folder under a private folder (root)", "clear error; no parent folder loosened")
def test_no_parent_folder_is_loosened(private_tmp, fault):
    if os.geteuid() != 0:
        pytest.skip("the server runs as another OS user only when we are root")
    from tracker.stack import processes
    from tracker.stack.postgres import Cluster

    # GIVEN a state folder inside a folder only root may enter (like /root)
    home = private_tmp / "home"
    home.mkdir(mode=0o700)
    home.chmod(0o700)
    state = home / "repo" / ".state"
    state.mkdir(parents=True)
    cluster = Cluster(state / "pg", free_port(), name="fault-pg-private", state=state)
    # WHEN the cluster is created there
    with pytest.raises(processes.StackError) as caught:
        cluster.initdb()
    # THEN the error names the folder and the variable to move the state; the folder is left as it was
    assert str(home) in str(caught.value) and "TRACKER_STATE_DIR" in str(caught.value)
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    with pytest.raises(OSError):
        os.getxattr(home, "system.posix_acl_access")
    fault.record(str(caught.value)[:90])


@pytest.fixture()
def analyst(pg):
    from tracker import settings

    with psycopg.connect(settings.warehouse_dsn(settings.ANALYST_ROLE), autocommit=True) as conn:
        yield conn


@pytest.mark.fault("analyst connects elsewhere", "analyst may connect to the warehouse only")
def test_analyst_connects_to_the_warehouse_only(pg, analyst, fault):
    from tracker import settings

    password = settings.Secrets.load_or_create().analyst_password
    # WHEN the analyst connects to every other database
    attempts = {db: refused(host=settings.HOST, port=pg.port, user=settings.ANALYST_ROLE, password=password,
                            dbname=db) for db in (settings.AIRFLOW_DB, "postgres", "template1")}
    # THEN each is refused for want of CONNECT; the warehouse session works
    assert all(why and "permission denied for database" in why for why in attempts.values()), attempts
    assert analyst.execute("select current_database()").fetchone()[0] == settings.WAREHOUSE_DB
    # AND Airflow's role only reaches its own database
    airflow_pw = settings.Secrets.load_or_create().airflow_db_password
    assert refused(host=settings.HOST, port=pg.port, user=settings.AIRFLOW_ROLE, password=airflow_pw,
                   dbname=settings.WAREHOUSE_DB)
    assert refused(host=settings.HOST, port=pg.port, user=settings.AIRFLOW_ROLE, password=airflow_pw,
                   dbname=settings.AIRFLOW_DB) is None
    fault.record(f"analyst refused on {', '.join(attempts)}")


@pytest.mark.fault("analyst takes a loader's advisory lock", "permission denied; loads go on")
def test_analyst_cannot_take_advisory_locks_and_loads_go_on(pg, analyst, warehouse, fault):
    from tracker.warehouse.loader import RawTable, load

    table = RawTable(schema="raw", name="t_lock_probe", columns={"id": "int4", "v": "text"}, key=("id",))
    warehouse.execute("drop table if exists raw.t_lock_probe")
    warehouse.execute("create table raw.t_lock_probe (id int primary key, v text, _run_id text not null, "
                      "_loaded_at timestamptz not null default now())")
    try:
        # WHEN the analyst tries every way of taking the lock a load of that table takes
        denied = []
        for call in ("pg_advisory_lock(hashtext(%s))", "pg_try_advisory_lock(hashtext(%s))",
                     "pg_advisory_lock_shared(hashtext(%s))", "pg_advisory_xact_lock(hashtext(%s))"):
            with pytest.raises(errors.InsufficientPrivilege):
                analyst.execute(f"select {call}", (table.qualified,))
            denied.append(call.split("(")[0])
        # THEN each is denied, and the load runs (within a second) and lands every row
        began = time.monotonic()
        load(warehouse, table, [(i, f"v{i}") for i in range(100)], run_id="fault")
        assert time.monotonic() - began < 5
        after = warehouse.execute("select count(*) from raw.t_lock_probe").fetchone()[0]
    finally:
        warehouse.execute("drop table if exists raw.t_lock_probe")
    assert after == 100
    fault.record(f"denied: {', '.join(denied)}; load done", before=0, after=after, lost=100 - after)


@pytest.mark.fault("a held advisory lock", "lock_timeout ends the wait; queued loads still pass")
def test_advisory_lock_waits_end_at_lock_timeout_and_queued_loads_still_pass(pg, fault):
    from tracker import settings
    from tracker.stack.postgres import LOCK_TIMEOUTS

    dsn = settings.warehouse_dsn()
    # GIVEN the roles' defaults
    with psycopg.connect(dsn) as loader:
        assert loader.execute("show lock_timeout").fetchone()[0] == LOCK_TIMEOUTS[settings.LOADER_ROLE]
    with psycopg.connect(settings.warehouse_dsn(settings.AIRFLOW_ROLE, db=settings.AIRFLOW_DB)) as af:
        assert af.execute("show lock_timeout").fetchone()[0] == LOCK_TIMEOUTS[settings.AIRFLOW_ROLE]
    with psycopg.connect(dsn) as holder, psycopg.connect(dsn) as waiter:
        holder.execute("select pg_advisory_xact_lock(hashtext('fault.lock'))")
        # WHEN another load waits for it longer than its lock_timeout (shortened here to 300 ms)
        waiter.execute("set lock_timeout = '300ms'")
        began = time.monotonic()
        # THEN pg_advisory_xact_lock is subject to lock_timeout: the wait ends with an error
        with pytest.raises(errors.LockNotAvailable):
            waiter.execute("select pg_advisory_xact_lock(hashtext('fault.lock'))")
        waited = time.monotonic() - began
        waiter.rollback()
        assert 0.25 < waited < 5, waited
        # AND with the role's default a queued load simply waits its turn (1 s here) and gets the lock
        waiter.execute("reset lock_timeout")
        threading.Timer(1.0, holder.commit).start()
        began = time.monotonic()
        waiter.execute("select pg_advisory_xact_lock(hashtext('fault.lock'))")
        queued = time.monotonic() - began
        waiter.commit()
    assert 0.5 < queued < 10, queued
    fault.record(f"held lock: waiter failed after {waited:.1f}s at 300ms; queued load waited {queued:.1f}s")


@pytest.mark.fault("a benchmark next to a running stack", "bench cluster keeps to its own folder")
def test_a_throwaway_cluster_never_writes_into_the_stack_state(pg, fault, monkeypatch, private_tmp):
    from tracker.stack.postgres import throwaway_cluster

    # GIVEN a user's stack state folder (what `make bench` runs next to: the default state folder)
    user = private_tmp / "user-state"
    (user / "pids").mkdir(parents=True)
    (user / "pids" / "postgres.pid").write_text("1")
    monkeypatch.setenv("TRACKER_STATE_DIR", str(user))
    before = sorted(str(p.relative_to(user)) for p in user.rglob("*"))
    # WHEN a benchmark's throwaway cluster starts, loads and stops
    with throwaway_cluster() as dsn, psycopg.connect(dsn) as conn:
        conn.execute(sql.SQL("select 1"))
    # THEN the stack's folder holds exactly what it held: no PID file, log or secrets of the bench
    after = sorted(str(p.relative_to(user)) for p in user.rglob("*"))
    assert after == before, set(after) ^ set(before)
    fault.record("state folder unchanged", before=len(before), after=len(after), lost=len(set(before) - set(after)))


@pytest.mark.fault("default ports inside the kernel's ephemeral range",
                   "no default port an outgoing connection can take")
def test_default_ports_lie_outside_the_ephemeral_ranges(fault):
    """`up` failed at random with "address already in use": a short-lived outgoing connection of any process
    (this machine: 32768–60999; macOS and Windows: 49152–65535) can hold a port inside those ranges."""
    from pathlib import Path

    from tracker import settings

    ranges = [(49152, 65535)]
    local = Path("/proc/sys/net/ipv4/ip_local_port_range")
    if local.exists():
        low, high = map(int, local.read_text().split())
        ranges.append((low, high))
    inside = {name: port for name, (_, port) in settings.PORTS.items() if any(lo <= port <= hi for lo, hi in ranges)}
    fault.record(f"inside: {inside or 'none'}")
    assert not inside
