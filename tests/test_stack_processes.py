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
        recorded = json.loads((state / "pids" / f"{name}.pid").read_text())
        assert recorded["pid"] == pid and recorded["argv"] == ["sleep", "30"]
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


# --- identity: a user's stack is never touched by another state folder, PID reuse never signals a stranger ---


def family(pid: int) -> list:
    """The process and its descendants right now, as psutil handles (is_running() also checks the start
    time, so a reused PID never counts)."""
    import psutil

    leader = psutil.Process(pid)
    return [leader, *leader.children(recursive=True)]


def running(procs: list) -> list[int]:
    return [p.pid for p in procs if p.is_running() and p.status() != "zombie"]


def user_stack(folder: Path, monkeypatch: pytest.MonkeyPatch, port: int) -> dict[str, int]:
    """A fake `make up` in its own state folder: an API server on a port, a service whose child left its
    process group (like a PostgreSQL backend or an Airflow task runner), and one with a background child."""
    monkeypatch.setenv("TRACKER_STATE_DIR", str(folder))
    started = {
        "airflow-api-server": processes.start("airflow-api-server", [
            "python3", "-m", "http.server", "--bind", settings.HOST, str(port)]),
        "postgres": processes.start("postgres", ["bash", "-c", "setsid sleep 300 & sleep 300"]),
        "airflow-scheduler": processes.start("airflow-scheduler", ["bash", "-c", "sleep 300 & sleep 301"]),
    }
    assert wait_until(lambda: processes.port_open(port))
    return started


def test_other_state_folders_and_reused_pids_never_touch_a_users_stack_and_down_stops_it_all(
        tmp_path, monkeypatch):
    from tracker.stack import local

    with socket.socket() as sock:
        sock.bind((settings.HOST, 0))
        port = sock.getsockname()[1]
    user = tmp_path / "user-state"
    pids = user_stack(user, monkeypatch, port)
    assert wait_until(lambda: all(len(family(pid)) == 3 for name, pid in pids.items() if name != "airflow-api-server"))
    procs = {name: family(pid) for name, pid in pids.items()}
    try:
        # WHEN a test suite starts and stops the same names in its own state folder
        monkeypatch.setenv("TRACKER_STATE_DIR", str(tmp_path / "test-state"))
        for name in pids:
            assert processes.start(name, ["sleep", "30"]) not in pids.values()
            assert processes.stop(name, timeout=5) is True
        # AND its PID files are stale ones whose numbers were since reused by the user's processes
        # (the bare-PID form older versions wrote, and the current form with another start time)
        stale = processes.pid_dir() / "airflow-api-server.pid"
        stale.write_text(str(pids["airflow-api-server"]))
        os.utime(stale, (time.time() - 3600, time.time() - 3600))
        assert processes.running_pid("airflow-api-server") is None
        assert processes.stop("airflow-api-server", timeout=2) is False
        (processes.pid_dir() / "airflow-scheduler.pid").write_text(json.dumps(
            {"pid": pids["airflow-scheduler"], "create_time": 1.0, "tag": "airflow-scheduler:other"}))
        assert processes.stop("airflow-scheduler", timeout=2) is False
        # THEN every process of the user's stack still runs and still answers
        assert {name: running(p) for name, p in procs.items()} == {name: [x.pid for x in p]
                                                                    for name, p in procs.items()}
        assert processes.port_open(port)
        # WHEN the user's scheduler and database leaders die on their own, orphaning their children, and the
        # user runs `down`
        for name in ("airflow-scheduler", "postgres"):
            os.kill(pids[name], 9)
            assert wait_until(lambda name=name: not processes.pid_alive(pids[name]))
        monkeypatch.setenv("TRACKER_STATE_DIR", str(user))
        stopped = local.down()
        # THEN everything it started is gone: the orphans and the child that left its process group too
        assert {"airflow-api-server", "postgres"} <= set(stopped)
        assert wait_until(lambda: not any(running(p) for p in procs.values()), timeout=5), \
            {name: running(p) for name, p in procs.items()}
        assert not processes.port_open(port)
    finally:
        for each in procs.values():
            for proc in each:
                if proc.is_running():
                    proc.kill()


