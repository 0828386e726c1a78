"""Sync the configured people (id, IANA time zone, accounts, locations) into raw.tracker__people."""

from __future__ import annotations

from collections.abc import Iterable

import psycopg

from tracker.config import Person, TrackerConfig, config_source
from tracker.warehouse.loader import LoadResult, RawTable, load

PEOPLE = RawTable.from_ddl("tracker__people")  # as ddl/005_people.sql declares it


def sync_people(conn: psycopg.Connection, config: TrackerConfig, run_id: str) -> LoadResult:
    """Upsert every configured person; people removed from the config keep their row (their data stays)."""
    rows = [(p.id, p.timezone, p.model_dump(mode="json")) for p in config.people]
    return load(conn, PEOPLE, rows, run_id=run_id)


class PersonConflict(ValueError):
    """An import's config disagrees with the person the warehouse holds (their time zone drives local dates)."""


def register_people(conn: psycopg.Connection, people: Iterable[Person], run_id: str) -> LoadResult:
    """For imports: add the people the warehouse does not know yet, and never change a stored one.

    The DAGs' `sync_people` (with the stack's config) is the one writer of changes: an import from a shell
    with another `TRACKER_CONFIG` (or none) would otherwise rewrite a person's time zone and flip gold's
    local dates until the next DAG run. A stored person whose time zone differs raises `PersonConflict`.
    """
    people = list(people)
    stored = dict(conn.execute("select person_id, timezone from raw.tracker__people where person_id = any(%s)",
                               ([p.id for p in people],)).fetchall())
    for p in people:
        if p.id in stored and stored[p.id] != p.timezone:
            raise PersonConflict(
                f"person {p.id!r} has time zone {stored[p.id]} in the warehouse but {p.timezone} in this shell's "
                f"config ({config_source()}): nothing imported. Run with the config the stack uses "
                "(TRACKER_CONFIG=…), or let a DAG run apply the change first")
    rows = [(p.id, p.timezone, p.model_dump(mode="json")) for p in people if p.id not in stored]
    return load(conn, PEOPLE, rows, run_id=run_id)
