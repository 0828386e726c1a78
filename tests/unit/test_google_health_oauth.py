"""Google Health OAuth: PKCE, consent URL, loopback listener, token store, refresh (against the demo token endpoint)."""

from __future__ import annotations

import base64
import json
import multiprocessing
import os
import stat
import threading
import time
import webbrowser
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
import typer
from tracker.cli.auth import auth_app
from tracker.demo import google_health_api
from tracker.demo.server import serve_in_thread
from tracker.http import AuthError, HttpClient
from tracker.sources.google_health import oauth
from tracker.sources.google_health.oauth import (
    DEFAULT_SCOPES,
    LoopbackReceiver,
    OAuthClient,
    OAuthError,
    ReauthRequired,
    TokenEndpoint,
    TokenProvider,
    Tokens,
    TokenStore,
    code_from_paste,
    consent_url,
    pkce_pair,
)
from typer.testing import CliRunner

TODAY = date(2026, 11, 23)


@pytest.fixture
def demo():
    """The demo server; its token route counts requests (server-side) and answers slowly to widen races."""
    routes = google_health_api.routes(TODAY)
    inner, seen, lock = routes[google_health_api.TOKEN], [], threading.Lock()

    def counting(req):
        with lock:
            seen.append({k: v[0] for k, v in parse_qs(req.body.decode()).items()})
        time.sleep(0.3)
        return inner(req)

    routes[google_health_api.TOKEN] = counting
    server, base = serve_in_thread(routes=routes)
    yield base, seen
    server.shutdown()
    server.server_close()


def demo_client(base: str, client_id: str = "demo-client") -> OAuthClient:
    return OAuthClient(client_id, "demo-secret", token_url=f"{base}{google_health_api.TOKEN}")


def expired(refresh_token: str = "r1", access: str = "access-0") -> Tokens:
    return Tokens(access, refresh_token, datetime.now(UTC) - timedelta(minutes=5), "scope-a scope-b")


# ------------------------------------------------------------------------------------------ PKCE & URL
def test_pkce_matches_rfc_7636_appendix_b():
    octets = bytes([116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37, 77,
                    105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121])
    verifier = base64.urlsafe_b64encode(octets).rstrip(b"=").decode()
    assert verifier == "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce_pair(verifier) == (verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")


def test_generated_verifiers_are_valid_and_unique():
    pairs = [pkce_pair() for _ in range(20)]
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
    for verifier, challenge in pairs:
        assert 43 <= len(verifier) <= 128 and set(verifier) <= allowed
        assert len(challenge) == 43 and "=" not in challenge
    assert len({v for v, _ in pairs}) == 20


def test_consent_url_asks_offline_access_with_pkce_and_the_three_scopes():
    url = consent_url(OAuthClient("cid.apps.googleusercontent.com"), "http://127.0.0.1:5555/", "st4te", "ch4ll")
    parts = urlsplit(url)
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://accounts.google.com/o/oauth2/v2/auth"
    assert params == {
        "client_id": "cid.apps.googleusercontent.com", "redirect_uri": "http://127.0.0.1:5555/",
        "response_type": "code", "state": "st4te", "code_challenge": "ch4ll", "code_challenge_method": "S256",
        "access_type": "offline", "prompt": "consent",
        "scope": "https://www.googleapis.com/auth/googlehealth.activity_and_fitness.readonly "
                 "https://www.googleapis.com/auth/googlehealth.health_metrics_and_measurements.readonly "
                 "https://www.googleapis.com/auth/googlehealth.sleep.readonly",
    }
    assert params["scope"].split() == list(DEFAULT_SCOPES)


# ------------------------------------------------------------------------------------------ loopback
def test_loopback_listener_captures_code_and_state_over_real_http():
    # given a listener on a random loopback port
    with LoopbackReceiver("expected-state") as receiver:
        assert receiver.redirect_uri.startswith("http://127.0.0.1:") and receiver.port > 0

        # when the browser asks for the favicon and then follows Google's redirect
        assert requests.get(receiver.redirect_uri + "favicon.ico", timeout=5).status_code == 404
        page = requests.get(receiver.redirect_uri, params={"code": "4/0Ab-code", "state": "expected-state",
                                                           "scope": " ".join(DEFAULT_SCOPES)}, timeout=5)

        # then the page says so and the code is handed over
        assert page.status_code == 200 and "Signed in" in page.text
        assert receiver.wait(timeout=5) == "4/0Ab-code"


