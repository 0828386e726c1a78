"""Start and stop background processes by PID file; check ports before binding.

A PID file records who was started: the PID, its start time and a tag (TRACKER_STACK_TAG in the child's
environment, inherited by everything it spawns). A PID whose start time differs is a stranger that reused
the number and is never signalled; `stop` also reaches descendants that left the process group (PostgreSQL
backends, Airflow task runners, dbt) or were orphaned by a leader that died, by their tag.
Children run with umask 077: their logs and files are private to the stack's user.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from tracker import settings as s

TAG_VAR = "TRACKER_STACK_TAG"
CHILD_UMASK = 0o077


class StackError(RuntimeError):
    """A clear, user-facing problem with the local stack."""


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def pid_dir(state: Path | None = None) -> Path:
    return _private_dir((state or s.state_dir()) / "pids")


def log_dir(state: Path | None = None) -> Path:
    return _private_dir((state or s.state_dir()) / "logs")


def port_open(port: int, host: str = s.HOST) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


def ensure_port_free(name: str) -> None:
    var, _ = s.PORTS[name]
    port = s.port(name)
    if port_open(port):
        raise StackError(f"port {port} for {name} is already in use by another program; "
                         f"set {var} to a free port (e.g. {var}={port + 100}) and run again")


def pid_alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


@dataclass(frozen=True)
class Record:
    """What a PID file says about the process started under a name."""

    pid: int
    create_time: float | None  # None: a bare-PID file written by an older version
    tag: str | None
    written: float  # the PID file's mtime

    def leader(self) -> psutil.Process | None:
        """The started process itself, if that PID still belongs to it (not a reuse of the number)."""
        try:
            proc = psutil.Process(self.pid)
            started = proc.create_time()
            if proc.status() == psutil.STATUS_ZOMBIE:
                return None
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return None
        if self.create_time is not None:
            return proc if abs(started - self.create_time) < 0.05 else None
        return proc if started <= self.written + 1 else None  # created after its PID file: a stranger


def _pid_path(name: str, state: Path | None) -> Path:
    return pid_dir(state) / f"{name}.pid"


def read_record(name: str, state: Path | None = None) -> Record | None:
    path = _pid_path(name, state)
    try:
        text, written = path.read_text().strip(), path.stat().st_mtime
    except FileNotFoundError:
        return None
    if text.isdigit():
        return Record(int(text), None, None, written)
    try:
        data = json.loads(text)
        return Record(int(data["pid"]), float(data["create_time"]), str(data["tag"]), written)
    except (ValueError, KeyError, TypeError):
        return None


def running_pid(name: str, state: Path | None = None) -> int | None:
    record = read_record(name, state)
    leader = record.leader() if record else None
    return leader.pid if leader else None


def members(record: Record) -> list[psutil.Process]:
    """Every live process belonging to the record: the verified leader, its descendants, and whatever carries
    its tag (processes that changed process group or lost their parent)."""
    found: dict[int, psutil.Process] = {}
    if leader := record.leader():
        found[leader.pid] = leader
        for child in leader.children(recursive=True):
            found[child.pid] = child
    if record.tag:
        for proc in psutil.process_iter():
            if proc.pid in found:
                continue
            try:
                if proc.environ().get(TAG_VAR) == record.tag and proc.status() != psutil.STATUS_ZOMBIE:
                    # and its children: a process that rewrites its title (PostgreSQL backends, setproctitle)
                    # loses its readable environment
                    for each in (proc, *proc.children(recursive=True)):
                        found.setdefault(each.pid, each)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
    return list(found.values())


def start(name: str, argv: Sequence[str], env: dict[str, str] | None = None,
          cwd: Path | None = None, user: str | None = None, state: Path | None = None) -> int:
    """Start argv in its own session (so stop() can kill the whole group); idempotent by name."""
    if pid := running_pid(name, state):
        return pid
    stop(name, state=state)  # remnants of a run whose leader died
    if user:
        argv = ["runuser", "-u", user, "--", *argv]
    tag = f"{name}:{uuid.uuid4().hex}"
    fd = os.open(log_dir(state) / f"{name}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "ab") as log:
        proc = subprocess.Popen(list(argv), env={**os.environ, **(env or {}), TAG_VAR: tag}, cwd=cwd,
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, umask=CHILD_UMASK)
    try:
        created = psutil.Process(proc.pid).create_time()
    except psutil.NoSuchProcess:  # exited already (and reaped): nothing to record but the pid
        created = 0.0
    path = _pid_path(name, state)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps({"pid": proc.pid, "create_time": created, "tag": tag, "argv": list(argv)}))
    os.replace(tmp, path)
    return proc.pid


def stop(name: str, timeout: float = 20, sig: signal.Signals = signal.SIGTERM, state: Path | None = None) -> bool:
    """Send sig to what was started under name (the leader's process group, else the topmost members), then
    SIGKILL what is left. Never signals a process that only reused a recorded PID. True if something ran."""
    path = _pid_path(name, state)
    record = read_record(name, state)
    found = members(record) if record else []
    if not found:
        path.unlink(missing_ok=True)
        return False
    leader = record.leader()
    if leader:
        _signal_group(leader.pid, sig)
        first = [proc for proc in found if _pgid(proc) == leader.pid]
    else:
        pids = {proc.pid for proc in found}
        first = [proc for proc in found if _parent(proc) not in pids]
        for proc in first:
            _send(proc, sig)
    # without its leader a service has lost its shutdown protocol: its orphans get a short grace only
    _, alive = psutil.wait_procs(first, timeout=timeout if leader else min(timeout, 5))
    if not alive:  # what left the group or was orphaned and is still there: asked once more, briefly
        rest = members(record)
        for proc in rest:
            _send(proc, signal.SIGTERM)
        _, alive = psutil.wait_procs(rest, timeout=5)
    for proc in members(record) if alive else []:
        _send(proc, signal.SIGKILL)
    if leader and leader.is_running():
        _signal_group(leader.pid, signal.SIGKILL)
    psutil.wait_procs(members(record), timeout=5)
    path.unlink(missing_ok=True)
    return True


def _parent(proc: psutil.Process) -> int | None:
    try:
        return proc.ppid()
    except psutil.Error:
        return None


def _pgid(proc: psutil.Process) -> int | None:
    try:
        return os.getpgid(proc.pid)
    except OSError:
        return None


def _send(proc: psutil.Process, sig: signal.Signals) -> None:
    try:
        proc.send_signal(sig)  # psutil checks the PID still is this process
    except psutil.Error:
        pass


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(pgid: int) -> bool:
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = proc.joinpath("stat").read_text().split(")")[-1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def wait_for(check: Callable[[], bool], what: str, timeout: float, log: str | None = None,
             state: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    hint = f"; see {log_dir(state) / (log + '.log')}" if log else ""
    raise StackError(f"{what} did not become ready within {timeout:.0f}s{hint}")
