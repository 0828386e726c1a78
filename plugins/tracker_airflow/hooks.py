"""Hooks: Airflow connections → `tracker` clients. Nothing else lives here."""

from __future__ import annotations

import psycopg
from airflow.sdk import BaseHook
from tracker.http import HttpClient
from tracker.sources.open_meteo import OpenMeteoClient


class WarehouseHook(BaseHook):
    """psycopg 3 connections to the warehouse from the `tracker_warehouse` connection."""

    conn_name_attr = "warehouse_conn_id"
    default_conn_name = "tracker_warehouse"
    conn_type = "postgres"
    hook_name = "Tracker warehouse"

    def __init__(self, warehouse_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.warehouse_conn_id = warehouse_conn_id

    def connect(self) -> psycopg.Connection:
        c = self.get_connection(self.warehouse_conn_id)
        return psycopg.connect(host=c.host, port=c.port or 5432, dbname=c.schema, user=c.login,
                               password=c.password, connect_timeout=10,
                               application_name=f"tracker:{self.warehouse_conn_id}")


class OpenMeteoHook(BaseHook):
    """Open-Meteo client; the connection is optional (no key). Extras `archive_url` / `forecast_url` point
    it at a self-hosted Open-Meteo or the local demo server."""

    conn_name_attr = "open_meteo_conn_id"
    default_conn_name = "open_meteo"
    conn_type = "http"
    hook_name = "Open-Meteo"

    def __init__(self, open_meteo_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.open_meteo_conn_id = open_meteo_conn_id

    def get_client(self) -> OpenMeteoClient:
        extra: dict = {}
        try:
            extra = self.get_connection(self.open_meteo_conn_id).extra_dejson
        except Exception as exc:  # noqa: BLE001 - Airflow raises its own not-found type per backend
            self.log.info("no %r connection (%s): using the public Open-Meteo API", self.open_meteo_conn_id, exc)
        urls = {k: extra[k] for k in ("archive_url", "forecast_url") if extra.get(k)}
        return OpenMeteoClient(**urls, http=HttpClient(conn_id=self.open_meteo_conn_id))
