"""OAuth 2.0 for the Google Health API: installed-app authorization code flow with PKCE, token storage, refresh.

- `authorize()` builds the consent URL (S256 PKCE, `access_type=offline`, `prompt=consent` so Google always
  returns a refresh token), captures `code` + `state` on a 127.0.0.1 loopback listener or from a pasted
  redirect URL/code, and exchanges the code at the token endpoint.
- `TokenStore` keeps {access_token, refresh_token, expires_at, scope} in a 0600 JSON file, replaced atomically;
  an exclusive `flock` on a sidecar lock file serialises "read → refresh → persist" across processes.
- `TokenProvider` is the `token_provider` for `GoogleHealthClient`: it refreshes when the access token is due
  and persists the new pair before handing it out. `invalid_grant` (revoked, or the 7-day refresh-token expiry
  of apps in "Testing" status) raises `ReauthRequired` — never retried.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import queue
import secrets
import select
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import requests

from tracker import settings
from tracker.http import AuthError, HttpClient, MalformedResponseError, PermanentSourceError
from tracker.sources.google_health.client import CONN_ID
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

    def __init__(self, detail: str, *, status: int | None = None) -> None:
        PermanentSourceError.__init__(
            self, f"Google Health sign-in is no longer valid ({detail}). Refresh tokens are revoked when access is "
                  f"withdrawn and expire after 7 days while the OAuth app is in 'Testing' status. "
                  f"Run `{REAUTH_COMMAND}` to sign in again.", status=status, reason=detail)
        self.conn_id = CONN_ID


@dataclass(frozen=True)
class OAuthClient:
    """The OAuth client (Desktop app) from Google Cloud Console; endpoints and scopes are configurable."""

    client_id: str
    client_secret: str | None = None
    token_url: str = TOKEN_URL
    auth_url: str = AUTH_URL
    scopes: tuple[str, ...] = DEFAULT_SCOPES


def pkce_pair(verifier: str | None = None) -> tuple[str, str]:
    """(code_verifier, code_challenge) per RFC 7636 with S256: challenge = BASE64URL(SHA256(verifier))."""
    verifier = verifier or secrets.token_urlsafe(64)  # 86 chars of [A-Za-z0-9_-], within 43..128
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def consent_url(client: OAuthClient, redirect_uri: str, state: str, code_challenge: str) -> str:
    params = {
        "client_id": client.client_id, "redirect_uri": redirect_uri, "response_type": "code",
        "scope": " ".join(client.scopes), "state": state, "code_challenge": code_challenge,
        "code_challenge_method": "S256", "access_type": "offline", "prompt": "consent",
    }
    return f"{client.auth_url}?{urlencode(params, quote_via=quote)}"


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
        self.http = http or HttpClient(conn_id=CONN_ID, max_retries=3)
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
            raise AuthError(CONN_ID, status=exc.status, reason=reason) from None
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


# ------------------------------------------------------------------------------------------ consent flow
_PAGE = "<!doctype html><meta charset=utf-8><title>Tracker</title><p>{}</p>"


class LoopbackReceiver:
    """A one-shot HTTP listener on 127.0.0.1 (random port by default) for the OAuth redirect."""

    def __init__(self, state: str, *, port: int = 0, host: str = settings.HOST) -> None:
        self.state = state
        self._outcomes: queue.Queue[tuple[str, str]] = queue.Queue()
        outcomes, expected = self._outcomes, state

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                if "code" not in query and "error" not in query:
                    return self._reply(404, "Not an OAuth redirect.")
                if "error" in query:
                    outcome = ("error", f"consent was not given: {query['error']}")
                elif not hmac.compare_digest(query.get("state", ""), expected):
                    outcome = ("error", "the redirect's state does not match this sign-in (stale or forged)")
                else:
                    outcome = ("code", query["code"])
                outcomes.put(outcome)
                ok = outcome[0] == "code"
                self._reply(200 if ok else 400, "Signed in to Google Health: return to the terminal; this tab "
                                                "can be closed." if ok else f"Sign-in failed: {outcome[1]}.")

            def _reply(self, status: int, text: str) -> None:
                body = _PAGE.format(text).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # the query holds the code: never log it
                pass

        self._server = HTTPServer((host, port), Handler)
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="oauth-loopback", daemon=True)
        self._thread.start()

    @property
    def redirect_uri(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def poll(self, timeout: float = 0.0) -> str | None:
        """The code if the redirect arrived (waiting up to `timeout`), else None; OAuthError on a bad redirect."""
        try:
            kind, value = self._outcomes.get(timeout=timeout) if timeout > 0 else self._outcomes.get_nowait()
        except queue.Empty:
            return None
        if kind == "error":
            raise OAuthError(value)
        return value

    def wait(self, timeout: float = 300.0, paste: TextIO | None = None) -> str:
        """The code from the loopback redirect or, if `paste` is given, a pasted redirect URL/code line."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            if paste is None:
                if code := self.poll(remaining):
                    return code
                continue
            if code := self.poll():
                return code
            ready, _, _ = select.select([paste], [], [], min(0.25, remaining))
            if ready:
                line = paste.readline()
                if not line:
                    paste = None  # EOF: only the loopback is left
                elif line.strip():
                    return code_from_paste(line, self.state)
        raise OAuthError(f"no sign-in within {timeout:.0f}s")

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> LoopbackReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def code_from_paste(text: str, state: str) -> str:
    """A bare code, or a redirect URL (its `state`, when present, must match)."""
    text = text.strip()
    if "code=" not in text and "error=" not in text:
        if not text:
            raise OAuthError("nothing was pasted")
        return text
    query = {k: v[0] for k, v in parse_qs(urlsplit(text).query or text.lstrip("?")).items()}
    if "error" in query:
        raise OAuthError(f"consent was not given: {query['error']}")
    if "state" in query and not hmac.compare_digest(query["state"], state):
        raise OAuthError("the pasted URL's state does not match this sign-in (stale or forged)")
    if not query.get("code"):
        raise OAuthError("no code in the pasted text")
    return query["code"]


def authorize(client: OAuthClient, store: TokenStore, *, endpoint: TokenEndpoint | None = None, port: int = 0,
              timeout: float = 300.0, show: Callable[[str], None] = print,
              open_browser: Callable[[str], object] | None = None, paste: TextIO | None = None) -> Tokens:
    """Run the consent flow end to end and store the tokens; returns them."""
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(24)
    endpoint = endpoint or TokenEndpoint(client)
    with LoopbackReceiver(state, port=port) as receiver:
        url = consent_url(client, receiver.redirect_uri, state, challenge)
        show(url)
        if open_browser is not None:
            open_browser(url)
        code = receiver.wait(timeout, paste=paste)
    tokens = endpoint.exchange_code(code, verifier, receiver.redirect_uri)
    with store.locked():
        store.save(tokens)
    return tokens
