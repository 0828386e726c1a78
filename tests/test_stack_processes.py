"""Local-stack process control and secrets, with real sockets, real processes and real files (no PostgreSQL)."""

from __future__ import annotations

import json
import os
import socket
import stat
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pytest
from tracker import settings
from tracker.stack import processes


@pytest.fixture()
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A state folder of this test's own (pid files and logs land here)."""
    monkeypatch.setenv("TRACKER_STATE_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture()
def listener() -> Iterator[int]:
    """A real TCP listener on 127.0.0.1; yields its port."""
    with socket.socket() as sock:
        sock.bind((settings.HOST, 0))
        sock.listen()
        yield sock.getsockname()[1]


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes whose process group is pgid, read straight from /proc."""
    members = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = proc.joinpath("stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(proc.name))
    return members


def wait_until(check, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


# --- ports ----------------------------------------------------------------------------------------------------


def test_ensure_port_free_names_the_port_and_the_variable_that_moves_it(listener, monkeypatch):
    # GIVEN another program listening on the port configured for the docs server
    monkeypatch.setenv("TRACKER_DOCS_PORT", str(listener))
    # WHEN the stack checks the port before binding
    with pytest.raises(processes.StackError) as caught:
        processes.ensure_port_free("docs")
    # THEN the error names the busy port and the environment variable to change
    message = str(caught.value)
    assert str(listener) in message
    assert "TRACKER_DOCS_PORT" in message


def test_ensure_port_free_passes_once_the_port_is_released(monkeypatch):
    # GIVEN a port that was just released
    with socket.socket() as sock:
        sock.bind((settings.HOST, 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("TRACKER_DOCS_PORT", str(port))
    # WHEN / THEN the check passes
    processes.ensure_port_free("docs")


# --- start / stop ---------------------------------------------------------------------------------------------


def test_start_is_idempotent_by_name_and_stop_kills_it(state):
    name = "t-sleep"
    try:
        # GIVEN a real process started under a name
        pid = processes.start(name, ["sleep", "30"])
        assert processes.pid_alive(pid)
        assert (state / "pids" / f"{name}.pid").read_text() == str(pid)
        # WHEN it is started again under the same name
        again = processes.start(name, ["sleep", "30"])
        # THEN the running process is reused, not a second one started
        assert again == pid
        assert group_members(pid) == [pid]
        # WHEN it is stopped
        assert processes.stop(name, timeout=5) is True
        # THEN it is gone and its pid file removed
        assert group_members(pid) == []
        assert not processes.pid_alive(pid)
        assert not (state / "pids" / f"{name}.pid").exists()
        assert processes.running_pid(name) is None
    finally:
        processes.stop(name, timeout=5)


def test_stop_kills_the_whole_process_group(state):
    name = "t-group"
    try:
        # GIVEN a shell that started a background child besides its own foreground child
        pid = processes.start(name, ["bash", "-c", "sleep 30 & sleep 30"])
        assert wait_until(lambda: len([p for p in group_members(pid) if p != pid]) >= 1)
        # the started process leads its own session and process group, apart from the test's
        assert os.getpgid(pid) == pid != os.getpgrp()
        members = group_members(pid)
        assert len(members) >= 2, members
        # WHEN the name is stopped
        assert processes.stop(name, timeout=5) is True
        # THEN no process of that group remains, background child included
        assert wait_until(lambda: group_members(pid) == [], timeout=2), group_members(pid)
        assert not any(processes.pid_alive(p) for p in members)
    finally:
        processes.stop(name, timeout=5)


def test_stop_of_a_name_never_started_returns_false(state):
    # GIVEN a state folder where nothing ran
    # WHEN / THEN stopping an unknown name reports that nothing ran
    assert processes.stop("t-never-started") is False


def test_stop_of_a_stale_pid_file_returns_false_and_removes_it(state):
    # GIVEN a pid file left behind by a process that has since exited
    name = "t-stale"
    pid = processes.start(name, ["true"])
    assert wait_until(lambda: not processes.pid_alive(pid))
    # WHEN / THEN stop reports nothing ran and cleans up the pid file
    assert processes.stop(name) is False
    assert not (state / "pids" / f"{name}.pid").exists()


# --- secrets --------------------------------------------------------------------------------------------------

DEFAULT_PASSWORDS = {"admin", "password", "postgres", "airflow", "tracker", "changeme", "secret", "minioadmin",
                     "analyst", "loader", "test", "123456"}


def test_secrets_are_created_once_private_and_never_defaults(tmp_path):
    path = tmp_path / "secrets.json"
    # GIVEN no secrets file
    assert not path.exists()
    # WHEN secrets are loaded for the first time
    first = settings.Secrets.load_or_create(tmp_path)
    # THEN a file readable by the owner only is written with what was returned
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == asdict(first)
    written = path.stat()
    # AND no value is a well-known default, an empty string, or shared between two secrets
    values = list(asdict(first).values())
    assert all(v and v.lower() not in DEFAULT_PASSWORDS for v in values), values
    assert all(len(v) >= 16 for k, v in asdict(first).items() if k != "s3_access_key")
    assert len(set(values)) == len(values)
    # WHEN secrets are loaded again
    second = settings.Secrets.load_or_create(tmp_path)
    # THEN the same values come back and the file was not rewritten
    assert second == first
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == (written.st_ino, written.st_mtime_ns)
    assert not list(tmp_path.glob("*.tmp"))


def test_secrets_default_to_the_state_folder_and_differ_per_folder(tmp_path, monkeypatch):
    # GIVEN a state folder set by environment (not yet existing)
    monkeypatch.setenv("TRACKER_STATE_DIR", str(tmp_path / "state"))
    # WHEN secrets are created there and in another folder
    here = settings.Secrets.load_or_create()
    elsewhere = settings.Secrets.load_or_create(tmp_path / "other")
    # THEN they live in the state folder, and each folder gets freshly generated values
    assert (tmp_path / "state" / "secrets.json").exists()
    assert settings.Secrets.load_or_create(tmp_path / "state") == here
    assert all(a != b for a, b in zip(asdict(here).values(), asdict(elsewhere).values(), strict=True))
