"""A PostgreSQL cluster under the state folder: found on the machine, run as `postgres` when we are root."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

from tracker import settings as s
from tracker.stack import processes as p


def find_bindir() -> Path:
    """pg_ctl/initdb from PG_BINDIR, PATH or Debian's /usr/lib/postgresql/<v>/bin (newest first)."""
    candidates = [os.environ.get("PG_BINDIR", "")]
    if which := shutil.which("initdb"):
        candidates.append(str(Path(which).parent))
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(d.split("/")[4]),
                         reverse=True)
    for c in candidates:
        if c and Path(c, "initdb").exists() and Path(c, "postgres").exists():
            return Path(c)
    raise p.StackError("no PostgreSQL server found: install it (Debian/Ubuntu: `apt-get install postgresql`) "
                       "or set PG_BINDIR to the folder holding initdb and postgres")


def run_as() -> str | None:
    """initdb refuses root: run the server as the `postgres` system user then."""
    return "postgres" if os.geteuid() == 0 else None


class Cluster:
    """One data directory, one port, one unix-socket folder."""

    def __init__(self, data_dir: Path, port: int, name: str = "postgres") -> None:
        self.data_dir, self.port, self.name = data_dir, port, name
        self.socket_dir = data_dir.parent / f"{data_dir.name}-sock"
        self.bindir = find_bindir()
        self.user = run_as()

    def _own(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        if self.user:
            shutil.chown(path, self.user, self.user)
            # the postgres user must be able to reach the folder
            for parent in path.parents:
                if parent == Path("/"):
                    break
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    parent.chmod(mode | 0o001)

    def initdb(self) -> bool:
        if (self.data_dir / "PG_VERSION").exists():
            return False
        self._own(self.data_dir)
        self.data_dir.chmod(0o700)
        cmd = [str(self.bindir / "initdb"), "-D", str(self.data_dir), "-U", "postgres", "--auth=trust",
               "-E", "UTF8", "--locale=C.UTF-8"]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True)
        # trust only over the unix socket (file permissions guard it); passwords over TCP
        (self.data_dir / "pg_hba.conf").write_text(
            "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n")
        return True

    def start(self, durable: bool = True) -> None:
        """durable=False (throwaway test clusters) turns fsync off."""
        self._own(self.socket_dir)
        options = {"listen_addresses": s.HOST, "max_connections": "200", "shared_buffers": "256MB"}
        if not durable:
            options |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        argv = [str(self.bindir / "postgres"), "-D", str(self.data_dir), "-p", str(self.port),
                "-k", str(self.socket_dir)]
        for key, value in options.items():
            argv += ["-c", f"{key}={value}"]
        p.start(self.name, argv, user=self.user)
        p.wait_for(self.ready, f"PostgreSQL on port {self.port}", 30, self.name)

    def ready(self) -> bool:
        try:
            with psycopg.connect(self.superuser_dsn(), connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    def superuser_dsn(self, db: str = "postgres") -> str:
        return f"host={self.socket_dir} port={self.port} user=postgres dbname={db}"

    def stop(self) -> None:
        """Fast shutdown (SIGINT): connected clients are disconnected instead of waited for."""
        p.stop(self.name, sig=signal.SIGINT)


def bootstrap(cluster: Cluster, secrets: s.Secrets) -> None:
    """Roles and databases, idempotent: loader owns the warehouse, analyst reads gold only."""
    roles = {s.LOADER_ROLE: secrets.loader_password, s.AIRFLOW_ROLE: secrets.airflow_db_password,
             s.ANALYST_ROLE: secrets.analyst_password}
    with psycopg.connect(cluster.superuser_dsn(), autocommit=True) as conn:
        for role, password in roles.items():
            exists = conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone()
            verb = "alter" if exists else "create"
            conn.execute(sql.SQL(f"{verb} role {{}} login password {{}}").format(
                sql.Identifier(role), sql.Literal(password)))
        for db, owner in ((s.WAREHOUSE_DB, s.LOADER_ROLE), (s.AIRFLOW_DB, s.AIRFLOW_ROLE)):
            if not conn.execute("select 1 from pg_database where datname = %s", (db,)).fetchone():
                conn.execute(sql.SQL("create database {} owner {}").format(
                    sql.Identifier(db), sql.Identifier(owner)))
    with psycopg.connect(cluster.superuser_dsn(s.WAREHOUSE_DB), autocommit=True) as conn:
        conn.execute(sql.SQL("revoke all on database {} from public").format(sql.Identifier(s.WAREHOUSE_DB)))
        conn.execute(sql.SQL("grant connect on database {} to {}, {}").format(
            sql.Identifier(s.WAREHOUSE_DB), sql.Identifier(s.LOADER_ROLE), sql.Identifier(s.ANALYST_ROLE)))
        conn.execute("revoke create on schema public from public")


@contextmanager
def throwaway_cluster(port: int | None = None) -> Generator[str, None, None]:
    """A temporary cluster with Tracker's roles and raw tables; yields the loader DSN, removes it all after.

    For benchmarks and one-off checks that must not touch the local stack's data.
    """
    import socket
    import tempfile

    from tracker.warehouse.schema import ensure_warehouse

    if port is None:
        with socket.socket() as sock:
            sock.bind((s.HOST, 0))
            port = sock.getsockname()[1]
    folder = Path(tempfile.mkdtemp(prefix="tracker-pg-"))
    cluster = Cluster(folder / "pg", port, name=f"throwaway-pg-{port}")
    secrets = s.Secrets.load_or_create(folder)
    try:
        cluster.initdb()
        cluster.start(durable=False)
        bootstrap(cluster, secrets)
        dsn = f"postgresql://{s.LOADER_ROLE}:{secrets.loader_password}@{s.HOST}:{port}/{s.WAREHOUSE_DB}"
        with psycopg.connect(dsn) as conn:
            ensure_warehouse(conn)
        yield dsn
    finally:
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)
