"""Hooks: Airflow connections → `tracker` clients. Nothing else lives here."""

from __future__ import annotations

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


class GitHubHook(BaseHook):
    """GitHub client from the `github` connection: password = token; extras `rest_url` / `graphql_url` (GitHub
    Enterprise Server or the demo server) and `login`. The login given to `get_client` (a person's
    `accounts.github`) wins over the extra, which wins over the connection's login field."""

    conn_name_attr = "github_conn_id"
    default_conn_name = "github"
    conn_type = "http"
    hook_name = "GitHub"

    def __init__(self, github_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.github_conn_id = github_conn_id

    def get_client(self, login: str | None = None) -> GitHubClient:
        c = self.get_connection(self.github_conn_id)
        extra = c.extra_dejson
        login = login or extra.get("login") or c.login
        if not login:
            raise ValueError(f"no GitHub login: set accounts.github in the config or the `login` extra of "
                             f"{self.github_conn_id!r}")
        urls = {k: extra[k] for k in ("rest_url", "graphql_url") if extra.get(k)}
        return GitHubClient(token=c.password or "", login=login, **urls,
                            http=GitHubHttp(conn_id=self.github_conn_id), conn_id=self.github_conn_id)


class LastfmHook(BaseHook):
    """Last.fm client from the `lastfm` connection: password = API key; extra `base_url` (demo server)."""

    conn_name_attr = "lastfm_conn_id"
    default_conn_name = "lastfm"
    conn_type = "http"
    hook_name = "Last.fm"

    def __init__(self, lastfm_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.lastfm_conn_id = lastfm_conn_id

    def get_client(self, user: str) -> LastfmClient:
        c = self.get_connection(self.lastfm_conn_id)
        urls = {"base_url": c.extra_dejson["base_url"]} if c.extra_dejson.get("base_url") else {}
        return LastfmClient(api_key=c.password or "", user=user, **urls,
                            http=LastfmHttp(conn_id=self.lastfm_conn_id), conn_id=self.lastfm_conn_id)


class TraktHook(BaseHook):
    """Trakt client from the `trakt` connection: login = client id, password = access token; extra `base_url`."""

    conn_name_attr = "trakt_conn_id"
    default_conn_name = "trakt"
    conn_type = "http"
    hook_name = "Trakt"

    def __init__(self, trakt_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.trakt_conn_id = trakt_conn_id

    def get_client(self) -> TraktClient:
        c = self.get_connection(self.trakt_conn_id)
        urls = {"base_url": c.extra_dejson["base_url"]} if c.extra_dejson.get("base_url") else {}
        return TraktClient(client_id=c.login or "", access_token=c.password or "", **urls,
                           http=HttpClient(conn_id=self.trakt_conn_id), conn_id=self.trakt_conn_id)


class GoogleHealthHook(BaseHook):
    """Google Health API client from the `google_health` connection: login = OAuth client id, password = its
    secret; extras `base_url` and `token_url` (demo server). Tokens live in the warehouse table
    `auth.oauth_tokens` (written by `tracker auth google-health`), keyed by the person's
    `accounts.google_health`; refreshed pairs are written back there under a transaction-level lock."""

    conn_name_attr = "google_health_conn_id"
    default_conn_name = "google_health"
    conn_type = "http"
    hook_name = "Google Health API"

    def __init__(self, google_health_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.google_health_conn_id = google_health_conn_id

    def get_client(self, account: str) -> GoogleHealthClient:
        c = self.get_connection(self.google_health_conn_id)
        extra = c.extra_dejson
        client = oauth.OAuthClient(client_id=c.login or "", client_secret=c.password or None,
                                   token_url=extra.get("token_url") or oauth.TOKEN_URL)
        store = WarehouseTokenStore(WarehouseHook().connect, account)
        provider = oauth.TokenProvider(store, oauth.TokenEndpoint(client))
        urls = {"base_url": extra["base_url"]} if extra.get("base_url") else {}
        return GoogleHealthClient(token_provider=provider, **urls,
                                  http=HttpClient(conn_id=self.google_health_conn_id))
