"""Start and stop background processes by PID file; check ports before binding."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from tracker import settings as s


class StackError(RuntimeError):
    """A clear, user-facing problem with the local stack."""


def pid_dir() -> Path:
    path = s.state_dir() / "pids"
    path.mkdir(parents=True, exist_ok=True)
    return path


def log_dir() -> Path:
    path = s.state_dir() / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


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
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is not alive
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def running_pid(name: str) -> int | None:
    path = pid_dir() / f"{name}.pid"
    if not path.exists():
        return None
    pid = int(path.read_text().strip() or 0)
    return pid if pid and pid_alive(pid) else None


def start(name: str, argv: Sequence[str], env: dict[str, str] | None = None,
          cwd: Path | None = None, user: str | None = None) -> int:
    """Start argv in its own session (so stop() can kill the whole group); idempotent by name."""
    if pid := running_pid(name):
        return pid
    if user:
        argv = ["runuser", "-u", user, "--", *argv]
    log = open(log_dir() / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(list(argv), env={**os.environ, **(env or {})}, cwd=cwd, stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    (pid_dir() / f"{name}.pid").write_text(str(proc.pid))
    return proc.pid


def stop(name: str, timeout: float = 20, sig: signal.Signals = signal.SIGTERM) -> bool:
    """Send sig to the process group started under name, then SIGKILL what is left. True if something ran."""
    path = pid_dir() / f"{name}.pid"
    pid = running_pid(name)
    if pid is None:
        path.unlink(missing_ok=True)
        return False
    for each, wait in ((sig, timeout), (signal.SIGKILL, 5)):
        try:
            os.killpg(pid, each)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and _group_alive(pid):
            time.sleep(0.2)
        if not _group_alive(pid):
            break
    path.unlink(missing_ok=True)
    return True


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


def wait_for(check: Callable[[], bool], what: str, timeout: float, log: str | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    hint = f"; see {log_dir() / (log + '.log')}" if log else ""
    raise StackError(f"{what} did not become ready within {timeout:.0f}s{hint}")
