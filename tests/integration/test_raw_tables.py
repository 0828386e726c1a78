"""Every raw table the Python code loads into (`RawTable`) agrees with the migrated warehouse: each declared
column exists with the declared type, the load metadata columns exist, and a keyed table's key is its primary
key (the keyed merge's anti-join and last-one-wins dedupe assume it)."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
import tracker
from tracker.warehouse.loader import RawTable

pytestmark = pytest.mark.integration

# RawTable types (binary COPY types) → information_schema's udt_name
UDT = {"text": "text", "int2": "int2", "int4": "int4", "int8": "int8", "float4": "float4", "float8": "float8",
       "bool": "bool", "date": "date", "timestamptz": "timestamptz", "timestamp": "timestamp", "jsonb": "jsonb",
       "numeric": "numeric", "time": "time", "interval": "interval"}


def bindings() -> list[tuple[str, RawTable]]:
    """(module, table) for every RawTable bound to a module-level name in the package (demo, stack included)."""
    found = []
    for info in pkgutil.walk_packages(tracker.__path__, "tracker."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        found += [(info.name, v) for v in vars(module).values() if isinstance(v, RawTable)]
    return found


def declared_tables() -> dict[str, RawTable]:
    found: dict[str, RawTable] = {}
    for _, table in bindings():
        found.setdefault(table.qualified, table)
    return found


def test_each_raw_table_is_declared_in_one_module():
    """A re-export binds the same object and a variant only changes the window (dataclasses.replace); a second
    set of columns or a second key for one table is a second declaration."""
    shapes: dict[str, dict[tuple, set[str]]] = {}
    for module, table in bindings():
        shape = (tuple(table.columns.items()), table.key)
        shapes.setdefault(table.qualified, {}).setdefault(shape, set()).add(module)
    twice = {name: sorted(m for mods in by_shape.values() for m in mods)
             for name, by_shape in shapes.items() if len(by_shape) > 1}
    assert not twice, twice


def test_every_declared_raw_table_follows_its_ddl():
    """The DDL is the truth: each RawTable's columns (in COPY order, with their types) and key are what
    `RawTable.from_ddl` reads from warehouse/ddl, whether the module derives it or still spells it out."""
    problems = []
    for name, table in sorted(declared_tables().items()):
        derived = RawTable.from_ddl(table.name, schema=table.schema, key=table.key)
        if list(derived.columns.items()) != list(table.columns.items()):
            problems.append(f"{name}: columns {list(table.columns.items())} but the DDL has "
                            f"{list(derived.columns.items())}")
        ddl_key = RawTable.from_ddl(table.name, schema=table.schema).key
        if ddl_key and set(ddl_key) != set(table.key):
            problems.append(f"{name}: key {table.key} but the DDL's primary key is {ddl_key}")
    assert not problems, "\n".join(problems)


def test_every_declared_raw_table_matches_the_warehouse(warehouse):
    tables = declared_tables()
    assert len(tables) >= 25, sorted(tables)
    problems = []
    for name, table in sorted(tables.items()):
        cols = dict(warehouse.execute(
            "select column_name, udt_name from information_schema.columns where table_schema = %s"
            " and table_name = %s", (table.schema, table.name)).fetchall())
        if not cols:
            problems.append(f"{name}: no such table")
            continue
        for column, kind in table.columns.items():
            if column not in cols:
                problems.append(f"{name}.{column}: declared {kind}, missing in the warehouse")
            elif cols[column] != UDT[kind]:
                problems.append(f"{name}.{column}: declared {kind}, the warehouse has {cols[column]}")
        problems += [f"{name}: no {m} column" for m in ("_run_id", "_loaded_at") if m not in cols]
        pk = [r[0] for r in warehouse.execute(
            "select a.attname from pg_index i join pg_attribute a on a.attrelid = i.indrelid"
            " and a.attnum = any(i.indkey) where i.indrelid = %s::regclass and i.indisprimary",
            (name,)).fetchall()]
        if pk and set(pk) != set(table.key):
            problems.append(f"{name}: key {table.key} but primary key {tuple(pk)}")
        if table.window_column and table.window_column not in table.columns:
            problems.append(f"{name}: window column {table.window_column} is not a declared column")
    assert not problems, "\n".join(problems)


def test_a_warehouse_migrated_before_the_per_source_ddl_split_keeps_its_rows(warehouse):
    """030_consumption.sql became 030_netflix / 031_spotify / 032_youtube: a warehouse that only ever applied
    the old file applies the new ones once (each is idempotent) and keeps every row."""
    from tracker.warehouse.schema import ensure_warehouse

    split = ["030_netflix.sql", "031_spotify.sql", "032_youtube.sql"]
    warehouse.execute("insert into raw.netflix__viewing_activity (person_id, profile_name, started_at, title,"
                      " duration_seconds, is_supplemental, is_latest_view, person_timezone, record, source_file,"
                      " _run_id) values ('ddl_split', 'p', now(), 't', 1, false, true, 'UTC', '{}', 'f', 'r')")
    before = warehouse.execute("select count(*) from raw.netflix__viewing_activity").fetchone()[0]
    warehouse.execute("delete from raw._schema_migrations where name = any(%s)", (split,))
    warehouse.execute("insert into raw._schema_migrations (name, checksum) values ('030_consumption.sql', 'old')"
                      " on conflict (name) do nothing")
    try:
        assert ensure_warehouse(warehouse) == split
        assert ensure_warehouse(warehouse) == []
        assert warehouse.execute("select count(*) from raw.netflix__viewing_activity").fetchone()[0] == before
    finally:
        warehouse.execute("delete from raw.netflix__viewing_activity where person_id = 'ddl_split'")
        warehouse.execute("delete from raw._schema_migrations where name = '030_consumption.sql'")
