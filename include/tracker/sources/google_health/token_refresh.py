"""Google Health tokens and their refresh — what every Airflow task needs, without the interactive sign-in.

`Tokens` is {access_token, refresh_token, expires_at, scope}; `TokenStore` keeps them in a 0600 JSON file
(the shared `oauth_tokens.TokenFile`: atomic replace, flock), `token_table.WarehouseTokenStore` in
`auth.oauth_tokens`. `TokenEndpoint` exchanges a code / refreshes at the token URL; `TokenProvider` (shared,
`oauth_tokens`) is the `token_provider` for `GoogleHealthClient`: it refreshes when the access token is due and
persists the new pair before handing it out. `invalid_grant` (revoked, or the 7-day refresh-token expiry of
apps in "Testing" status) raises `ReauthRequired` — never retried.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from tracker import settings
from tracker.http import AuthError, HttpClient, MalformedResponseError, PermanentSourceError, credential_label
from tracker.sources.google_health.client import CREDENTIAL
from tracker.sources.oauth_tokens import TokenFile, TokenProvider  # noqa: F401  TokenProvider: re-exported

AUTH_URL = "https://accounts.google.com/o/oauth2/v2/auth"
TOKEN_URL = "https://oauth2.googleapis.com/token"
SCOPE_PREFIX = "https://www.googleapis.com/auth/googlehealth."
DEFAULT_SCOPES: tuple[str, ...] = tuple(SCOPE_PREFIX + s for s in (
    "activity_and_fitness.readonly", "health_metrics_and_measurements.readonly", "sleep.readonly"))
REAUTH_COMMAND = "tracker auth google-health"


class OAuthError(PermanentSourceError):
    """The sign-in flow failed (consent refused, state mismatch, bad code, no refresh token)."""


class ReauthRequired(AuthError):
    """The refresh token no longer works; only a new sign-in helps."""

    def __init__(self, detail: str, *, status: int | None = None, account: str | None = None) -> None:
        command = f"{REAUTH_COMMAND} --account {account}" if account else REAUTH_COMMAND
        who = f" of account {account!r}" if account else ""
        PermanentSourceError.__init__(
            self, f"Google Health sign-in{who} is no longer valid ({detail}). Refresh tokens are revoked when "
                  f"access is withdrawn and expire after 7 days while the OAuth app is in 'Testing' status. "
                  f"Run `{command}` to sign in again.", status=status, reason=detail)
        self.credential = credential_label(CREDENTIAL)


@dataclass(frozen=True)
class OAuthClient:
    """The OAuth client (Desktop app) from Google Cloud Console; endpoints and scopes are configurable."""

    client_id: str
    client_secret: str | None = None
    token_url: str = TOKEN_URL
    auth_url: str = AUTH_URL
    scopes: tuple[str, ...] = DEFAULT_SCOPES


# ------------------------------------------------------------------------------------------ tokens on disk
def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_at: datetime
    scope: str = ""
    refresh_token_expires_at: datetime | None = None  # only apps in "Testing" status get one (7 days)

    def fresh(self, now: float, leeway: float = 60.0) -> bool:
        return self.expires_at.timestamp() - leeway > now

    def to_json(self) -> dict[str, Any]:
        data = {**asdict(self), "expires_at": _iso(self.expires_at)}
        data["refresh_token_expires_at"] = _iso(self.refresh_token_expires_at) if self.refresh_token_expires_at \
            else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Tokens:
        return cls(access_token=data["access_token"], refresh_token=data["refresh_token"],
                   expires_at=_parse_time(data["expires_at"]), scope=data.get("scope") or "",
                   refresh_token_expires_at=_parse_time(data.get("refresh_token_expires_at")))


def default_token_path() -> Path:
    return settings.state_dir() / "tokens" / "google_health.json"


class TokenStore(TokenFile):
    """The Google Health token file (0600 JSON, atomic replace, flock): `oauth_tokens.TokenFile`."""

    def __init__(self, path: Path | None = None) -> None:
        super().__init__(Path(path) if path else default_token_path(), Tokens, ReauthRequired)


# ------------------------------------------------------------------------------------------ token endpoint
class _LastOAuthError:
    """A `requests` response hook remembering each thread's last OAuth `error` code (HttpClient's error
    message carries `error_description`, but `invalid_grant` must be recognised by its code)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def hook(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        code = None
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = None
            if isinstance(body, dict) and isinstance(body.get("error"), str):
                code = body["error"]
        self._local.code = code

    @property
    def code(self) -> str | None:
        return getattr(self._local, "code", None)


class TokenEndpoint:
    """Code exchange and refresh against `client.token_url` through the shared HttpClient (5xx/429 retried)."""

    def __init__(self, client: OAuthClient, http: HttpClient | None = None, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.http = http or HttpClient(credential=CREDENTIAL, max_retries=3)
        self.clock = clock
        self._last_error = _LastOAuthError()
        self.http.session.hooks["response"].append(self._last_error.hook)

    def exchange_code(self, code: str, code_verifier: str, redirect_uri: str) -> Tokens:
        form = {"grant_type": "authorization_code", "code": code, "code_verifier": code_verifier,
                "redirect_uri": redirect_uri}
        try:
            return self._tokens(self._post(form), previous=None)
        except ReauthRequired as exc:
            raise OAuthError(f"the authorization code was rejected ({exc.reason}); start the sign-in again") from None

    def refresh(self, tokens: Tokens) -> Tokens:
        """A new access token; the refresh token (and its expiry) are kept when the answer has none."""
        form = {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token}
        return self._tokens(self._post(form), previous=tokens)

    def _post(self, form: dict[str, str]) -> Any:
        form = {**form, "client_id": self.client.client_id}
        if self.client.client_secret:
            form["client_secret"] = self.client.client_secret
        try:
            return self.http.post_json(self.client.token_url, data=form,
                                       headers={"Accept": "application/json"})
        except AuthError as exc:  # 401 invalid_client: a configuration problem, not an expired grant
            reason = f"{self._last_error.code or exc.reason} (check the OAuth client id/secret)"
            raise AuthError(CREDENTIAL, status=exc.status, reason=reason) from None
        except PermanentSourceError as exc:
            if "invalid_grant" in (self._last_error.code, exc.reason):
                detail = "invalid_grant" + (f": {exc.reason}" if exc.reason != "invalid_grant" else "")
                raise ReauthRequired(detail, status=exc.status) from None
            raise

    def _tokens(self, body: Any, previous: Tokens | None) -> Tokens:
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise MalformedResponseError("access_token", "missing", source="Google OAuth token endpoint")
        now = datetime.fromtimestamp(int(self.clock()), UTC)  # whole seconds, as stored
        refresh, refresh_expiry = body.get("refresh_token"), None
        if not refresh:
            if previous is None:
                raise OAuthError("the token answer has no refresh_token (access_type=offline&prompt=consent sent?)")
            refresh, refresh_expiry = previous.refresh_token, previous.refresh_token_expires_at
        if lifetime := body.get("refresh_token_expires_in"):  # "Testing" apps: seconds left on the refresh token
            refresh_expiry = now + timedelta(seconds=int(lifetime))
        return Tokens(access_token=body["access_token"], refresh_token=refresh,
                      expires_at=now + timedelta(seconds=int(body.get("expires_in") or 3600)),
                      scope=body.get("scope") or (previous.scope if previous else ""),
                      refresh_token_expires_at=refresh_expiry)
