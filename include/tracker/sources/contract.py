"""The contract every API source's extract keeps.

    extract_and_load(conn, clients, config, window, run_id, **options) -> list[Load]

`clients` gives the client for a person's account (`accounts:` in the config; None for a source without
accounts, e.g. Open-Meteo): either a callable account → client, or one client serving every account.
Each returned `Load` (tracker.warehouse.loads) is one table's load for one person (and scope).

The DAGs run one task per person (`people_served`, `choose_people`) and pass `config_for(config, person)`: a
failure, e.g. one revoked sign-in, is that person's alone.
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


# ------------------------------------------------------------------------------------------ one person per task
def people_served(config: TrackerConfig, account: str | None) -> list[str]:
    """The ids of the people a source serves: those with `accounts[account]`, or — for a source without
    accounts (weather) — those with at least one location. One extract task runs per id."""
    if account is None:
        return [p.id for p in config.people if p.locations]
    return [p.id for p in config.people if p.accounts.get(account)]


def choose_people(config: TrackerConfig, account: str | None, requested: list[str] | None) -> list[str]:
    """`requested` (ids) or, when empty, everyone the source serves; a ValueError naming the configured ids
    for an unknown id, and naming the source's people for one it does not serve."""
    served = people_served(config, account)
    if not requested:
        return served
    for person_id in requested:
        config.choose(person_id)   # unknown id: its ValueError names the configured ones
    skipped = [p for p in requested if p not in served]
    if skipped:
        what = f"no {account!r} account" if account else "no location"
        raise ValueError(f"{', '.join(map(repr, skipped))} {'has' if len(skipped) == 1 else 'have'} {what} in the "
                         f"config (this source serves: {', '.join(served) or 'nobody'})")
    return list(dict.fromkeys(requested))


def config_for(config: TrackerConfig, person_id: str) -> TrackerConfig:
    """The config narrowed to one person: what one extract task passes to `extract_and_load`."""
    return config.model_copy(update={"people": config.choose(person_id)})


def requested_window(start: str | None, end: str | None, default: ExtractWindow) -> ExtractWindow:
    """A manual run's window from its `start` (first day) and `end` (the day after the last) as YYYY-MM-DD,
    UTC midnights — [start, end), like `tracker extract`; a bound left empty is the data interval's."""
    from datetime import UTC, datetime

    def day(value: str, what: str) -> datetime:
        try:
            return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            raise ValueError(f"{what} {value!r} is not a date (YYYY-MM-DD)") from None

    lo = day(start, "start") if start else default.start
    hi = day(end, "end") if end else default.end
    if hi <= lo:
        raise ValueError(f"end {hi.date().isoformat()} must be after start {lo.date().isoformat()}: the window is "
                         "[start, end), end is the day after the last")
    return ExtractWindow(lo, hi)
