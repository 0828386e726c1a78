"""Assets: one per raw table, so the dbt DAG runs when any source lands data."""

from __future__ import annotations

from airflow.sdk import Asset


def raw_asset(table: str) -> Asset:
    return Asset(name=f"raw.{table}", uri=f"postgres://warehouse:5432/warehouse/raw/{table}", group="raw")


RAW_OPEN_METEO_HOURLY = raw_asset("open_meteo__hourly")
# GitHub entity → its raw table's asset (one extract task per entity)
RAW_GITHUB = {entity: raw_asset(f"github__{entity}")
              for entity in ("commits", "pull_requests", "reviews", "issues", "contributions_daily")}
RAW_LASTFM_SCROBBLES = raw_asset("lastfm__scrobbles")
RAW_TRAKT_HISTORY = raw_asset("trakt__history")
# the Google Health API DAG writes the Fitbit raw tables (source google_health_api); one Asset for all of them
RAW_FITBIT_HEALTH = raw_asset("fitbit__health")

# every raw asset; the dbt DAG is scheduled on any of them
RAW_ASSETS = [RAW_OPEN_METEO_HOURLY, *RAW_GITHUB.values(), RAW_LASTFM_SCROBBLES, RAW_TRAKT_HISTORY,
              RAW_FITBIT_HEALTH]
