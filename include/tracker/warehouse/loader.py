"""Idempotent bulk loads: binary COPY into a temp table, then one keyed merge inside one transaction.

`load` (keyed merge): re-running a window changes nothing. Rows whose values are unchanged are not touched
(their `_loaded_at` and `_run_id` stay), changed rows are updated, new rows inserted, and rows inside the
window that the source no longer returns are deleted, so a whole-table checksum is identical after a rerun.

`replace_window` (delete the window, COPY straight in): the fast path for large append-only sample tables.

**An empty answer is not an instruction to delete.** Both paths delete only inside the *answered days* of
their window: the UTC days (or dates, for a date column) of the window column for which the new rows hold
at least one row. A day the answer says nothing about keeps what the warehouse holds (counted as `kept`),
so an empty, truncated or renamed-field answer, or a backfill against an API that has lost its history, can
never empty data we hold. The price: a source that deletes a whole day of records is not mirrored (a
deletion inside a day that still has rows is).
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from tracker.warehouse import changes

_STAGES = itertools.count(1)


@dataclass(frozen=True)
class RawTable:
    """A raw table: data columns (COPY order) with their PostgreSQL types, natural key, window column."""

    schema: str
    name: str
    columns: Mapping[str, str]
    key: tuple[str, ...]
    window_column: str | None = None

    @classmethod
    def from_ddl(cls, name: str, *, schema: str = "raw", key: tuple[str, ...] | None = None,
                 window_column: str | None = None) -> RawTable:
        """The table as its ddl/*.sql declares it: `create table` columns (then `add column`s) in order,
        without the load metadata columns; the key is the primary key unless given (keyless tables)."""
        columns, primary = _ddl_tables().get(f"{schema}.{name}", ({}, ()))
        if not columns:
            raise LookupError(f"no `create table if not exists {schema}.{name}` in warehouse/ddl")
        typed = {column: _copy_type(column, spec) for column, spec in columns.items()}
        return cls(schema, name, typed, key or primary, window_column)

    @property
    def ident(self) -> sql.Composed:
        return sql.Identifier(self.schema, self.name)

    def event_column(self) -> tuple[str | None, str | None]:
        """(column, "timestamptz" | "date") the rows are dated by: the window column, else the first NOT NULL
        timestamptz column, else the first NOT NULL date column; (None, None) for an undated table. The archive
        partitions by it and the load log dates an import's loads by it."""
        if self.window_column:
            return self.window_column, self.columns.get(self.window_column)
        specs = _ddl_tables().get(self.qualified, ({}, ()))[0]
        for wanted in ("timestamptz", "date"):
            for column, kind in self.columns.items():
                spec = specs.get(column, "")
                if kind == wanted and ("not null" in spec or "primary key" in spec):
                    return column, kind
        return None, None

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


# SQL types as our DDL spells them → binary COPY type names
_COPY_TYPES = {"integer": "int4", "int": "int4", "smallint": "int2", "bigint": "int8", "real": "float4",
               "double precision": "float8", "boolean": "bool", "timestamptz": "timestamptz",
               "timestamp with time zone": "timestamptz", "timestamp": "timestamp", "date": "date",
               "text": "text", "jsonb": "jsonb", "numeric": "numeric"}
_METADATA = {"_run_id", "_loaded_at"}
_CREATE = re.compile(r"create table if not exists (\w+\.\w+) \((.*?)\n\);", re.S)
_ADD = re.compile(r"alter table (\w+\.\w+) add column if not exists (\w+) ([^;]+);")
_CLAUSE = re.compile(r"\s+(?:not null|null|default|primary key|references|generated|check|unique|collate)\b.*$")


def _copy_type(column: str, spec: str) -> str:
    kind = re.sub(r"\(.*", "", _CLAUSE.sub("", " " + spec.strip()).strip()).strip()
    if kind not in _COPY_TYPES:
        raise ValueError(f"column {column}: SQL type {kind!r} has no COPY type")
    return _COPY_TYPES[kind]


@functools.cache
def _ddl_tables() -> dict[str, tuple[dict[str, str], tuple[str, ...]]]:
    """qualified name → (column → SQL spec, primary key) of every table the DDL files create, in order."""
    from tracker.warehouse.schema import ddl_files  # schema reads the same files; no import cycle at load

    tables: dict[str, tuple[dict[str, str], tuple[str, ...]]] = {}
    for _, text in ddl_files():
        text = re.sub(r"--[^\n]*", "", text)
        for table, body in _CREATE.findall(text):
            columns: dict[str, str] = {}
            key: tuple[str, ...] = ()
            for item in (i.strip() for i in re.split(r",\s*\n", body) if i.strip()):
                if m := re.match(r"primary key \(([^)]*)\)", item):
                    key = tuple(c.strip() for c in m.group(1).split(","))
                    continue
                column, spec = item.split(None, 1)
                if " primary key" in f" {spec}":
                    key = (column,)
                if column not in _METADATA:
                    columns[column] = spec
            tables[table] = (columns, key)
        for table, column, spec in _ADD.findall(text):
            if table in tables and column not in _METADATA:
                tables[table][0].setdefault(column, spec)
    return tables


@dataclass(frozen=True)
class Window:
    """Half-open [start, end) on the table's window column, within a scope such as one person/location."""

    start: datetime
    end: datetime
    scope: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class LoadResult:
    staged: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    kept: int = 0      # rows in days of the window the answer had nothing for: kept, not deleted
    outside: int = 0   # offered rows outside the window (replace_window): not loaded, another window's

    @property
    def unchanged(self) -> int:
        return self.staged - self.inserted - self.updated


@dataclass
class LoadTotals:
    """LoadResults of several loads into one table, added up (for summaries)."""

    rows: int = 0          # rows offered to the table
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    kept: int = 0
    outside: int = 0

    def add(self, result: LoadResult) -> None:
        self.rows += result.staged
        self.inserted += result.inserted
        self.updated += result.updated
        self.deleted += result.deleted
        self.kept += result.kept
        self.outside += result.outside


def _cols(names: Iterable[str]) -> sql.Composed:
    return sql.SQL(", ").join(map(sql.Identifier, names))


def copy_rows(cur: psycopg.Cursor, target: sql.Composable, columns: Mapping[str, str],
              rows: Iterable[Sequence[Any]]) -> int:
    """Binary COPY of rows (tuples in column order) into target; dicts for jsonb columns are wrapped."""
    json_idx = [i for i, t in enumerate(columns.values()) if t == "jsonb"]
    n = 0
    stmt = sql.SQL("copy {} ({}) from stdin (format binary)").format(target, _cols(columns))
    with cur.copy(stmt) as copy:
        copy.set_types(list(columns.values()))
        for row in rows:
            if json_idx:
                row = list(row)
                for i in json_idx:
                    if row[i] is not None and not isinstance(row[i], Jsonb):
                        row[i] = Jsonb(row[i])
            copy.write_row(row)
            n += 1
    return n


def load(conn: psycopg.Connection, table: RawTable, rows: Iterable[Sequence[Any]], *, run_id: str,
         window: Window | None = None) -> LoadResult:
    """Merge rows into table in one transaction; with a window, also delete rows the source dropped.

    Keys repeated within one batch are merged last-one-wins. Loads into one table are serialised by an
    advisory lock, so the anti-join insert cannot race another load.
    """
    result = LoadResult()
    # a caller's outer transaction may run several loads into one table (one per person): `on commit drop`
    # would only fire at its end, so each stage gets its own name and is dropped when its merge is done
    stage = sql.Identifier(f"_stage_{table.name}_{next(_STAGES)}")
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("select pg_advisory_xact_lock(hashtext(%s))", (table.qualified,))
        cur.execute(sql.SQL("create temp table {} ({}) on commit drop").format(
            stage, sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t)) for c, t in table.columns.items())))
        result.staged = copy_rows(cur, stage, table.columns, rows)
        if (column := _partition_column(cur, table)) is not None and column in table.columns:
            cur.execute(sql.SQL("select min({0}), max({0}) from {1}").format(sql.Identifier(column), stage))
            _ensure_partitions(cur, table, *cur.fetchone())
        try:
            with conn.transaction():
                cur.execute(sql.SQL("create unique index on {} ({})").format(stage, _cols(table.key)))
        except psycopg.errors.UniqueViolation:
            _dedupe(cur, table, stage)
        cur.execute(sql.SQL("analyze {}").format(stage))
        result.updated = _update_changed(cur, table, stage, run_id)
        result.inserted = _insert_new(cur, table, stage, run_id)
        if window is not None:
            result.deleted, result.kept = _delete_missing(cur, table, stage, window)
        cur.execute(sql.SQL("drop table {}").format(stage))
    return result


def _key_match(left: str, right: str, key: Sequence[str]) -> sql.Composed:
    return sql.SQL(" and ").join(
        sql.SQL("{}.{} = {}.{}").format(sql.Identifier(left), sql.Identifier(k), sql.Identifier(right),
                                        sql.Identifier(k)) for k in key)


def _dedupe(cur: psycopg.Cursor, table: RawTable, stage: sql.Identifier) -> None:
    """Keep the last staged row per key (COPY order = ctid order in a fresh temp table)."""
    cur.execute(sql.SQL("""
        delete from {stage} s using (
            select ctid, row_number() over (partition by {key} order by ctid desc) as rn from {stage}
        ) d where s.ctid = d.ctid and d.rn > 1
    """).format(stage=stage, key=_cols(table.key)))
    cur.execute(sql.SQL("create unique index on {} ({})").format(stage, _cols(table.key)))


def _update_changed(cur: psycopg.Cursor, table: RawTable, stage: sql.Identifier, run_id: str) -> int:
    non_key = [c for c in table.columns if c not in table.key]
    if not non_key:
        return 0
    cur.execute(sql.SQL("""
        update {target} as t set {sets}, _run_id = %(run_id)s, _loaded_at = now()
        from {stage} as s
        where {match} and ({t_cols}) is distinct from ({s_cols})
    """).format(
        target=table.ident, stage=stage, match=_key_match("s", "t", table.key),
        sets=sql.SQL(", ").join(sql.SQL("{0} = s.{0}").format(sql.Identifier(c)) for c in non_key),
        t_cols=sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in non_key),
        s_cols=sql.SQL(", ").join(sql.SQL("s.{}").format(sql.Identifier(c)) for c in non_key),
    ), {"run_id": run_id})
    return cur.rowcount


def _insert_new(cur: psycopg.Cursor, table: RawTable, stage: sql.Identifier, run_id: str) -> int:
    cur.execute(sql.SQL("""
        insert into {target} ({cols}, _run_id, _loaded_at)
        select {s_cols}, %(run_id)s, now() from {stage} as s
        where not exists (select 1 from {target} as t where {match})
    """).format(
        target=table.ident, stage=stage, cols=_cols(table.columns), match=_key_match("s", "t", table.key),
        s_cols=sql.SQL(", ").join(sql.SQL("s.{}").format(sql.Identifier(c)) for c in table.columns),
    ), {"run_id": run_id})
    return cur.rowcount


def replace_window(conn: psycopg.Connection, table: RawTable, rows: Iterable[Sequence[Any]], *, run_id: str,
                   window: Window) -> LoadResult:
    """Delete the window's answered days, then COPY the rows inside the window straight in, in one transaction.

    The fast path for large append-only tables (intraday samples): no staging, no per-row conflict
    check. The whole answer is read before anything is deleted (an API's paging and retries never run
    while the table's rows are locked). Rows outside the window are not loaded (the table has no key: a
    sample at the window's end would be re-inserted by every rerun); days without a row keep theirs.
    Reruns give the same data (every load metadata column is rewritten).
    """
    if table.window_column is None:
        raise ValueError(f"{table.qualified} has no window column")
    result = LoadResult()
    at = list(table.columns).index(table.window_column)
    inside = []
    for row in rows:
        if window.start <= row[at] < window.end:
            inside.append(row)
        else:
            result.outside += 1
    days = sorted({_day_of(row[at]) for row in inside})
    with conn.transaction(), conn.cursor() as cur:
        # overlapping windows of one scope (a backfill's runs with trailing re-pulls) must not interleave:
        # both deleting before either inserts would leave the overlap twice
        lock = "|".join([table.qualified, *(f"{k}={window.scope[k]}" for k in sorted(window.scope))])
        cur.execute("select pg_advisory_xact_lock(hashtext(%s))", (lock,))
        if inside and (column := _partition_column(cur, table)) is not None and column in table.columns:
            i = list(table.columns).index(column)
            _ensure_partitions(cur, table, min(r[i] for r in inside), max(r[i] for r in inside))
        where, params = _window_condition(table, window, "")
        answered = sql.SQL("{} = any(%(days)s)").format(_day_sql(table, ""))
        cur.execute(sql.SQL("delete from {} where {} and {}").format(table.ident, where, answered),
                    params | {"days": days})
        result.deleted = cur.rowcount
        cur.execute(sql.SQL("select count(*) from {} where {} and not {}").format(table.ident, where, answered),
                    params | {"days": days})
        result.kept = cur.fetchone()[0]
        columns = {**table.columns, "_run_id": "text"}
        result.staged = result.inserted = copy_rows(cur, table.ident, columns,
                                                    (tuple(r) + (run_id,) for r in inside))
        changes.record_window(cur, table, window, days, run_id)  # change log for incremental dbt (changes.py)
    return result


def _partition_column(cur: psycopg.Cursor, table: RawTable) -> str | None:
    """The range-partition key column of a partitioned table (ddl/065_partition_intraday.sql), else None."""
    cur.execute("select a.attname from pg_partitioned_table pt join pg_attribute a on a.attrelid = pt.partrelid"
                " and a.attnum = pt.partattrs[0] where pt.partrelid = to_regclass(%s)", (table.qualified,))
    row = cur.fetchone()
    return row[0] if row else None


def _ensure_partitions(cur: psycopg.Cursor, table: RawTable, first: Any, last: Any) -> None:
    """Make the partitions of [first, last] and of the period after it, unless the table is busy: waiting at
    most 5 s for the lock, then the rows go to the default partition (raw.ensure_partitions moves them out
    on a later load). A catalog look-up only, when they exist."""
    if first is None:
        return
    cur.execute("select raw.ensure_partitions(%(t)s::regclass, %(first)s, %(last)s::timestamptz + case"
                " raw.partition_grain(%(t)s::regclass) when 'year' then interval '1 year'"
                " else interval '1 month' end, '5s')", {"t": table.qualified, "first": first, "last": last})


def _day_of(value: datetime | date) -> date:
    """The bucket a window-column value deletes in: its UTC date (a date column's value is its own)."""
    return value.astimezone(UTC).date() if isinstance(value, datetime) else value


def _day_sql(table: RawTable, alias: str) -> sql.Composable:
    column = sql.SQL(f"{alias}.{{}}" if alias else "{}").format(sql.Identifier(table.window_column))
    if table.columns.get(table.window_column) == "timestamptz":
        return sql.SQL("({} at time zone 'UTC')::date").format(column)
    return column


def _window_condition(table: RawTable, window: Window, alias: str) -> tuple[sql.Composable, dict[str, Any]]:
    """`scope columns = values and start <= window column < end`, for table rows under alias."""
    prefix = f"{alias}." if alias else ""
    conditions = [sql.SQL(prefix + "{} = {}").format(sql.Identifier(c), sql.Placeholder(f"scope_{c}"))
                  for c in window.scope]
    conditions.append(sql.SQL(prefix + "{w} >= %(start)s and " + prefix + "{w} < %(end)s").format(
        w=sql.Identifier(table.window_column)))
    params = {"start": window.start, "end": window.end} | {f"scope_{k}": v for k, v in window.scope.items()}
    return sql.SQL(" and ").join(conditions), params


def _delete_missing(cur: psycopg.Cursor, table: RawTable, stage: sql.Identifier,
                    window: Window) -> tuple[int, int]:
    """Delete the window's rows the stage no longer holds, in answered days only; return (deleted, kept)."""
    if table.window_column is None:
        raise ValueError(f"{table.qualified} has no window column")
    where, params = _window_condition(table, window, "t")
    missing = sql.SQL("not exists (select 1 from {stage} s where {match})").format(
        stage=stage, match=_key_match("s", "t", table.key))
    answered = sql.SQL("exists (select 1 from {stage} s where {same_day}{scope})").format(
        stage=stage, same_day=sql.SQL("{} = {}").format(_day_sql(table, "s"), _day_sql(table, "t")),
        scope=sql.SQL("").join(sql.SQL(" and s.{0} = t.{0}").format(sql.Identifier(c)) for c in window.scope))
    cur.execute(sql.SQL("delete from {} t where {} and {} and {}").format(table.ident, where, missing, answered),
                params)
    deleted = cur.rowcount
    cur.execute(sql.SQL("select count(*) from {} t where {} and {} and not {}").format(
        table.ident, where, missing, answered), params)
    return deleted, cur.fetchone()[0]