def test_logs_and_files_of_started_processes_are_private(state):
    # GIVEN a process started by the stack that writes a file and a folder, as Airflow writes its logs
    out = state / "out"
    pid = processes.start("t-writer", ["bash", "-c", f"mkdir {out} && echo hi > {out}/task.log && sleep 30"])
    try:
        assert wait_until(lambda: (out / "task.log").exists())
        # THEN the stack's log folder, its log file and what the child created are the owner's only
        assert stat.S_IMODE((state / "logs").stat().st_mode) == 0o700
        assert stat.S_IMODE((state / "logs" / "t-writer.log").stat().st_mode) == 0o600
        assert stat.S_IMODE(out.stat().st_mode) == 0o700
        assert stat.S_IMODE((out / "task.log").stat().st_mode) == 0o600
        assert stat.S_IMODE((state / "pids").stat().st_mode) == 0o700
    finally:
        processes.stop("t-writer", timeout=5)
    assert not processes.pid_alive(pid)


# --- what the stack shows and serves --------------------------------------------------------------------------


def test_status_json_prints_passwords_only_when_asked(state):
    from tracker.cli import app
    from typer.testing import CliRunner

    # GIVEN a state folder with generated secrets
    secrets = settings.Secrets.load_or_create()
    passwords = [secrets.loader_password, secrets.analyst_password, secrets.postgres_password]
    # WHEN status --json is printed
    shown = CliRunner().invoke(app, ["status", "--json"])
    assert shown.exit_code == 0, shown.output
    info = json.loads(shown.output)
    # THEN no password is in it; the DSNs name role, host, port and database, and where the secrets are
    assert not [pw for pw in passwords if pw in shown.output]
    assert info["warehouse_dsn"] == f"postgresql://{settings.LOADER_ROLE}@{settings.HOST}:" \
                                    f"{settings.port('postgres')}/{settings.WAREHOUSE_DB}"
    assert info["secrets_file"] == str(state / "secrets.json")
    # AND --show-secrets puts them in
    revealed = json.loads(CliRunner().invoke(app, ["status", "--json", "--show-secrets"]).output)
    assert revealed["warehouse_dsn"] == settings.warehouse_dsn()
    assert secrets.analyst_password in revealed["analyst_dsn"]


def test_dbt_docs_need_the_stack_login(tmp_path):
    import threading

    import requests
    from tracker.stack.docs_server import make_server

    # GIVEN the docs server on a generated docs site
    (tmp_path / "index.html").write_text("<title>dbt Docs</title>")
    server = make_server(settings.HOST, 0, tmp_path, "s3cret-generated")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://{settings.HOST}:{server.server_address[1]}/"
    try:
        # WHEN it is asked anonymously, with a wrong password or another user, THEN it refuses (401)
        anonymous = requests.get(url, timeout=5)
        assert anonymous.status_code == 401
        assert anonymous.headers["WWW-Authenticate"].startswith("Basic")
        assert "dbt Docs" not in anonymous.text
        assert requests.get(url, auth=(settings.AIRFLOW_USER, "admin"), timeout=5).status_code == 401
        assert requests.get(url, auth=("admin", "s3cret-generated"), timeout=5).status_code == 401
        assert requests.head(url, timeout=5).status_code == 401
        # AND with the stack's login it serves the site
        ok = requests.get(url, auth=(settings.AIRFLOW_USER, "s3cret-generated"), timeout=5)
        assert ok.status_code == 200 and "dbt Docs" in ok.text
    finally:
        server.shutdown()
        server.server_close()


def test_airflow_writes_private_logs():
    from tracker.stack.env import stack_env

    # GIVEN the environment every Airflow component of the stack runs with (umask 077 besides)
    env = stack_env(demo=True)
    # THEN new task-log folders and files are the owner's only (Airflow's defaults: 0o775 / 0o664)
    assert int(env["AIRFLOW__LOGGING__FILE_TASK_HANDLER_NEW_FOLDER_PERMISSIONS"], 8) == 0o700
    assert int(env["AIRFLOW__LOGGING__FILE_TASK_HANDLER_NEW_FILE_PERMISSIONS"], 8) == 0o600


def test_secrets_of_an_older_version_gain_the_superuser_password_and_keep_the_rest(tmp_path):
    # GIVEN a secrets file written before the cluster had a superuser password
    first = asdict(settings.Secrets.load_or_create(tmp_path))
    old = {k: v for k, v in first.items() if k != "postgres_password"}
    (tmp_path / "secrets.json").write_text(json.dumps(old))
    # WHEN it is loaded
    loaded = asdict(settings.Secrets.load_or_create(tmp_path))
    # THEN every stored value is kept, a fresh superuser password is added and saved, still private
    assert {k: loaded[k] for k in old} == old
    assert len(loaded["postgres_password"]) >= 24 and loaded["postgres_password"] not in old.values()
    assert json.loads((tmp_path / "secrets.json").read_text()) == loaded
    assert stat.S_IMODE((tmp_path / "secrets.json").stat().st_mode) == 0o600
