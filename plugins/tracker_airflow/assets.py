"""Assets: one per raw table of the source catalogue, so the dbt DAG runs when any source lands data."""

from __future__ import annotations

from airflow.sdk import Asset
from tracker.sources.catalogue import SOURCES, raw_tables
from tracker.warehouse.loader import RawTable


def raw_asset(table: RawTable) -> Asset:
    return Asset(name=table.qualified, uri=f"postgres://warehouse:5432/warehouse/{table.schema}/{table.name}",
                 group="raw")


def source_assets(source_id: str) -> list[Asset]:
    """The Assets of every raw table a source writes (a DAG task's outlets)."""
    return [raw_asset(t) for t in SOURCES[source_id].tables]


# GitHub entity → its raw table's asset (one extract task per entity)
RAW_GITHUB = {t.name.removeprefix("github__"): raw_asset(t) for t in SOURCES["github"].tables}

# the Asset of every raw table a DAG or an import writes, each once; the dbt DAG is scheduled on any of them
# (`tracker import …` posts an event for each table it changed, through the REST API)
RAW_ASSETS = [raw_asset(t) for t in raw_tables()]
