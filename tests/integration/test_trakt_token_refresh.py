"""Trakt access tokens expire: the token provider refreshes them through the shared warehouse token store
(`auth.oauth_tokens`, provider 'trakt') against the demo Trakt API's `POST /oauth/token` before they do, and
commits the new pair before the client uses it."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from tracker import settings
from tracker.sources.trakt.client import TraktClient
from tracker.sources.trakt.models import TraktToken

pytestmark = pytest.mark.integration

ACCOUNT = "trakt_refresh_test"


def _provider(demo_api: str, account: str = ACCOUNT):
    from tracker.sources.trakt.tokens import trakt_token_provider

    return trakt_token_provider(lambda: psycopg.connect(settings.warehouse_dsn()), account,
                                client_id="cid", client_secret="secret", base_url=f"{demo_api}/trakt")


def _seed(warehouse, token: TraktToken, account: str = ACCOUNT) -> None:
    from psycopg.types.json import Jsonb

    warehouse.execute("insert into auth.oauth_tokens (provider, account, tokens) values ('trakt', %s, %s)"
                      " on conflict (provider, account) do update set tokens = excluded.tokens",
                      (account, Jsonb(token.to_json())))


def _stored(warehouse, account: str = ACCOUNT) -> dict:
    return warehouse.execute("select tokens from auth.oauth_tokens where provider = 'trakt' and account = %s",
                             (account,)).fetchone()[0]


def test_a_token_about_to_expire_is_refreshed_and_committed_before_use(warehouse, demo_api):
    expiring = TraktToken("old-access", "demo-refresh-abc", expires_in=86400,
                          created_at=int(time.time()) - 86400 + 30)  # 30 s left: inside the leeway
    _seed(warehouse, expiring)
    access = _provider(demo_api)()
    assert access != "old-access"
    stored = _stored(warehouse)                  # committed: another connection sees the new pair
    assert stored["access_token"] == access
    assert stored["refresh_token"].startswith("demo-refresh-") and stored["refresh_token"] != "demo-refresh-abc"
    assert TraktToken.from_json(stored).expires_at > datetime.now(UTC) + timedelta(hours=23)
    end = datetime.now(UTC)
    client = TraktClient("cid", access, base_url=f"{demo_api}/trakt")
    client.history(end - timedelta(days=3), end)  # the refreshed token is accepted


def test_a_fresh_token_is_handed_out_without_a_refresh(warehouse, demo_api):
    fresh = TraktToken("still-good", "demo-refresh-def", expires_in=86400, created_at=int(time.time()))
    _seed(warehouse, fresh)
    assert _provider(demo_api)() == "still-good"
    assert _stored(warehouse) == fresh.to_json()


def test_no_stored_token_asks_for_a_sign_in(warehouse, demo_api):
    from tracker.sources.trakt.tokens import TraktReauthRequired

    with pytest.raises(TraktReauthRequired, match="no tokens stored"):
        _provider(demo_api, "trakt_nobody")()


def test_sign_in_is_stored_in_the_warehouse_and_the_source_client_refreshes_it(warehouse, demo_api):
    """`tracker auth trakt` → auth.oauth_tokens → the catalogue's Trakt client (what the DAG's hook and
    `tracker extract trakt` build) uses the stored token and refreshes it before it expires."""
    from tracker.cli.auth_trakt import trakt_auth_app
    from tracker.sources.catalogue import Credentials, source
    from typer import Typer
    from typer.testing import CliRunner

    account = "trakt_wired"
    warehouse.execute("delete from auth.oauth_tokens where provider = 'trakt' and account = %s", (account,))
    cli = Typer()
    cli.add_typer(trakt_auth_app, name="auth")
    signed = CliRunner().invoke(cli, ["auth", "trakt", "--client-id", "cid", "--client-secret", "secret",
                                      "--base-url", f"{demo_api}/trakt", "--account", account])
    assert signed.exit_code == 0, signed.output
    first = _stored(warehouse, account)
    # GIVEN the stored access token is about to expire
    warehouse.execute("update auth.oauth_tokens set tokens = jsonb_set(tokens, '{created_at}', to_jsonb(%s::bigint))"
                      " where provider = 'trakt' and account = %s", (int(time.time()) - 86400 + 30, account))
    creds = Credentials(login="cid", settings={"base_url": f"{demo_api}/trakt", "client_secret": "secret"},
                        label="connection 'trakt'", warehouse=lambda: psycopg.connect(settings.warehouse_dsn()))
    # WHEN the source's client is built
    client = source("trakt").client(creds, account)
    # THEN the pair was refreshed and committed, and the API accepts the new token
    refreshed = _stored(warehouse, account)
    assert refreshed["access_token"] != first["access_token"]
    end = datetime.now(UTC)
    client.history(end - timedelta(days=2), end)
    # AND without a stored sign-in or an access token, it says what to run
    from tracker.sources.trakt.tokens import TraktReauthRequired

    with pytest.raises(TraktReauthRequired, match="tracker auth trakt"):
        source("trakt").client(Credentials(login="cid", warehouse=creds.warehouse), "nobody_signed_in")
    warehouse.execute("delete from auth.oauth_tokens where provider = 'trakt' and account = %s", (account,))
