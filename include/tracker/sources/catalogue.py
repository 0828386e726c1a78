"""Every source, once: its id, DAG, account key, raw tables, Assets, client factory and demo connection.

Whatever enumerates "all sources" reads this: the DAG list of `tracker demo`, the raw Assets the dbt DAG is
scheduled on, the demo connections of the local stack, the Airflow hooks, `tracker extract`, and anything
that reads every raw table (archive, Kafka producer). DAG files stay hand-written wiring.

`kind` is "api" (an extract run by a DAG or `tracker extract`) or "export" (files imported by
`tracker import`). A client factory turns `Credentials` (from an Airflow connection or environment
variables) and a person's account into the source's client; nothing here imports Airflow.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg

from tracker.imports.consumption import NETFLIX, SPOTIFY, YOUTUBE
from tracker.sources.fitbit import tables as fitbit
from tracker.sources.github import extract as github
from tracker.sources.google_health import extract as google_health
from tracker.sources.lastfm import extract as lastfm
from tracker.sources.open_meteo import extract as open_meteo
from tracker.sources.trakt import extract as trakt
from tracker.warehouse.loader import RawTable


@dataclass(frozen=True)
class Credentials:
    """What a client is built from. `settings` holds optional URLs and extras (`base_url`, `rest_url`, …);
    `label` names what to fix when the API refuses them; `warehouse` connects to the warehouse (sources whose
    tokens live there)."""

    login: str = ""
    secret: str = ""
    settings: Mapping[str, Any] = field(default_factory=dict)
    label: str | None = None
    warehouse: Callable[[], psycopg.Connection] | None = None

    def urls(self, *keys: str) -> dict[str, str]:
        """The settings among `keys` that are set, as client keyword arguments (others keep the default)."""
        return {k: self.settings[k] for k in keys if self.settings.get(k)}


@dataclass(frozen=True)
class Source:
    id: str
    kind: str                                        # "api" | "export"
    tables: tuple[RawTable, ...]
    dag_id: str | None = None
    account: str | None = None                       # key in a person's `accounts:`; None: every person
    connection: str | None = None                    # the Airflow connection the stack configures
    extract: str | None = None                       # "module:function" keeping sources.contract
    client: Callable[[Credentials, str | None], Any] | None = None
    demo: Mapping[str, Any] = field(default_factory=dict)  # connection fields; "{demo}" = the demo API URL
    env: Mapping[str, str] = field(default_factory=dict)   # Credentials field → environment variable
    required: tuple[str, ...] = ()                         # the Credentials fields a client cannot go without

    @property
    def assets(self) -> tuple[str, ...]:
        """Asset names: one per raw table."""
        return tuple(asset_name(t) for t in self.tables)

    def extract_function(self) -> Callable[..., Any]:
        """The source's extract, clipped to each person's collection window (contract.within_collection_windows)."""
        from tracker.sources.contract import within_collection_windows

        module, name = (self.extract or "").split(":")
        return within_collection_windows(getattr(importlib.import_module(module), name))

    def demo_connection(self, demo_url: str) -> dict[str, Any]:
        """The demo stack's connection, with URLs pointing at `demo_url`."""
        def fill(value: Any) -> Any:
            if isinstance(value, dict):
                return {k: fill(v) for k, v in value.items()}
            return value.format(demo=demo_url) if isinstance(value, str) else value
        return fill(dict(self.demo))


def asset_name(table: RawTable) -> str:
    return table.qualified


# ------------------------------------------------------------------------------------------ client factories
def _open_meteo(c: Credentials, account: str | None) -> Any:
    from tracker.http import HttpClient
    from tracker.sources.open_meteo import OpenMeteoClient

    return OpenMeteoClient(**c.urls("archive_url", "forecast_url"), http=HttpClient(credential=c.label))


