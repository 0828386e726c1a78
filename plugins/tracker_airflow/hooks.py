"""Hooks: Airflow connections → `tracker` clients. Nothing else lives here."""

from __future__ import annotations

from typing import Any

import psycopg
from airflow.sdk import BaseHook
from tracker.http import HttpClient
from tracker.sources.github import GitHubClient, GitHubHttp
from tracker.sources.google_health import oauth
from tracker.sources.google_health.client import GoogleHealthClient
from tracker.sources.google_health.token_table import WarehouseTokenStore
from tracker.sources.lastfm import LastfmClient, LastfmHttp
from tracker.sources.open_meteo import OpenMeteoClient
from tracker.sources.trakt import TraktClient


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

    @staticmethod
    def urls(extra: dict[str, Any], *keys: str) -> dict[str, str]:
        """The URL extras that are set, as client keyword arguments (unset ones keep the client's default)."""
        return {k: extra[k] for k in keys if extra.get(k)}


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


class OpenMeteoHook(_TrackerHook):
    """Open-Meteo client; the connection is optional (no key). Extras `archive_url` / `forecast_url` point
    it at a self-hosted Open-Meteo or the local demo server."""

    conn_name_attr = "open_meteo_conn_id"
    default_conn_name = "open_meteo"
    conn_type = "http"
    hook_name = "Open-Meteo"

    def get_client(self) -> OpenMeteoClient:
        extra: dict = {}
        try:
            extra = self.get_connection(self.conn_id).extra_dejson
        except Exception as exc:  # noqa: BLE001 - Airflow raises its own not-found type per backend
            self.log.info("no %r connection (%s): using the public Open-Meteo API", self.conn_id, exc)
        return OpenMeteoClient(**self.urls(extra, "archive_url", "forecast_url"),
                               http=HttpClient(conn_id=self.conn_id))


class GitHubHook(_TrackerHook):
    """GitHub client from the `github` connection: password = token; extras `rest_url` / `graphql_url` (GitHub
    Enterprise Server or the demo server) and `login`. The login given to `get_client` (a person's
    `accounts.github`) wins over the extra, which wins over the connection's login field."""

    conn_name_attr = "github_conn_id"
    default_conn_name = "github"
    conn_type = "http"
    hook_name = "GitHub"

    def get_client(self, login: str | None = None) -> GitHubClient:
        c = self.get_connection(self.conn_id)
        extra = c.extra_dejson
        login = login or extra.get("login") or c.login
        if not login:
            raise ValueError(f"no GitHub login: set accounts.github in the config or the `login` extra of "
                             f"{self.conn_id!r}")
        return GitHubClient(token=c.password or "", login=login, **self.urls(extra, "rest_url", "graphql_url"),
                            http=GitHubHttp(conn_id=self.conn_id), conn_id=self.conn_id)


class LastfmHook(_TrackerHook):
    """Last.fm client from the `lastfm` connection: password = API key; extra `base_url` (demo server)."""

    conn_name_attr = "lastfm_conn_id"
    default_conn_name = "lastfm"
    conn_type = "http"
    hook_name = "Last.fm"

    def get_client(self, user: str) -> LastfmClient:
        c = self.get_connection(self.conn_id)
        return LastfmClient(api_key=c.password or "", user=user, **self.urls(c.extra_dejson, "base_url"),
                            http=LastfmHttp(conn_id=self.conn_id), conn_id=self.conn_id)


class TraktHook(_TrackerHook):
    """Trakt client from the `trakt` connection: login = client id, password = access token; extra `base_url`."""

    conn_name_attr = "trakt_conn_id"
    default_conn_name = "trakt"
    conn_type = "http"
    hook_name = "Trakt"

    def get_client(self) -> TraktClient:
        c = self.get_connection(self.conn_id)
        return TraktClient(client_id=c.login or "", access_token=c.password or "",
                           **self.urls(c.extra_dejson, "base_url"), http=HttpClient(conn_id=self.conn_id),
                           conn_id=self.conn_id)


class GoogleHealthHook(_TrackerHook):
    """Google Health API client from the `google_health` connection: login = OAuth client id, password = its
    secret; extras `base_url` and `token_url` (demo server). Tokens live in the warehouse table
    `auth.oauth_tokens` (written by `tracker auth google-health`), keyed by the person's
    `accounts.google_health`; refreshed pairs are written back there under a transaction-level lock."""

    conn_name_attr = "google_health_conn_id"
    default_conn_name = "google_health"
    conn_type = "http"
    hook_name = "Google Health API"

    def get_client(self, account: str) -> GoogleHealthClient:
        c = self.get_connection(self.conn_id)
        extra = c.extra_dejson
        client = oauth.OAuthClient(client_id=c.login or "", client_secret=c.password or None,
                                   token_url=extra.get("token_url") or oauth.TOKEN_URL)
        provider = oauth.TokenProvider(WarehouseTokenStore(WarehouseHook().connect, account),
                                       oauth.TokenEndpoint(client))
        return GoogleHealthClient(token_provider=provider, **self.urls(extra, "base_url"),
                                  http=HttpClient(conn_id=self.conn_id))
