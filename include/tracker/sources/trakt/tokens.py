"""Trakt OAuth tokens: the device-flow file (`<state_dir>/tokens/trakt.json`) and the refreshing provider.

Trakt access tokens expire (`created_at + expires_in`). `trakt_token_provider` keeps the pair in the shared
warehouse store (`auth.oauth_tokens`, provider 'trakt'): a token within `leeway` of its expiry is refreshed
at `POST /oauth/token` (grant_type=refresh_token) under a transaction-level advisory lock, and the new pair
is committed before the access token is handed to `TraktClient`. A refresh token Trakt rejects raises
`TraktReauthRequired` (one line: run `tracker auth trakt`), and the stored pair stays as it was.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import psycopg

from tracker import settings
from tracker.http import AuthError, HttpClient, PermanentSourceError, credential_label
from tracker.sources import oauth_tokens
from tracker.sources.trakt import device_flow
from tracker.sources.trakt.models import TraktToken

PROVIDER = "trakt"
REAUTH_COMMAND = "tracker auth trakt"


class TraktReauthRequired(AuthError):
    """No usable Trakt token pair (none stored, unreadable, or the refresh token was rejected)."""

    def __init__(self, detail: str, *, status: int | None = None) -> None:
        PermanentSourceError.__init__(self, f"Trakt sign-in is no longer valid ({detail}). Run `{REAUTH_COMMAND}`"
                                             " to sign in again.", status=status, reason=detail)
        self.credential = credential_label(PROVIDER)


def default_path() -> Path:
    return settings.state_dir() / "tokens" / "trakt.json"


class TokenStore(oauth_tokens.TokenFile):
    """The device flow's token file (0600 JSON, atomic replace, flock): `oauth_tokens.TokenFile`."""

    def __init__(self, path: Path | None = None) -> None:
        super().__init__(Path(path) if path else default_path(), TraktToken, TraktReauthRequired)


class TraktTokenEndpoint:
    """`POST /oauth/token` with the refresh grant; the answer is stamped with `created_at` when it has none."""

    def __init__(self, client_id: str, client_secret: str, base_url: str = "https://api.trakt.tv",
                 http: HttpClient | None = None, *, clock: Callable[[], float] = time.time) -> None:
        self.client_id, self.client_secret, self.base_url = client_id, client_secret, base_url
        self.http = http or HttpClient(credential=PROVIDER, max_retries=3)
        self.clock = clock

    def refresh(self, token: TraktToken) -> TraktToken:
        if not token.refresh_token:
            raise TraktReauthRequired("the stored token has no refresh_token")
        try:
            new = device_flow.refresh(self.http, self.base_url, self.client_id, self.client_secret,
                                      token.refresh_token)
        except PermanentSourceError as exc:
            if isinstance(exc, AuthError) or exc.status in (400, 401):  # invalid_grant: revoked or expired
                raise TraktReauthRequired(f"refresh rejected: {exc.reason or exc}", status=exc.status) from None
            raise
        return replace(new, refresh_token=new.refresh_token or token.refresh_token,
                       created_at=new.created_at if new.created_at is not None else int(self.clock()))


def warehouse_store(connect: Callable[[], psycopg.Connection], account: str) -> oauth_tokens.WarehouseTokenStore:
    return oauth_tokens.WarehouseTokenStore(connect, account, PROVIDER, TraktToken, TraktReauthRequired)


def trakt_token_provider(connect: Callable[[], psycopg.Connection], account: str, *, client_id: str,
                         client_secret: str, base_url: str = "https://api.trakt.tv", http: HttpClient | None = None,
                         leeway: float = 300.0) -> oauth_tokens.TokenProvider:
    """`Callable[[], str]`: a Trakt access token valid for at least `leeway` seconds, refreshed when due."""
    return oauth_tokens.TokenProvider(warehouse_store(connect, account),
                                      TraktTokenEndpoint(client_id, client_secret, base_url, http), leeway=leeway)
