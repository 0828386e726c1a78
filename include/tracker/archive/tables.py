"""Every archivable table, from one place: the source catalogue's raw tables, the quarantine, the people table
and any other `raw.*` table the DDL declares — never the `auth` schema (OAuth tokens) and never bookkeeping that
the warehouse rebuilds itself (listed in EXCLUDED with the reason).

Each table is archived per month of its event-time column (UTC month for timestamptz); a table without a
NOT NULL time column (people, quarantine) is archived whole, as one partition `all`.
"""

from __future__ import annotations

from dataclasses import dataclass

from tracker.warehouse.loader import RawTable

# raw tables that are not archived, and why (a test checks every raw table of the DDL is archived or here)
EXCLUDED = {
    "raw._schema_migrations": "schema bookkeeping: ensure_warehouse writes it when it applies the DDL",
    "raw.fitbit__heart_rate_changes": "change log for incremental dbt: a restore writes fresh change rows for "
                                      "the samples it loads, so silver rebuilds them",
}


@dataclass(frozen=True)
class ArchiveTable:
    schema: str
    name: str
    key: tuple[str, ...]              # natural key: merge and sort order
    event_column: str | None          # partitions by month of this column; None: one partition `all`
    event_type: str | None = None     # "timestamptz" | "date"

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def monthly(self) -> bool:
        return self.event_column is not None


def archivable_tables() -> list[ArchiveTable]:
    """Every table the archive keeps, in a stable order (catalogue order, then the other raw tables)."""
    from tracker.sources.catalogue import raw_tables
    from tracker.warehouse.loader import _ddl_tables

    ddl = _ddl_tables()
    raws: dict[str, RawTable] = {t.qualified: t for t in raw_tables()}
    for qualified in ddl:
        schema, name = qualified.split(".")
        if schema != "raw" or qualified in raws or qualified in EXCLUDED:
            continue
        raws[qualified] = RawTable.from_ddl(name, schema=schema)
    out = []
    for raw in raws.values():
        if raw.schema != "raw":
            continue
        column, kind = raw.event_column()
        out.append(ArchiveTable(raw.schema, raw.name, tuple(raw.key), column, kind))
    return out


def table(qualified: str) -> ArchiveTable:
    """The archivable table `qualified` (schema.name, or a name in raw); a ValueError naming the known ones."""
    name = qualified if "." in qualified else f"raw.{qualified}"
    for t in archivable_tables():
        if t.qualified == name:
            return t
    known = ", ".join(t.qualified for t in archivable_tables())
    raise ValueError(f"{qualified!r} is not an archivable table; one of {known}")
