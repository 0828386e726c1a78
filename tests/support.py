"""Small helpers every test folder shares (tests/ is on sys.path: its conftest.py lives here)."""

from __future__ import annotations

import shutil
import socket


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on now (the stack a person runs keeps its own)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def chromium() -> str | None:
    """Debian's chromium for the browser tests, or None (then they say they did not run)."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


# the DAGs that are not a catalogue source's (dags/<dag_id>.py each): dbt, freshness, archive, stream
PLATFORM_DAGS = frozenset({"dbt_warehouse", "check_freshness", "archive_warehouse", "restore_warehouse",
                           "produce_events", "aggregate_events"})
