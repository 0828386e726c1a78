"""Hooks: Airflow connections → the `tracker` clients the source catalogue's factories build. Nothing else."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from airflow.sdk import BaseHook
from tracker.sources.catalogue import Credentials, source


class _TrackerHook(BaseHook):
    """The connection-id plumbing every Tracker hook shares: the id is kept under `conn_name_attr`
    (Airflow's convention, e.g. `github_conn_id`) and readable as `conn_id`."""

    conn_name_attr = ""
    default_conn_name = ""

    def __init__(self, conn_id: str | None = None) -> None:
        super().__init__()
        setattr(self, self.conn_name_attr, conn_id or self.default_conn_name)

    @property
    def conn_id(self) -> str:
        return getattr(self, self.conn_name_attr)


class WarehouseHook(_TrackerHook):
    """psycopg 3 connections to the warehouse from the `tracker_warehouse` connection."""

    conn_name_attr = "warehouse_conn_id"
    default_conn_name = "tracker_warehouse"
    conn_type = "postgres"
    hook_name = "Tracker warehouse"

    def connect(self) -> psycopg.Connection:
        c = self.get_connection(self.conn_id)
        return psycopg.connect(host=c.host, port=c.port or 5432, dbname=c.schema, user=c.login,
                               password=c.password, connect_timeout=10, application_name=f"tracker:{self.conn_id}")


class SourceHook(_TrackerHook):
    """A catalogue source's clients from its connection: login, password = secret, extras = URLs and the
    like (see the source's `client` factory). AuthErrors name the connection to fix."""

    source_id = ""
    optional = False  # the connection may be missing (public API, no key): defaults are used

    def credentials(self) -> Credentials:
        label = f"connection {self.conn_id!r}"
        try:
            c = self.get_connection(self.conn_id)
        except Exception as exc:  # noqa: BLE001 - Airflow raises its own not-found type per backend
            if not self.optional:
                raise
            self.log.info("no %r connection (%s): using the public API", self.conn_id, exc)
            return Credentials(label=label)
        return Credentials(login=c.login or "", secret=c.password or "", settings=c.extra_dejson, label=label,
                           warehouse=WarehouseHook().connect)

    def clients(self) -> Callable[[str | None], Any]:
        """account → client, for `extract_and_load` (the connection is read once)."""
        creds, make = self.credentials(), source(self.source_id).client
        return lambda account=None: make(creds, account)

    def get_client(self, account: str | None = None) -> Any:
        return self.clients()(account)


class OpenMeteoHook(SourceHook):
    """Open-Meteo; the connection is optional (no key). Extras `archive_url` / `forecast_url` point it at a
    self-hosted Open-Meteo or the local demo server."""

    conn_name_attr = "open_meteo_conn_id"
    default_conn_name = "open_meteo"
    conn_type = "http"
    hook_name = "Open-Meteo"
    source_id = "weather"
    optional = True


class GitHubHook(SourceHook):
    """GitHub from the `github` connection: password = token; extras `rest_url` / `graphql_url` (GitHub
    Enterprise Server or the demo server) and `login`. The login given to `get_client` (a person's
    `accounts.github`) wins over the extra, which wins over the connection's login field."""

    conn_name_attr = "github_conn_id"
    default_conn_name = "github"
    conn_type = "http"
    hook_name = "GitHub"
    source_id = "github"


class LastfmHook(SourceHook):
    """Last.fm from the `lastfm` connection: password = API key; extra `base_url` (demo server)."""

    conn_name_attr = "lastfm_conn_id"
    default_conn_name = "lastfm"
    conn_type = "http"
    hook_name = "Last.fm"
    source_id = "lastfm"


class TraktHook(SourceHook):
    """Trakt from the `trakt` connection: login = client id, password = access token; extra `base_url`."""

    conn_name_attr = "trakt_conn_id"
    default_conn_name = "trakt"
    conn_type = "http"
    hook_name = "Trakt"
    source_id = "trakt"


class GoogleHealthHook(SourceHook):
    """Google Health API from the `google_health` connection: login = OAuth client id, password = its
    secret; extras `base_url` and `token_url` (demo server). Tokens live in the warehouse table
    `auth.oauth_tokens` (written by `tracker auth google-health`), keyed by the person's
    `accounts.google_health`; refreshed pairs are written back there under a transaction-level lock."""

    conn_name_attr = "google_health_conn_id"
    default_conn_name = "google_health"
    conn_type = "http"
    hook_name = "Google Health API"
    source_id = "google_health"


HOOKS: dict[str, type[SourceHook]] = {h.source_id: h for h in (OpenMeteoHook, GitHubHook, LastfmHook, TraktHook,
                                                               GoogleHealthHook)}
