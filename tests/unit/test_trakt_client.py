"""TraktClient, the OAuth device flow, the token file and `tracker auth trakt`, against recorded payloads."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
import typer
from tracker.cli.auth_trakt import trakt_auth_app
from tracker.http import AuthError, HttpClient
from tracker.sources.trakt import (
    DeviceAuthDenied,
    DeviceCode,
    DeviceCodeExpired,
    DeviceFlowError,
    TokenStore,
    TraktClient,
    TraktToken,
    device_flow,
)
from tracker.sources.trakt.tokens import default_path
from typer.testing import CliRunner

FIXTURES = Path(__file__).parents[1] / "fixtures" / "trakt"
BASE = "https://api.trakt.tv"
HISTORY = f"{BASE}/sync/history"
DAY = (datetime(2026, 11, 18, tzinfo=UTC), datetime(2026, 11, 19, tzinfo=UTC))


def text(name: str) -> str:
    return (FIXTURES / name).read_text()


def q(call) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


def http() -> HttpClient:
    return HttpClient(credential="trakt", sleep=lambda s: None, jitter=lambda: 0.0, max_retries=1)


# ------------------------------------------------------------------------------------------ history
def test_history_reads_every_page_the_pagination_headers_announce(api):
    def history(request):
        page = parse_qs(urlsplit(request.url).query)["page"][0]
        headers = {"X-Pagination-Page": page, "X-Pagination-Limit": "100", "X-Pagination-Page-Count": "2",
                   "X-Pagination-Item-Count": "4"}
        return 200, headers, text(f"history_page{page}.json")

    api.add_callback(responses.GET, HISTORY, callback=history)

    watches = TraktClient("client-id-123", "access-abc", http=http()).history(*DAY)

    # then two requests with the window, page size and extended=full, and Trakt's headers
    assert [q(c) for c in api.calls] == [
        {"start_at": "2026-11-18T00:00:00.000Z", "end_at": "2026-11-19T00:00:00.000Z", "limit": "100",
         "extended": "full", "page": str(p)} for p in (1, 2)]
    sent = api.calls[0].request.headers
    assert (sent["trakt-api-version"], sent["trakt-api-key"], sent["Authorization"]) == (
        "2", "client-id-123", "Bearer access-abc")
    # and four entries, oldest first: a movie check-in, then three Severance episodes
    assert [(w.type, w.action, w.title, w.season, w.episode, w.runtime_minutes) for w in watches] == [
        ("movie", "checkin", "Past Lives", None, None, 106),
        ("episode", "watch", "Good News About Hell", 1, 1, 50),  # episode runtime null → the show's
        ("episode", "scrobble", "Half Loop", 1, 2, 53),
        ("episode", "scrobble", "In Perpetuity", 1, 3, 46)]
    movie, premiere = watches[0], watches[1]
    assert (movie.year, movie.imdb_id, movie.tmdb_id, movie.slug, movie.show_title) == (
        2023, "tt13238346", 666277, "past-lives-2023", None)
    assert (premiere.show_title, premiere.year, premiere.show_trakt_id, premiere.trakt_id) == (
        "Severance", 2022, 154997, 5290510)
    assert premiere.watched_at == datetime(2026, 11, 18, 20, 2, 5, tzinfo=UTC)
    assert premiere.record["episode"]["episode_type"] == "series_premiere"


def test_history_without_pagination_headers_is_one_page(api):
    api.get(HISTORY, body=text("history_page1.json"))

    assert len(TraktClient("c", "t", http=http()).history(*DAY)) == 2 and len(api.calls) == 1


def test_expired_access_token_is_auth_error_naming_trakt(api):
    api.get(HISTORY, status=401, json={"error": "invalid_token", "error_description": "The access token expired"})

    with pytest.raises(AuthError, match="fix connection 'trakt'") as err:
        TraktClient("c", "t").history(*DAY)

    assert err.value.status == 401 and "expired" in str(err.value)


# ------------------------------------------------------------------------------------------ device flow
class Clock:
    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


CODE = DeviceCode("d9c126a7", "5055CC52", "https://trakt.tv/activate", expires_in=600, interval=5)


def poll_answers(api, *statuses: int) -> None:
    answers = iter([(s, {}, text("device_token.json") if s == 200 else "") for s in statuses])
    api.add_callback(responses.POST, f"{BASE}/oauth/device/token", callback=lambda r: next(answers))


def test_device_code_is_requested_with_the_client_id(api):
    api.post(f"{BASE}/oauth/device/code", body=text("device_code.json"))

    code = device_flow.start(http(), BASE, "client-id-123")

    assert json.loads(api.calls[0].request.body) == {"client_id": "client-id-123"}
    assert (code.user_code, code.verification_url, code.expires_in, code.interval) == (
        "5055CC52", "https://trakt.tv/activate", 600, 5)


def test_poll_waits_the_interval_grows_it_on_slow_down_and_returns_the_token(api):
    # given: pending, slow down, pending, approved
    poll_answers(api, 400, 429, 400, 200)
    clock, states = Clock(), []

    token = device_flow.poll(http(), BASE, "cid", "secret", CODE, sleep=clock.sleep, clock=clock,
                             on_wait=lambda state, interval: states.append((state, interval)))

    assert clock.sleeps == [5, 5, 10, 10]
    assert states == [("pending", 5), ("slow_down", 10), ("pending", 10)]
    assert json.loads(api.calls[0].request.body) == {"code": "d9c126a7", "client_id": "cid", "client_secret": "secret"}
    assert token.access_token.startswith("dbaf9757") and token.refresh_token.startswith("76ba4c5c")
    assert token.expires_at == datetime.fromtimestamp(1795460000 + 86400, UTC)


@pytest.mark.parametrize(("status", "error"), [(410, DeviceCodeExpired), (418, DeviceAuthDenied),
                                               (404, DeviceFlowError), (409, DeviceFlowError)])
def test_poll_stops_on_expired_denied_invalid_or_used_codes(api, status, error):
    poll_answers(api, 400, status)
    clock = Clock()

    with pytest.raises(error) as err:
        device_flow.poll(http(), BASE, "cid", "secret", CODE, sleep=clock.sleep, clock=clock)

    assert err.value.status == status and clock.sleeps == [5, 5]


def test_poll_gives_up_when_the_code_outlives_expires_in(api):
    poll_answers(api, *[400] * 10)
    clock = Clock()
    short = DeviceCode("d9c126a7", "5055CC52", "https://trakt.tv/activate", expires_in=12, interval=5)

    with pytest.raises(DeviceCodeExpired):
        device_flow.poll(http(), BASE, "cid", "secret", short, sleep=clock.sleep, clock=clock)

    assert clock.sleeps == [5, 5, 5] and len(api.calls) == 2


def test_poll_keeps_going_through_a_server_error(api):
    poll_answers(api, 503, 503, 200)  # each poll is one request (no retries inside a poll)
    clock = Clock()

    token = device_flow.poll(http(), BASE, "cid", "secret", CODE, sleep=clock.sleep, clock=clock)

    assert token.token_type == "bearer" and clock.sleeps == [5, 5, 5] and len(api.calls) == 3


def test_refresh_posts_the_refresh_grant(api):
    api.post(f"{BASE}/oauth/token", body=text("device_token.json"))

    token = device_flow.refresh(http(), BASE, "cid", "secret", "old-refresh")

    assert json.loads(api.calls[0].request.body) == {
        "refresh_token": "old-refresh", "client_id": "cid", "client_secret": "secret",
        "redirect_uri": "urn:ietf:wg:oauth:2.0:oob", "grant_type": "refresh_token"}
    assert token.scope == "public"


# ------------------------------------------------------------------------------------------ token file
def test_token_store_writes_a_private_file_atomically(tmp_path):
    store = TokenStore(tmp_path / "tokens" / "trakt.json")
    token = TraktToken.from_json(json.loads(text("device_token.json")))

    path = store.save(token)
    store.save(token)  # overwriting leaves no temp files behind

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert sorted(p.name for p in path.parent.iterdir()) == ["trakt.json"]
    assert store.load() == token
    assert TokenStore(tmp_path / "missing.json").load() is None


def test_default_token_path_is_under_the_state_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("TRACKER_STATE_DIR", str(tmp_path))
    assert default_path() == tmp_path / "tokens" / "trakt.json"


# ------------------------------------------------------------------------------------------ CLI
def test_cli_prints_the_code_polls_and_stores_the_token(api, monkeypatch, tmp_path):
    api.post(f"{BASE}/oauth/device/code", body=text("device_code.json"))
    poll_answers(api, 400, 200)
    sleeps: list[float] = []
    monkeypatch.setattr("time.sleep", sleeps.append)
    cli = typer.Typer()
    cli.add_typer(trakt_auth_app, name="auth")  # as `tracker auth trakt`
    target = tmp_path / "trakt.json"

    result = CliRunner().invoke(cli, ["auth", "trakt", "--client-id", "cid", "--token-file", str(target)],
                                env={"TRAKT_CLIENT_SECRET": "s3cret-value"})

    assert result.exit_code == 0, result.output
    assert "https://trakt.tv/activate" in result.output and "5055CC52" in result.output
    assert "s3cret-value" not in result.output and sleeps == [5, 5]
    assert json.loads(target.read_text())["access_token"].startswith("dbaf9757")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_cli_reports_a_denied_code_and_stores_nothing(api, monkeypatch, tmp_path):
    api.post(f"{BASE}/oauth/device/code", body=text("device_code.json"))
    poll_answers(api, 418)
    monkeypatch.setattr("time.sleep", lambda s: None)
    cli = typer.Typer()
    cli.add_typer(trakt_auth_app, name="auth")

    result = CliRunner().invoke(cli, ["auth", "trakt", "--client-id", "cid", "--client-secret", "x",
                                      "--token-file", str(tmp_path / "t.json")])

    assert result.exit_code == 2 and "denied" in result.output and not (tmp_path / "t.json").exists()
