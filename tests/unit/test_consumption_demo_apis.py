"""The GitHub, Last.fm and Trakt demo APIs, read through the real clients over real HTTP on 127.0.0.1."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from tracker.demo.server import default_routes, serve_in_thread
from tracker.http import AuthError, HttpClient, PermanentSourceError
from tracker.sources.github import GitHubClient, GitHubGraphQLError, GitHubHttp
from tracker.sources.lastfm import LastfmClient, LastfmHttp
from tracker.sources.trakt import TokenStore, TraktClient, device_flow

TODAY = date(2026, 11, 23)  # a Monday; the demo serves nothing after 2026-11-23T00:00Z
BERLIN = ZoneInfo("Europe/Berlin")
WINDOW = (datetime(2026, 11, 3, tzinfo=UTC), datetime(2026, 11, 6, tzinfo=UTC))  # Tuesday..Thursday
DAYS = [date(2026, 11, 3), date(2026, 11, 4), date(2026, 11, 5)]


@pytest.fixture(scope="module")
def demo():
    server, base = serve_in_thread(routes=default_routes(today=TODAY))
    yield base
    server.shutdown()
    server.server_close()


def github(demo: str, token: str = "demo-token", login: str = "demo-user") -> GitHubClient:
    return GitHubClient(token, login, rest_url=f"{demo}/github/api", graphql_url=f"{demo}/github/api/graphql",
                        http=GitHubHttp(credential="github", max_retries=0),
                        now=lambda: datetime(2026, 11, 23, tzinfo=UTC))


def lastfm(demo: str, key: str = "demo-key", user: str = "demo-user") -> LastfmClient:
    return LastfmClient(key, user, base_url=f"{demo}/lastfm/2.0/", http=LastfmHttp(credential="lastfm", max_retries=0))


def trakt(demo: str, token: str = "demo-token") -> TraktClient:
    return TraktClient("demo-client", token, base_url=f"{demo}/trakt",
                       http=HttpClient(credential="trakt", max_retries=0))


def local(moment: datetime) -> datetime:
    return moment.astimezone(BERLIN)


def test_every_consumption_demo_api_is_mounted():
    prefixes = set(default_routes(today=TODAY))
    assert {"/github/api", "/lastfm/2.0", "/trakt/sync/history", "/trakt/oauth/device"} <= prefixes


# ------------------------------------------------------------------------------------------ GitHub
def test_github_commits_are_weekday_working_hours_with_line_counts(demo):
    commits = github(demo).commits(*WINDOW)

    assert commits == github(demo).commits(*WINDOW)  # deterministic
    assert len(commits) >= 6 and {c.author_login for c in commits} == {"demo-user"}
    assert all(WINDOW[0] <= c.authored_at < WINDOW[1] for c in commits)
    assert all(c.authored_at.utcoffset() == timedelta(hours=1) for c in commits)  # CET, as in the payload
    working = [c for c in commits if 9 <= local(c.authored_at).hour < 19]
    late = [c for c in commits if local(c.authored_at).hour >= 22 or local(c.authored_at).hour < 2]
    assert len(working) + len(late) == len(commits) and len(working) >= 0.6 * len(commits)
    per_day = defaultdict(int)
    for c in working:
        per_day[local(c.authored_at).date()] += 1
    assert all(per_day[d] >= 2 for d in DAYS)  # every weekday has a working-hours session
    assert all(c.additions > 0 and 0 <= c.deletions <= c.additions for c in commits)
    assert len({(c.repo, c.sha) for c in commits}) == len(commits)


def test_github_contribution_calendar_agrees_with_the_rest_api(demo):
    client = github(demo)

    calendar = client.contributions_daily(*WINDOW)

    assert [d.day for d in calendar.days] == DAYS
    (totals,) = calendar.totals
    assert totals.calendar_total == sum(d.count for d in calendar.days)
    # calendar days are Europe/Berlin days: count the commits of those local days through search
    wide = client.commits(WINDOW[0] - timedelta(days=1), WINDOW[1] + timedelta(days=1), with_stats=False)
    assert totals.commits == sum(local(c.authored_at).date() in DAYS for c in wide)
    assert totals.commits + totals.pull_requests + totals.issues + totals.reviews == totals.calendar_total


def test_github_pull_requests_reviews_and_issues_are_plausible(demo):
    client = github(demo)

    prs, reviews, issues = client.pull_requests(*WINDOW), client.reviews(*WINDOW), client.issues(*WINDOW)

    assert len(prs) + len(reviews) >= 2
    for pr in prs:
        assert pr.kind == "pull_request" and pr.author_login == "demo-user" and WINDOW[0] <= pr.created_at < WINDOW[1]
        assert pr.merged_at is None or pr.merged_at > pr.created_at
    for review in reviews:
        assert WINDOW[0] <= review.submitted_at < WINDOW[1] and 9 <= local(review.submitted_at).hour < 18
        assert review.state in {"APPROVED", "CHANGES_REQUESTED", "COMMENTED"} and review.repo.startswith("acme/")
    assert all(i.kind == "issue" for i in issues)


def test_github_events_are_polled_with_an_etag(demo):
    client = github(demo)

    first, again = client.events(), client.events()

    assert 0 < len(first.events) <= 300 and first.etag and first.poll_interval == 60
    assert {e.type for e in first.events} <= {"PushEvent", "PullRequestEvent", "PullRequestReviewEvent",
                                                "IssuesEvent"}
    assert again.not_modified and again.events == first.events


def test_github_errors_look_like_githubs(demo):
    with pytest.raises(AuthError, match="fix connection 'github'"):
        github(demo, token="bad").commits(*WINDOW)
    with pytest.raises(GitHubGraphQLError, match="Could not resolve to a User"):
        github(demo, login="nobody").contributions_daily(*WINDOW)
    with pytest.raises(PermanentSourceError, match="422"):
        github(demo, login="nobody").commits(*WINDOW)


# ------------------------------------------------------------------------------------------ Last.fm
def test_lastfm_scrobbles_come_in_listening_blocks(demo):
    scrobbles = lastfm(demo).recent_tracks(*WINDOW)

    assert 20 <= len(scrobbles) <= 3 * 60
    assert all(WINDOW[0] <= s.played_at < WINDOW[1] and "@attr" not in s.record for s in scrobbles)  # no now-playing
    hours = {local(s.played_at).hour for s in scrobbles}
    assert hours <= {7, 8, 9, 19, 20, 21, 22, 23, 0, 1}  # commute and evening blocks (weekdays)
    assert sum(local(s.played_at).hour >= 19 for s in scrobbles) >= len(scrobbles) / 2
    gaps = [(b.played_at - a.played_at).total_seconds() for a, b in zip(scrobbles, scrobbles[1:], strict=False)]
    assert min(gaps) >= 120  # one play after another, never overlapping
    assert all(s.artist and s.track and s.album for s in scrobbles)


def test_lastfm_a_month_spans_several_pages_and_contains_the_three_days(demo):
    month = lastfm(demo).recent_tracks(WINDOW[1] - timedelta(days=30), WINDOW[1])
    three = lastfm(demo).recent_tracks(*WINDOW)

    assert len(month) > 200 and len({(s.played_at, s.track) for s in month}) == len(month)
    assert [s for s in month if s.played_at >= WINDOW[0]] == three


def test_lastfm_errors_use_lastfm_codes(demo):
    with pytest.raises(AuthError, match="Last.fm error 10"):
        lastfm(demo, key="bad").recent_tracks(*WINDOW)
    with pytest.raises(PermanentSourceError, match="Last.fm error 6: User not found"):
        lastfm(demo, user="nobody").recent_tracks(*WINDOW)


# ------------------------------------------------------------------------------------------ Trakt
def test_trakt_episodes_come_in_binge_blocks(demo):
    history = trakt(demo).history(*WINDOW)

    assert history == trakt(demo).history(*WINDOW) and len(history) >= 2
    for w in history:
        assert WINDOW[0] <= w.watched_at < WINDOW[1] and w.runtime_minutes and w.runtime_minutes > 20
        assert local(w.watched_at).hour >= 20 or local(w.watched_at).hour < 3  # evenings
        assert w.action in {"watch", "scrobble", "checkin"}
    episodes = [w for w in history if w.type == "episode"]
    for a, b in zip(episodes, episodes[1:], strict=False):
        if b.watched_at - a.watched_at < timedelta(hours=3):  # same evening: the next episode of the show
            assert (b.show_title, b.season, b.episode) == (a.show_title, a.season, a.episode + 1)
            assert b.watched_at - a.watched_at >= timedelta(minutes=b.runtime_minutes - 5)


def test_trakt_four_months_span_pages_with_movies_and_episodes(demo):
    history = trakt(demo).history(WINDOW[1] - timedelta(days=120), WINDOW[1])

    assert len(history) > 100 and len({w.history_id for w in history}) == len(history)  # > 1 page of 100
    assert {"movie", "episode"} == {w.type for w in history}
    assert all(w.title for w in history) and all(w.show_title for w in history if w.type == "episode")


def test_trakt_device_flow_against_the_demo(demo, tmp_path):
    http = HttpClient(credential="trakt", max_retries=0)
    sleeps: list[float] = []

    code = device_flow.start(http, f"{demo}/trakt", "demo-client")
    token = device_flow.poll(http, f"{demo}/trakt", "demo-client", "demo-secret", code, sleep=sleeps.append)
    path = TokenStore(tmp_path / "trakt.json").save(token)

    assert sleeps == [code.interval, code.interval]  # pending once, then approved
    assert TokenStore(path).load() == token
    assert trakt(demo, token.access_token).history(*WINDOW)
    renewed = device_flow.refresh(http, f"{demo}/trakt", "demo-client", "demo-secret", token.refresh_token)
    assert renewed.access_token != token.access_token
    with pytest.raises(AuthError, match="fix connection 'trakt'"):
        trakt(demo, "bad").history(*WINDOW)