@pytest.mark.parametrize(("params", "message"), [
    ({"code": "c", "state": "forged"}, "state does not match"),
    ({"code": "c"}, "state does not match"),
    ({"error": "access_denied", "state": "s"}, "consent was not given: access_denied"),
])
def test_loopback_listener_rejects_bad_redirects(params, message):
    with LoopbackReceiver("s") as receiver:
        page = requests.get(receiver.redirect_uri, params=params, timeout=5)
        assert page.status_code == 400
        with pytest.raises(OAuthError, match=message):
            receiver.wait(timeout=5)


def test_loopback_wait_times_out():
    with LoopbackReceiver("s") as receiver, pytest.raises(OAuthError, match="no sign-in"):
        receiver.wait(timeout=0.2)


def test_a_pasted_url_or_code_is_accepted_and_its_state_checked():
    assert code_from_paste("  4/0Ab-code\n", "s") == "4/0Ab-code"
    assert code_from_paste("http://127.0.0.1:5555/?state=s&code=4%2F0Ab-code&scope=x", "s") == "4/0Ab-code"
    with pytest.raises(OAuthError, match="state does not match"):
        code_from_paste("http://127.0.0.1:5555/?state=other&code=c", "s")
    with pytest.raises(OAuthError, match="access_denied"):
        code_from_paste("http://127.0.0.1:5555/?error=access_denied", "s")


def test_a_pasted_line_on_a_pipe_is_read_while_listening():
    read, write = os.pipe()
    with os.fdopen(read) as paste, LoopbackReceiver("s") as receiver:
        os.write(write, b"http://127.0.0.1:1/?code=piped&state=s\n")
        assert receiver.wait(timeout=5, paste=paste) == "piped"
    os.close(write)


# ------------------------------------------------------------------------------------------ token store
def test_token_store_writes_0600_atomically(tmp_path):
    store = TokenStore(tmp_path / "tokens" / "google_health.json")
    old_umask = os.umask(0)  # even a permissive umask must not widen the mode
    try:
        store.save(expired(access="first"))
        first_inode = store.path.stat().st_ino
        store.save(expired(access="second"))
    finally:
        os.umask(old_umask)

    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert store.path.stat().st_ino != first_inode  # replaced by rename, never rewritten in place
    assert sorted(p.name for p in store.path.parent.iterdir()) == ["google_health.json"]
    saved = json.loads(store.path.read_text())
    assert set(saved) >= {"access_token", "refresh_token", "expires_at", "scope"}
    assert saved["access_token"] == "second" and saved["expires_at"].endswith("Z")
    assert store.load() == expired(access="second").__class__.from_json(saved)


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch):
    store = TokenStore(tmp_path / "google_health.json")
    store.save(expired(access="kept"))

    def crash(fd):
        raise OSError("disk full")

    from tracker import private_files  # the one private-file writer writes it

    monkeypatch.setattr(private_files.os, "fsync", crash)  # the temp file is written, its flush fails
    with pytest.raises(OSError, match="disk full"):
        store.save(expired(access="lost"))

    assert store.load().access_token == "kept"
    assert [p.name for p in tmp_path.iterdir()] == ["google_health.json"]


def test_default_location_is_the_state_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKER_STATE_DIR", str(tmp_path))
    assert TokenStore().path == tmp_path / "tokens" / "google_health.json"


def test_missing_or_unreadable_tokens_require_a_new_sign_in(tmp_path):
    store = TokenStore(tmp_path / "google_health.json")
    provider = TokenProvider(store, TokenEndpoint(OAuthClient("c")))
    with pytest.raises(ReauthRequired, match="no tokens stored"):
        provider()
    store.path.write_text("{not json")
    with pytest.raises(ReauthRequired, match="unreadable"):
        provider()


