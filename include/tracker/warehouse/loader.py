"""Idempotent bulk loads: binary COPY into a temp table, then one keyed merge inside one transaction.

`load` (keyed merge): re-running a window changes nothing. Rows whose values are unchanged are not touched
(their `_loaded_at` and `_run_id` stay), changed rows are updated, new rows inserted, and rows inside the
window that the source no longer returns are deleted, so a whole-table checksum is identical after a rerun.

`replace_window` (delete the window, COPY straight in): the fast path for large append-only sample tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb


@dataclass(frozen=True)
class RawTable:
    """A raw table: data columns (COPY order) with their PostgreSQL types, natural key, window column."""

    schema: str
    name: str
    columns: Mapping[str, str]
    key: tuple[str, ...]
    window_column: str | None = None

    @property
    def ident(self) -> sql.Composed:
        return sql.Identifier(self.schema, self.name)

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


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

    def add(self, result: LoadResult) -> None:
        self.rows += result.staged
        self.inserted += result.inserted
        self.updated += result.updated
        self.deleted += result.deleted


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
    stage = sql.Identifier(f"_stage_{table.name}")
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("select pg_advisory_xact_lock(hashtext(%s))", (table.qualified,))
        cur.execute(sql.SQL("create temp table {} ({}) on commit drop").format(
            stage, sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t)) for c, t in table.columns.items())))
        result.staged = copy_rows(cur, stage, table.columns, rows)
        try:
            with conn.transaction():
                cur.execute(sql.SQL("create unique index on {} ({})").format(stage, _cols(table.key)))
        except psycopg.errors.UniqueViolation:
            _dedupe(cur, table, stage)
        cur.execute(sql.SQL("analyze {}").format(stage))
        result.updated = _update_changed(cur, table, stage, run_id)
        result.inserted = _insert_new(cur, table, stage, run_id)
        if window is not None:
            result.deleted = _delete_missing(cur, table, stage, window)
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
    """Delete the window, then COPY straight into the table, in one transaction.

    The fast path for large append-only tables (intraday samples): no staging, no per-row conflict
    check. Reruns give the same data (every load metadata column is rewritten).
    """
    if table.window_column is None:
        raise ValueError(f"{table.qualified} has no window column")
    result = LoadResult()
    with conn.transaction(), conn.cursor() as cur:
        # overlapping windows of one scope (a backfill's runs with trailing re-pulls) must not interleave:
        # both deleting before either inserts would leave the overlap twice
        lock = "|".join([table.qualified, *(f"{k}={window.scope[k]}" for k in sorted(window.scope))])
        cur.execute("select pg_advisory_xact_lock(hashtext(%s))", (lock,))
        conditions = [sql.SQL("{} = {}").format(sql.Identifier(c), sql.Placeholder(f"scope_{c}"))
                      for c in window.scope]
        conditions.append(sql.SQL("{w} >= %(start)s and {w} < %(end)s").format(
            w=sql.Identifier(table.window_column)))
        params = {"start": window.start, "end": window.end} | {f"scope_{k}": v for k, v in window.scope.items()}
        cur.execute(sql.SQL("delete from {} where ").format(table.ident) + sql.SQL(" and ").join(conditions),
                    params)
        result.deleted = cur.rowcount
        columns = {**table.columns, "_run_id": "text"}
        result.staged = result.inserted = copy_rows(cur, table.ident, columns,
                                                    (tuple(r) + (run_id,) for r in rows))
    return result


def _delete_missing(cur: psycopg.Cursor, table: RawTable, stage: sql.Identifier, window: Window) -> int:
    if table.window_column is None:
        raise ValueError(f"{table.qualified} has no window column")
    conditions = [sql.SQL("t.{} = {}").format(sql.Identifier(c), sql.Placeholder(f"scope_{c}"))
                  for c in window.scope]
    conditions += [
        sql.SQL("t.{w} >= %(start)s and t.{w} < %(end)s").format(w=sql.Identifier(table.window_column)),
        sql.SQL("not exists (select 1 from {stage} s where {match})").format(
            stage=stage, match=sql.SQL(" and ").join(
                sql.SQL("s.{0} = t.{0}").format(sql.Identifier(k)) for k in table.key)),
    ]
    params = {"start": window.start, "end": window.end} | {f"scope_{k}": v for k, v in window.scope.items()}
    cur.execute(sql.SQL("delete from {} t where ").format(table.ident) + sql.SQL(" and ").join(conditions),
                params)
    return cur.rowcount
