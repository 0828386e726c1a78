"""A PostgreSQL cluster under the state folder: found on the machine, run as `postgres` when we are root."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import struct
import subprocess
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import psycopg.conninfo
from psycopg import sql

from tracker import settings as s
from tracker.private_files import write_private
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


# passwords (scram-sha-256) for everyone, on the unix socket too: no trust, so no other OS account gets in
HBA = "local all all scram-sha-256\nhost all all 127.0.0.1/32 scram-sha-256\n"
SUPERUSER = "postgres"


def unreachable_folder(path: Path, user: str) -> Path | None:
    """The first folder above path (from /) that `user` may not traverse, if any."""
    folders = [str(f) for f in reversed(path.parents)]
    found = subprocess.run(["runuser", "-u", user, "--", "sh", "-c",
                            'for d; do test -x "$d" || { echo "$d"; exit 1; }; done', "sh", *folders],
                           capture_output=True, text=True)
    return Path(found.stdout.strip()) if found.returncode else None


def xattr_acl(folder: Path) -> bool:
    """Whether folder already has an access ACL (then it is left as it is)."""
    try:
        os.getxattr(folder, "system.posix_acl_access")
    except OSError:
        return False
    return True


def grant_traverse(folder: Path, user: str) -> None:
    """Let `user` (only) traverse folder, with a POSIX ACL entry: neither the mode nor anyone else's access
    changes (`getfacl` shows it)."""
    mode = folder.stat().st_mode
    owner, group, other = (mode >> 6) & 7, (mode >> 3) & 7, mode & 7
    undefined = 0xFFFFFFFF
    entries = [(0x01, owner, undefined), (0x02, 1, pwd.getpwnam(user).pw_uid), (0x04, group, undefined),
               (0x10, group | 1, undefined), (0x20, other, undefined)]
    os.setxattr(folder, "system.posix_acl_access",
                struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in entries))


class Cluster:
    """One data directory, one port, one unix-socket folder (mode 0700); PID file, log and the superuser
    password (secrets.json) in `state` (default: the stack's state folder)."""

    def __init__(self, data_dir: Path, port: int, name: str = "postgres", state: Path | None = None) -> None:
        self.data_dir, self.port, self.name = data_dir, port, name
        self.state = state
        self.socket_dir = data_dir.parent / f"{data_dir.name}-sock"
        self.bindir = find_bindir()
        self.user = run_as()

    @property
    def password(self) -> str:
        return s.Secrets.load_or_create(self.state).postgres_password

    def _own(self, path: Path, mode: int = 0o700) -> None:
        """Create path for the server's OS user, private to it. Never loosens a folder above it; only the
        stack's own folder holding it (the state folder) may get a traverse-only ACL entry for that user."""
        path.mkdir(parents=True, exist_ok=True)
        if self.user:
            blocked = unreachable_folder(path, self.user)
            if blocked == path.parent and blocked.stat().st_uid == os.geteuid() and not xattr_acl(blocked):
                grant_traverse(blocked, self.user)
                blocked = unreachable_folder(path, self.user)
            if blocked:
                raise p.StackError(
                    f"the `{self.user}` user that runs PostgreSQL (initdb refuses root) cannot reach {path}: "
                    f"{blocked} is not traversable for it. Set TRACKER_STATE_DIR to a folder it can reach "
                    f"(e.g. /var/tmp/tracker-state), or allow it yourself (chmod o+x {blocked})")
            shutil.chown(path, self.user, self.user)
        path.chmod(mode)

    def _write_private(self, path: Path, text: str) -> None:
        write_private(path, text, owner=self.user)

    def initdb(self) -> bool:
        if (self.data_dir / "PG_VERSION").exists():
            return False
        self._own(self.data_dir)
        pwfile = self.data_dir.parent / f".{self.data_dir.name}-initdb-pw"
        self._write_private(pwfile, self.password + "\n")
        cmd = [str(self.bindir / "initdb"), "-D", str(self.data_dir), "-U", SUPERUSER, "--auth=scram-sha-256",
               f"--pwfile={pwfile}", "-E", "UTF8", "--locale=C.UTF-8"]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        try:
            subprocess.run(cmd, check=True, capture_output=True, umask=p.CHILD_UMASK)
        finally:
            pwfile.unlink(missing_ok=True)
        self._write_private(self.data_dir / "pg_hba.conf", HBA)
        return True

    def start(self, durable: bool = True) -> None:
        """durable=False (throwaway test clusters) turns fsync off."""
        self._own(self.socket_dir)
        options = {"listen_addresses": s.HOST, "max_connections": "200", "shared_buffers": "256MB",
                   "unix_socket_permissions": "0700", "password_encryption": "scram-sha-256"}
        if not durable:
            options |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        argv = [str(self.bindir / "postgres"), "-D", str(self.data_dir), "-p", str(self.port),
                "-k", str(self.socket_dir)]
        for key, value in options.items():
            argv += ["-c", f"{key}={value}"]
        p.start(self.name, argv, user=self.user, state=self.state)
        p.wait_for(self.ready, f"PostgreSQL on port {self.port}", 30, self.name, state=self.state)

    def ready(self) -> bool:
        try:
            with psycopg.connect(self.superuser_dsn(), connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    def superuser_dsn(self, db: str = "postgres") -> str:
        return psycopg.conninfo.make_conninfo(host=str(self.socket_dir), port=self.port, user=SUPERUSER,
                                              dbname=db, password=self.password)

    def harden(self) -> None:
        """Bring a cluster made by an older version (trust on the socket) to password auth: set the superuser
        password first, then the pg_hba.conf, and reload."""
        with psycopg.connect(self.superuser_dsn(), autocommit=True) as conn:
            conn.execute("set password_encryption = 'scram-sha-256'")
            conn.execute(sql.SQL("alter role {} password {}").format(
                sql.Identifier(SUPERUSER), sql.Literal(self.password)))
            hba = self.data_dir / "pg_hba.conf"
            if hba.read_text() != HBA:
                self._write_private(hba, HBA)
                conn.execute("select pg_reload_conf()")

    def stop(self) -> None:
        """Fast shutdown (SIGINT): connected clients are disconnected instead of waited for."""
        p.stop(self.name, sig=signal.SIGINT, state=self.state)


# how long a loader (or Airflow) statement waits for a lock before it fails instead of waiting forever: loads
# into one table queue on its advisory lock (a backfill's overlapping runs), a Fitbit import of years holds its
# per-person lock for minutes
LOCK_TIMEOUTS = {s.LOADER_ROLE: "15min", s.AIRFLOW_ROLE: "5min"}
ANALYST_IDLE_IN_TRANSACTION = "5min"


def bootstrap(cluster: Cluster, secrets: s.Secrets) -> None:
    """Roles and databases, idempotent: loader owns the warehouse, analyst reads gold only and connects to
    the warehouse only; advisory locks are the loader's (an analyst holding one would stall every load)."""
    cluster.harden()
    roles = {s.LOADER_ROLE: secrets.loader_password, s.AIRFLOW_ROLE: secrets.airflow_db_password,
             s.ANALYST_ROLE: secrets.analyst_password}
    with psycopg.connect(cluster.superuser_dsn(), autocommit=True) as conn:
        conn.execute("set password_encryption = 'scram-sha-256'")
        for role, password in roles.items():
            exists = conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone()
            verb = "alter" if exists else "create"
            conn.execute(sql.SQL(f"{verb} role {{}} login password {{}}").format(
                sql.Identifier(role), sql.Literal(password)))
        for role, timeout in LOCK_TIMEOUTS.items():
            conn.execute(sql.SQL("alter role {} set lock_timeout = {}").format(
                sql.Identifier(role), sql.Literal(timeout)))
        conn.execute(sql.SQL("alter role {} set idle_in_transaction_session_timeout = {}").format(
            sql.Identifier(s.ANALYST_ROLE), sql.Literal(ANALYST_IDLE_IN_TRANSACTION)))
        for db, owner in ((s.WAREHOUSE_DB, s.LOADER_ROLE), (s.AIRFLOW_DB, s.AIRFLOW_ROLE)):
            if not conn.execute("select 1 from pg_database where datname = %s", (db,)).fetchone():
                conn.execute(sql.SQL("create database {} owner {}").format(
                    sql.Identifier(db), sql.Identifier(owner)))
        # only the owner (and superuser) connects: airflow to its database, nobody to postgres/template1
        for db in (s.AIRFLOW_DB, "postgres", "template1"):
            conn.execute(sql.SQL("revoke all on database {} from public").format(sql.Identifier(db)))
    with psycopg.connect(cluster.superuser_dsn(s.WAREHOUSE_DB), autocommit=True) as conn:
        conn.execute(sql.SQL("revoke all on database {} from public").format(sql.Identifier(s.WAREHOUSE_DB)))
        conn.execute(sql.SQL("grant connect on database {} to {}, {}").format(
            sql.Identifier(s.WAREHOUSE_DB), sql.Identifier(s.LOADER_ROLE), sql.Identifier(s.ANALYST_ROLE)))
        conn.execute("revoke create on schema public from public")
        for (function,) in conn.execute(ADVISORY_FUNCTIONS).fetchall():
            conn.execute(sql.SQL("revoke execute on function {} from public").format(sql.SQL(function)))
            conn.execute(sql.SQL("grant execute on function {} to {}").format(
                sql.SQL(function), sql.Identifier(s.LOADER_ROLE)))


# every pg_advisory_* / pg_try_advisory_* function, as regprocedure text (name and argument types)
ADVISORY_FUNCTIONS = """
select p.oid::regprocedure::text from pg_proc p
where p.pronamespace = 'pg_catalog'::regnamespace and p.proname ~ '^pg_(try_)?advisory_'
"""


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
    # its PID file, log and secrets live in its own folder: never in (or next to) the local stack's state
    cluster = Cluster(folder / "pg", port, name=f"throwaway-pg-{port}", state=folder)
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