# ------------------------------------------------------------------------------------------ refresh
def test_refresh_keeps_the_old_refresh_token_when_none_is_returned(demo, tmp_path):
    base, seen = demo
    store = TokenStore(tmp_path / "google_health.json")
    store.save(expired("r1"))

    access = TokenProvider(store, TokenEndpoint(demo_client(base)))()

    stored = store.load()
    assert access == stored.access_token == "demo-access-1"
    assert stored.refresh_token == "r1" and stored.expires_at > datetime.now(UTC) + timedelta(minutes=55)
    assert seen == [{"grant_type": "refresh_token", "refresh_token": "r1", "client_id": "demo-client",
                     "client_secret": "demo-secret"}]


def test_a_fresh_token_is_used_without_asking_the_endpoint(demo, tmp_path):
    base, seen = demo
    store = TokenStore(tmp_path / "google_health.json")
    store.save(Tokens("still-good", "r1", datetime.now(UTC) + timedelta(minutes=30)))
    assert TokenProvider(store, TokenEndpoint(demo_client(base)))() == "still-good"
    assert seen == []


@responses.activate
def test_a_rotated_refresh_token_replaces_the_old_one(tmp_path):
    responses.post(oauth.TOKEN_URL, json={"access_token": "a2", "expires_in": 3599, "refresh_token": "r2",
                                          "refresh_token_expires_in": 604799, "scope": "s"})
    endpoint = TokenEndpoint(OAuthClient("c", "s"), clock=lambda: 1_800_000_000.0)

    tokens = endpoint.refresh(expired("r1"))

    assert (tokens.access_token, tokens.refresh_token) == ("a2", "r2")
    assert tokens.expires_at == datetime.fromtimestamp(1_800_000_000 + 3599, UTC)
    assert tokens.refresh_token_expires_at == datetime.fromtimestamp(1_800_000_000 + 604799, UTC)


def test_the_refreshed_pair_is_persisted_before_it_is_used(demo, tmp_path):
    base, _ = demo
    events = []

    class SpyStore(TokenStore):
        def save(self, tokens):
            events.append(("saved", tokens.access_token))
            super().save(tokens)

    store = SpyStore(tmp_path / "google_health.json")
    TokenStore.save(store, expired("r1"))
    provider = TokenProvider(store, TokenEndpoint(demo_client(base)))

    access = provider()
    events.append(("used", access))

    assert events == [("saved", "demo-access-1"), ("used", "demo-access-1")]
    assert json.loads(store.path.read_text())["access_token"] == access


def test_a_refresh_that_cannot_be_persisted_is_not_handed_out(demo, tmp_path):
    base, seen = demo

    class FullDisk(TokenStore):
        def save(self, tokens):
            raise OSError("No space left on device")

    store = FullDisk(tmp_path / "google_health.json")
    TokenStore.save(store, expired("r1", access="old"))

    with pytest.raises(OSError, match="No space left"):
        TokenProvider(store, TokenEndpoint(demo_client(base)))()
    assert len(seen) == 1 and store.load().access_token == "old"


def test_invalid_grant_asks_to_sign_in_again_and_is_not_retried(demo, tmp_path):
    base, seen = demo
    store = TokenStore(tmp_path / "google_health.json")
    store.save(expired("revoked"))
    before = store.path.read_text()

    with pytest.raises(ReauthRequired) as info:
        TokenProvider(store, TokenEndpoint(demo_client(base)))()

    message = str(info.value)
    assert "run `tracker auth google-health`" in message.lower() and "Testing" in message
    assert "Token has been expired or revoked" in message
    assert len(seen) == 1 and store.path.read_text() == before


def test_a_wrong_client_is_an_auth_error_not_a_reauth(demo, tmp_path):
    base, _ = demo
    store = TokenStore(tmp_path / "google_health.json")
    store.save(expired("r1"))
    with pytest.raises(AuthError, match="invalid_client") as info:
        TokenProvider(store, TokenEndpoint(demo_client(base, client_id="bad-client")))()
    assert not isinstance(info.value, ReauthRequired)


def test_a_rejected_access_token_is_refreshed_even_before_it_expires(demo, tmp_path):
    base, seen = demo
    store = TokenStore(tmp_path / "google_health.json")
    store.save(Tokens("rejected", "r1", datetime.now(UTC) + timedelta(minutes=30)))
    provider = TokenProvider(store, TokenEndpoint(demo_client(base)))

    assert provider.refresh(rejected="rejected") == "demo-access-1"
    assert provider.refresh(rejected="some-older-token") == "demo-access-1"  # already replaced: no second refresh
    assert len(seen) == 1


