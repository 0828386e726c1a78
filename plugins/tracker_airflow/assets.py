"""Assets: one per raw table, so the dbt DAG runs when any source lands data."""

from __future__ import annotations

from airflow.sdk import Asset


def raw_asset(table: str) -> Asset:
    return Asset(name=f"raw.{table}", uri=f"postgres://warehouse:5432/warehouse/raw/{table}", group="raw")


RAW_OPEN_METEO_HOURLY = raw_asset("open_meteo__hourly")

# every raw asset; the dbt DAG is scheduled on any of them
RAW_ASSETS = [RAW_OPEN_METEO_HOURLY]
