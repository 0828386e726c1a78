"""The contract every API source's extract keeps.

    extract_and_load(conn, clients, config, window, run_id, **options) -> list[Load]

`clients` gives the client for a person's account (`accounts:` in the config; None for a source without
accounts, e.g. Open-Meteo): either a callable account → client, or one client serving every account.
Each returned `Load` (tracker.warehouse.loads) is one table's load for one person (and scope).

The DAGs run one task per person (`people_served`, `choose_people`) and pass `config_for(config, person)`: a
failure, e.g. one revoked sign-in, is that person's alone.

A study participant's collection window (`collect_from`/`collect_until` in the config) bounds every extract:
`within_collection_windows(extract)` — what the catalogue's `Source.extract_function()` returns, so the DAGs and
`tracker extract` alike — clips the run's window to each person's, and skips a person whose window does not
overlap the run's with one line.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, Protocol

import psycopg

from tracker.config import Person, TrackerConfig
from tracker.warehouse.loads import Load
from tracker.windows import ExtractWindow

Clients = Callable[[str | None], Any] | Any
log = logging.getLogger(__name__)


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


# ------------------------------------------------------------------------------------------ collection windows
def collection_window(person: Person, window: ExtractWindow) -> ExtractWindow | None:
    """The part of `window` inside the person's collection window ([local midnight of collect_from, local
    midnight of collect_until)), or None when they do not overlap."""
    first, stop = person.collection_bounds()
    start = max(window.start, first) if first else window.start
    end = min(window.end, stop) if stop else window.end
    return ExtractWindow(start, end) if start < end else None


def outside_collection_line(person: Person, window: ExtractWindow) -> str:
    since = person.collect_from.isoformat() if person.collect_from else "…"
    until = person.collect_until.isoformat() if person.collect_until else "…"
    return (f"{person.id}: skipped, the run's window {window} is outside their collection window "
            f"[{since}, {until}) ({person.timezone})")


def within_collection_windows(extract: Extract) -> Extract:
    """`extract`, run for each person over the run's window clipped to their collection window; a person whose
    window does not overlap the run's is skipped with one line (a warning). People whose clipped window is the
    same share one call (without collection windows: the one call `extract` always had)."""
    @functools.wraps(extract)
    def clipped(conn: psycopg.Connection, clients: Clients, config: TrackerConfig, window: ExtractWindow,
                run_id: str, **options: Any) -> list[Load]:
        groups: dict[ExtractWindow, list[Person]] = {}
        for person in config.people:
            inside = collection_window(person, window)
            if inside is None:
                log.warning("%s", outside_collection_line(person, window))
            else:
                groups.setdefault(inside, []).append(person)
        if list(groups) == [window] and len(groups[window]) == len(config.people):
            return extract(conn, clients, config, window, run_id, **options)
        loads: list[Load] = []
        for inside, people in groups.items():
            loads += extract(conn, clients, config.model_copy(update={"people": people}), inside, run_id, **options)
        return loads

    return clipped


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