def _refresh_in_another_process(token_path: str, token_url: str, barrier, results) -> None:
    store = TokenStore(Path(token_path))
    provider = TokenProvider(store, TokenEndpoint(OAuthClient("demo-client", "demo-secret", token_url=token_url)))
    barrier.wait()
    results.put(provider())


def test_two_processes_refreshing_at_once_perform_exactly_one_refresh(demo, tmp_path):
    # given an expired access token shared by two processes
    base, seen = demo
    store = TokenStore(tmp_path / "google_health.json")
    store.save(expired("r1"))
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    workers = [ctx.Process(target=_refresh_in_another_process,
                           args=(str(store.path), f"{base}{google_health_api.TOKEN}", barrier, results))
               for _ in range(2)]

    # when both ask for a token at the same moment
    for w in workers:
        w.start()
    tokens = [results.get(timeout=60) for _ in workers]
    for w in workers:
        w.join(timeout=30)

    # then the token endpoint saw one refresh, both got its token, and it is on disk with the old refresh token
    assert [w.exitcode for w in workers] == [0, 0]
    assert len(seen) == 1
    assert tokens == ["demo-access-1", "demo-access-1"]
    assert (store.load().access_token, store.load().refresh_token) == ("demo-access-1", "r1")


# ------------------------------------------------------------------------------------------ sign-in flow
def _browser_follows_redirect(url: str, code: str = "4/0Ab-demo-code") -> None:
    """What the browser does after consent: GET the redirect URI with code and state."""
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    redirect = f"{params['redirect_uri']}?code={code}&state={params['state']}"
    threading.Thread(target=requests.get, args=(redirect,), kwargs={"timeout": 5}, daemon=True).start()


def test_authorize_end_to_end_stores_tokens(demo, tmp_path):
    base, seen = demo
    store = TokenStore(tmp_path / "tokens" / "google_health.json")
    shown = []

    tokens = oauth.authorize(demo_client(base), store, show=shown.append, open_browser=_browser_follows_redirect,
                             timeout=10)

    assert tokens.refresh_token.startswith("demo-refresh-") and tokens.refresh_token_expires_at is not None
    assert store.load() == tokens and stat.S_IMODE(store.path.stat().st_mode) == 0o600
    (exchange,) = seen
    assert exchange["grant_type"] == "authorization_code" and exchange["code"] == "4/0Ab-demo-code"
    assert exchange["redirect_uri"] == parse_qs(urlsplit(shown[0]).query)["redirect_uri"][0]
    assert pkce_pair(exchange["code_verifier"])[1] == parse_qs(urlsplit(shown[0]).query)["code_challenge"][0]


def test_a_rejected_code_fails_the_sign_in(demo, tmp_path):
    base, _ = demo
    with pytest.raises(OAuthError, match="authorization code was rejected"):
        oauth.authorize(demo_client(base), TokenStore(tmp_path / "t.json"), show=lambda url: None, timeout=10,
                        open_browser=lambda url: _browser_follows_redirect(url, code="expired"))


def test_cli_signs_in_through_the_loopback(demo, tmp_path, monkeypatch):
    base, _ = demo
    monkeypatch.setattr(webbrowser, "open", _browser_follows_redirect)
    app = typer.Typer()
    app.add_typer(auth_app, name="auth")
    token_file = tmp_path / "google_health.json"

    result = CliRunner().invoke(app, ["auth", "google-health", "--client-id", "demo-client", "--client-secret",
                                      "demo-secret", "--token-file", str(token_file), "--timeout", "10",
                                      "--token-url", f"{base}{google_health_api.TOKEN}"])

    assert result.exit_code == 0, result.output
    assert "accounts.google.com/o/oauth2/v2/auth" in result.output and "signed in" in result.output
    assert TokenStore(token_file).load().refresh_token.startswith("demo-refresh-")


def test_http_client_is_shared_not_reimplemented():
    endpoint = TokenEndpoint(OAuthClient("c"))
    assert isinstance(endpoint.http, HttpClient) and endpoint.http.credential == "connection 'google_health'"