def _github(c: Credentials, account: str | None) -> Any:
    from tracker.sources.github import GitHubClient, GitHubHttp

    login = account or c.settings.get("login") or c.login
    if not login:
        raise ValueError(f"no GitHub login: set accounts.github in the config or the `login` of {c.label}")
    return GitHubClient(token=c.secret, login=login, **c.urls("rest_url", "graphql_url"),
                        http=GitHubHttp(credential=c.label), credential=c.label)


def _lastfm(c: Credentials, account: str | None) -> Any:
    from tracker.sources.lastfm import LastfmClient, LastfmHttp

    return LastfmClient(api_key=c.secret, user=account or "", **c.urls("base_url"),
                        http=LastfmHttp(credential=c.label), credential=c.label)


def _trakt(c: Credentials, account: str | None) -> Any:
    """With a sign-in stored in the warehouse (`tracker auth trakt`) its access token is used and refreshed
    there before it expires (needs the client secret: connection extra `client_secret`, env
    TRAKT_CLIENT_SECRET); without one, the connection's password is the access token."""
    from tracker.http import HttpClient
    from tracker.sources.trakt import TraktClient
    from tracker.sources.trakt.tokens import trakt_token_provider, warehouse_store

    access = c.secret
    if c.warehouse is not None and account and warehouse_store(c.warehouse, account).load() is not None:
        if not c.settings.get("client_secret"):
            raise ValueError(f"{c.label or 'trakt'}: a Trakt sign-in is stored for {account!r}; its refresh needs "
                             "the client secret (connection extra client_secret / TRAKT_CLIENT_SECRET)")
        access = trakt_token_provider(c.warehouse, account, client_id=c.login,
                                      client_secret=c.settings["client_secret"], **c.urls("base_url"))()
    elif not access:
        from tracker.sources.trakt.tokens import TraktReauthRequired

        raise TraktReauthRequired(f"no Trakt sign-in stored for {account!r} and no access token in "
                                  f"{c.label or 'the trakt connection'}")
    return TraktClient(client_id=c.login, access_token=access, **c.urls("base_url"),
                       http=HttpClient(credential=c.label), credential=c.label)


def _google_health(c: Credentials, account: str | None) -> Any:
    from tracker.http import HttpClient
    from tracker.sources.google_health import oauth
    from tracker.sources.google_health.client import GoogleHealthClient
    from tracker.sources.google_health.token_table import WarehouseTokenStore
    from tracker.sources.quota import google_health_limiter

    if c.warehouse is None or not account:
        raise ValueError("Google Health needs the warehouse (its tokens live in auth.oauth_tokens) and an account")
    client = oauth.OAuthClient(client_id=c.login, client_secret=c.secret or None,
                               token_url=c.settings.get("token_url") or oauth.TOKEN_URL)
    provider = oauth.TokenProvider(WarehouseTokenStore(c.warehouse, account), oauth.TokenEndpoint(client))
    # Google's 300 requests/min per user and 120,000/min per project, counted in the warehouse: they hold
    # across every task, run, backfill and `tracker extract` at once (tracker.sources.quota)
    limiter = google_health_limiter(c.warehouse, account, c.login or None)
    return GoogleHealthClient(token_provider=provider, **c.urls("base_url"), http=HttpClient(credential=c.label),
                              limiter=limiter)


# ------------------------------------------------------------------------------------------ the catalogue
GOOGLE_HEALTH_TABLES = (fitbit.HEART_RATE, fitbit.STEPS_DAILY, fitbit.HEART_RATE_ZONES, fitbit.RESTING_HEART_RATE,
                        fitbit.HRV_DAILY, fitbit.SPO2_DAILY, fitbit.RESPIRATORY_RATE_DAILY,
                        fitbit.HEART_RATE_ZONE_LIMITS, fitbit.SLEEP_SESSIONS, fitbit.SLEEP_STAGES,
                        fitbit.EXERCISES)

