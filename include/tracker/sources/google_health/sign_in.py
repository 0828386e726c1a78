"""The interactive Google Health sign-in (`tracker auth google-health`): installed-app authorization code
flow with PKCE. `authorize()` builds the consent URL (S256 PKCE, `access_type=offline`, `prompt=consent` so
Google always returns a refresh token), captures `code` + `state` on a 127.0.0.1 loopback listener or from a
pasted redirect URL/code, exchanges the code at the token endpoint and stores the tokens.
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
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, TextIO
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from tracker import settings
from tracker.sources.google_health.token_refresh import (
    OAuthClient,
    OAuthError,
    TokenEndpoint,
    Tokens,
    TokenStore,
)
from tracker.sources.oauth_tokens import TokenFile, TokenProvider  # noqa: F401  TokenProvider: re-exported


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
