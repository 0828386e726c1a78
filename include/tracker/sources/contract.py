"""The contract every API source's extract keeps.

    extract_and_load(conn, clients, config, window, run_id, **options) -> list[Load]

`clients` gives the client for a person's account (`accounts:` in the config; None for a source without
accounts, e.g. Open-Meteo): either a callable account → client, or one client serving every account.
Each returned `Load` (tracker.warehouse.loads) is one table's load for one person (and scope).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import psycopg

from tracker.config import TrackerConfig
from tracker.warehouse.loads import Load
from tracker.windows import ExtractWindow

Clients = Callable[[str | None], Any] | Any


class Extract(Protocol):
    def __call__(self, conn: psycopg.Connection, clients: Clients, config: TrackerConfig, window: ExtractWindow,
                 run_id: str, **options: Any) -> list[Load]: ...


def client_for(clients: Clients, account: str | None) -> Any:
    """The client for one account: `clients(account)` if it is a factory, else `clients` itself."""
    if callable(clients):  # no client is callable; factories are
        return clients(account)
    return clients