SOURCES: dict[str, Source] = {s.id: s for s in (
    Source("weather", "api", (open_meteo.HOURLY,), dag_id="weather_open_meteo", connection="open_meteo",
           extract="tracker.sources.open_meteo.extract:extract_and_load", client=_open_meteo,
           demo={"conn_type": "http", "extra": {"archive_url": "{demo}/open-meteo/v1/archive",
                                                "forecast_url": "{demo}/open-meteo/v1/forecast"}},
           env={"archive_url": "OPEN_METEO_ARCHIVE_URL", "forecast_url": "OPEN_METEO_FORECAST_URL"}),
    Source("github", "api", tuple(e.table for e in github.ENTITIES.values()), dag_id="github_activity",
           account=github.ACCOUNT, connection="github",
           extract="tracker.sources.github.extract:extract_and_load", client=_github,
           demo={"conn_type": "http", "password": "demo-token",
                 "extra": {"rest_url": "{demo}/github/api", "graphql_url": "{demo}/github/api/graphql"}},
           env={"secret": "GITHUB_TOKEN", "rest_url": "GITHUB_REST_URL", "graphql_url": "GITHUB_GRAPHQL_URL"},
           required=("secret",)),
    Source("lastfm", "api", (lastfm.SCROBBLES,), dag_id="lastfm_scrobbles", account=lastfm.ACCOUNT,
           connection="lastfm", extract="tracker.sources.lastfm.extract:extract_and_load", client=_lastfm,
           demo={"conn_type": "http", "password": "demo-api-key", "extra": {"base_url": "{demo}/lastfm/2.0/"}},
           env={"secret": "LASTFM_API_KEY", "base_url": "LASTFM_BASE_URL"}, required=("secret",)),
    Source("trakt", "api", (trakt.HISTORY,), dag_id="trakt_history", account=trakt.ACCOUNT, connection="trakt",
           extract="tracker.sources.trakt.extract:extract_and_load", client=_trakt,
           demo={"conn_type": "http", "login": "demo-client-id", "password": "demo-access-token",
                 "extra": {"base_url": "{demo}/trakt"}},
           env={"login": "TRAKT_CLIENT_ID", "secret": "TRAKT_ACCESS_TOKEN", "base_url": "TRAKT_BASE_URL",
                "client_secret": "TRAKT_CLIENT_SECRET"},
           required=("login",)),
    Source("google_health", "api", GOOGLE_HEALTH_TABLES, dag_id="google_health_fitness",
           account=google_health.ACCOUNT, connection="google_health",
           extract="tracker.sources.google_health.extract:extract_and_load", client=_google_health,
           demo={"conn_type": "http", "login": "demo-client-id", "password": "demo-client-secret",
                 "extra": {"base_url": "{demo}/google-health", "token_url": "{demo}/google-health/oauth/token"}},
           env={"login": "GOOGLE_HEALTH_CLIENT_ID", "secret": "GOOGLE_HEALTH_CLIENT_SECRET",
                "base_url": "GOOGLE_HEALTH_BASE_URL", "token_url": "GOOGLE_HEALTH_TOKEN_URL"},
           required=("login",)),
    Source("netflix", "export", (NETFLIX,)),
    Source("spotify", "export", (SPOTIFY,)),
    Source("youtube", "export", (YOUTUBE,)),
    Source("fitbit_export", "export", tuple(fitbit.ALL)),
)}


def api_sources() -> list[Source]:
    return [s for s in SOURCES.values() if s.kind == "api"]


def source(source_id: str) -> Source:
    """The catalogue entry `source_id`; a ValueError naming the known ones otherwise."""
    try:
        return SOURCES[source_id]
    except KeyError:
        raise ValueError(f"unknown source {source_id!r}; one of {', '.join(SOURCES)}") from None


def raw_tables() -> list[RawTable]:
    """Every raw table any source writes, each once."""
    return list({t.qualified: t for s in SOURCES.values() for t in s.tables}.values())


def source_dags() -> tuple[str, ...]:
    return tuple(s.dag_id for s in api_sources() if s.dag_id)
