"""GitHubClient + GitHubHttp against recorded GitHub payloads (no network, fake clock)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from tracker.http import AuthError, HttpClient, TransientSourceError
from tracker.sources.github import EventsResult, GitHubClient, GitHubGraphQLError, GitHubHttp

FIXTURES = Path(__file__).parents[1] / "fixtures" / "github"
REST = "https://api.github.com"
GRAPHQL = "https://api.github.com/graphql"
SEARCH_COMMITS = f"{REST}/search/commits"
SEARCH_ISSUES = f"{REST}/search/issues"
DAY = (datetime(2026, 11, 18, tzinfo=UTC), datetime(2026, 11, 19, tzinfo=UTC))
NOW = datetime(2026, 11, 23, tzinfo=UTC)


def load(name: str):
    return json.loads((FIXTURES / name).read_text())


def q(request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}


class Clock:
    """A fake epoch clock that moves only when the client sleeps."""

    def __init__(self) -> None:
        self.t = 1_795_000_000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


def github(clock: Clock, *, max_rate_wait: float = 900.0, **kwargs) -> GitHubClient:
    http = GitHubHttp(credential="github", sleep=clock.sleep, clock=clock, jitter=lambda: 0.0, max_retries=3,
                      max_rate_wait=max_rate_wait)
    return GitHubClient("ghp_not_a_real_token", "monalisa", http=http, now=lambda: NOW, **kwargs)


def reply(body, status: int = 200, **headers: str):
    return lambda request: (status, headers, json.dumps(body))


# ------------------------------------------------------------------------------------------ search + Link
def test_commits_follow_link_pagination(api, clock):
    # given two pages joined by a Link header
    page2 = f"{SEARCH_COMMITS}?q=author%3Amonalisa&per_page=100&page=2"
    link = f'<{page2}>; rel="next", <{page2}>; rel="last"'

    def search(request):
        if q(request).get("page") == "2":
            return 200, {}, json.dumps(load("search_commits_page2.json"))
        return 200, {"Link": link}, json.dumps(load("search_commits_page1.json"))

    api.add_callback(responses.GET, SEARCH_COMMITS, callback=search)

    # when listing one day's commits without line counts
    commits = github(clock).commits(*DAY, with_stats=False)

    # then the first call carries the window as an author-date range, the second is the Link URL as given
    first, second = api.calls[0].request, api.calls[1].request
    assert q(first) == {"q": "author:monalisa author-date:2026-11-18T00:00:00Z..2026-11-18T23:59:59Z",
                        "per_page": "100", "sort": "author-date", "order": "asc"}
    assert first.headers["Accept"] == "application/vnd.github+json"
    assert first.headers["Authorization"] == "Bearer ghp_not_a_real_token"
    assert second.url == page2 and len(api.calls) == 2
    # and all three commits come back oldest first, with the author's own offset kept
    assert [c.sha[:7] for c in commits] == ["5f3a9c1", "7d8e9f0", "1c2d3e4"]
    libfoo = commits[1]
    assert libfoo.authored_at.utcoffset() == timedelta(hours=-5) and libfoo.author_login is None
    assert libfoo.repo == "upstream/libfoo" and libfoo.additions is None
    assert commits[2].parent_count == 2 and commits[2].message == "Merge branch 'nvim-lsp'"


def _range_of(request) -> str:
    return q(request)["q"].split("author-date:")[1]


def test_search_over_1000_results_is_split_in_halves_recursively(api, clock):
    # given a day whose search matches 1500 commits, and whose afternoon still matches 1200
    page1, page2 = load("search_commits_page1.json"), load("search_commits_page2.json")
    answers = {
        "2026-11-18T00:00:00Z..2026-11-18T23:59:59Z": {**page1, "total_count": 1500},
        "2026-11-18T00:00:00Z..2026-11-18T11:59:59Z": {**page1, "total_count": 1, "items": page1["items"][:1]},
        "2026-11-18T12:00:00Z..2026-11-18T23:59:59Z": {**page1, "total_count": 1200},
        "2026-11-18T12:00:00Z..2026-11-18T17:59:59Z": page2 | {"total_count": 1},
        "2026-11-18T18:00:00Z..2026-11-18T23:59:59Z": {**page1, "total_count": 1, "items": page1["items"][1:]},
    }
    api.add_callback(responses.GET, SEARCH_COMMITS, callback=lambda r: (200, {}, json.dumps(answers[_range_of(r)])))

    # when listing the day
    commits = github(clock).commits(*DAY, with_stats=False)

    # then the window was cut in halves, the capped half in halves again, and nothing was lost
    assert [_range_of(c.request) for c in api.calls] == list(answers)
    assert len(commits) == 3


def test_commit_line_counts_are_cached_by_sha(api, clock):
    # given the same commit found in a repository and in its fork
    page = load("search_commits_page1.json")
    fork = copy.deepcopy(page["items"][0])
    fork["repository"]["full_name"] = "monalisa/platform-fork"
    page["items"] = [page["items"][0], fork]
    api.get(SEARCH_COMMITS, json=page)
    sha = fork["sha"]
    api.get(f"{REST}/repos/octo-org/platform/commits/{sha}", json=load("commit_detail.json"))
    api.get(f"{REST}/repos/monalisa/platform-fork/commits/{sha}", json=load("commit_detail.json"))

    # when listing with line counts
    client = github(clock)
    commits = client.commits(*DAY)

    # then both rows carry the stats but only one detail request was made
    assert [(c.repo, c.additions, c.deletions) for c in commits] == [
        ("monalisa/platform-fork", 19, 8), ("octo-org/platform", 19, 8)]
    assert sum("/commits/" in c.request.url and "search" not in c.request.url for c in api.calls) == 1


def test_incomplete_search_results_are_transient(api, clock):
    api.get(SEARCH_COMMITS, json={**load("search_commits_page1.json"), "incomplete_results": True})
    with pytest.raises(TransientSourceError, match="incomplete_results"):
        github(clock).commits(*DAY, with_stats=False)


# ------------------------------------------------------------------------------------------ rate limits
def test_primary_rate_limit_waits_until_reset_by_the_clock(api, clock):
    # given a 403 "rate limit exceeded" resetting in 120 s, then success
    reset = str(int(clock.t) + 120)
    answers = iter([(403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset, "x-ratelimit-resource": "search"},
                     json.dumps(load("rate_limit_exceeded.json"))),
                    (200, {}, json.dumps(load("search_issues_prs.json")))])
    api.add_callback(responses.GET, SEARCH_ISSUES, callback=lambda r: next(answers))

    prs = github(clock).pull_requests(*DAY)

    # then the client slept until one second after the reset, once, and got the data
    assert clock.sleeps == [121.0]
    assert len(prs) == 2


def test_rate_limit_reset_beyond_the_cap_fails_transient_without_sleeping(api, clock):
    reset = str(int(clock.t) + 3000)
    api.get(SEARCH_ISSUES, status=403, json=load("rate_limit_exceeded.json"),
            headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset})

    with pytest.raises(TransientSourceError, match="resets in 3001s") as err:
        github(clock, max_rate_wait=600).pull_requests(*DAY)

    assert clock.sleeps == [] and err.value.status == 403 and len(api.calls) == 1


def test_a_bucket_left_at_zero_waits_before_its_next_request(api, clock):
    # given page 1 of a search that used up the search bucket (a 200 with remaining 0)
    page2 = f"{SEARCH_COMMITS}?q=x&page=2"
    reset = str(int(clock.t) + 30)

    def search(request):
        if q(request).get("page") == "2":
            return 200, {}, json.dumps(load("search_commits_page2.json"))
        return 200, {"Link": f'<{page2}>; rel="next"', "x-ratelimit-remaining": "0", "x-ratelimit-reset": reset,
                     "x-ratelimit-resource": "search"}, json.dumps(load("search_commits_page1.json"))

    api.add_callback(responses.GET, SEARCH_COMMITS, callback=search)

    commits = github(clock).commits(*DAY, with_stats=False)

    # then page 2 was asked only after the reset, without a failed request in between
    assert clock.sleeps == [31.0] and len(api.calls) == 2 and len(commits) == 3


@pytest.mark.parametrize("status", [403, 429])
def test_secondary_rate_limit_honours_retry_after(api, clock, status):
    answers = iter([(status, {"Retry-After": "7"}, json.dumps(load("secondary_rate_limit.json"))),
                    (200, {}, json.dumps(load("search_issues_issues.json")))])
    api.add_callback(responses.GET, SEARCH_ISSUES, callback=lambda r: next(answers))

    issues = github(clock).issues(*DAY)

    assert clock.sleeps == [7.0]
    assert [(i.kind, i.repo, i.number, i.state) for i in issues] == [("issue", "upstream/libfoo", 982, "closed")]


def test_secondary_rate_limit_without_headers_waits_a_minute(api, clock):
    answers = iter([(403, {}, json.dumps(load("secondary_rate_limit.json"))),
                    (200, {}, json.dumps(load("search_issues_issues.json")))])
    api.add_callback(responses.GET, SEARCH_ISSUES, callback=lambda r: next(answers))

    github(clock).issues(*DAY)

    assert clock.sleeps == [60.0]


# ------------------------------------------------------------------------------------------ credentials
@pytest.mark.parametrize(("status", "fixture"), [(401, "bad_credentials.json"),
                                                 (403, "resource_not_accessible.json")])
def test_bad_credentials_raise_auth_error_naming_the_connection(api, clock, status, fixture):
    api.get(SEARCH_ISSUES, status=status, json=load(fixture))

    with pytest.raises(AuthError) as err:
        github(clock).issues(*DAY)

    assert err.value.credential == "connection 'github'" and "'github'" in str(err.value)
    assert err.value.status == status and clock.sleeps == [] and len(api.calls) == 1
    assert "ghp_not_a_real_token" not in str(err.value)


def test_auth_error_names_github_even_with_a_shared_http_client(api):
    api.post(GRAPHQL, status=401, json=load("bad_credentials.json"))
    client = GitHubClient("t", "monalisa", http=HttpClient(max_retries=0))

    with pytest.raises(AuthError, match="fix connection 'github'"):
        client.contributions_daily(*DAY)


# ------------------------------------------------------------------------------------------ GraphQL
def test_graphql_errors_are_raised_even_with_partial_data(api, clock):
    api.post(GRAPHQL, json=load("graphql_errors.json"))

    with pytest.raises(GitHubGraphQLError) as err:
        github(clock).contributions_daily(*DAY)

    assert err.value.messages == ["The total time spanned by 'from' and 'to' must not exceed 1 year",
                                  "Could not resolve to an Organization with the login of 'gone-org'."]
    assert "must not exceed 1 year" in str(err.value)


def test_graphql_rate_limited_error_is_transient(api, clock):
    api.post(GRAPHQL, json=load("graphql_rate_limited.json"))
    with pytest.raises(TransientSourceError, match="API rate limit already exceeded"):
        github(clock).contributions_daily(*DAY)


def test_contributions_calendar_days_are_cut_to_the_window(api, clock):
    api.post(GRAPHQL, json=load("graphql_contributions.json"))

    got = github(clock).contributions_daily(datetime(2026, 11, 16, tzinfo=UTC), datetime(2026, 11, 19, tzinfo=UTC))

    sent = json.loads(api.calls[0].request.body)
    assert sent["variables"] == {"login": "monalisa", "from": "2026-11-16T00:00:00Z", "to": "2026-11-18T23:59:59Z"}
    assert "contributionsCollection(from: $from, to: $to)" in sent["query"]
    assert [(d.day, d.count) for d in got.days] == [(date(2026, 11, 16), 9), (date(2026, 11, 17), 12),
                                                    (date(2026, 11, 18), 7)]
    (totals,) = got.totals
    assert (totals.commits, totals.issues, totals.pull_requests, totals.reviews, totals.restricted,
            totals.calendar_total) == (23, 1, 3, 4, 2, 33)


def test_contributions_over_two_years_are_asked_in_windows_of_at_most_a_year(api, clock):
    # given a GraphQL endpoint answering one day at each end of whatever window it is asked
    def graphql(request):
        v = json.loads(request.body)["variables"]
        first, last = v["from"][:10], v["to"][:10]
        days = [{"date": d, "contributionCount": 1, "weekday": 0, "color": "#9be9a8"} for d in (first, last)]
        body = load("graphql_contributions.json")
        coll = body["data"]["user"]["contributionsCollection"]
        coll["contributionCalendar"] = {"totalContributions": 2,
                                        "weeks": [{"firstDay": first, "contributionDays": days}]}
        return 200, {}, json.dumps(body)

    api.add_callback(responses.POST, GRAPHQL, callback=graphql)

    got = github(clock).contributions_daily(datetime(2024, 1, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC))

    windows = [(json.loads(c.request.body)["variables"]["from"], json.loads(c.request.body)["variables"]["to"])
               for c in api.calls]
    assert windows == [("2024-01-01T00:00:00Z", "2024-12-30T23:59:59Z"),
                       ("2024-12-31T00:00:00Z", "2025-12-30T23:59:59Z"),
                       ("2025-12-31T00:00:00Z", "2026-02-28T23:59:59Z")]
    assert [d.day.isoformat() for d in got.days] == ["2024-01-01", "2024-12-30", "2024-12-31", "2025-12-30",
                                                     "2025-12-31", "2026-02-28"]
    assert [(t.window_start.date(), t.window_end.date()) for t in got.totals] == [
        (date(2024, 1, 1), date(2024, 12, 31)), (date(2024, 12, 31), date(2025, 12, 31)),
        (date(2025, 12, 31), date(2026, 3, 1))]


# ------------------------------------------------------------------------------------------ PRs, reviews
def test_pull_requests_keep_merge_and_draft_state(api, clock):
    api.get(SEARCH_ISSUES, json=load("search_issues_prs.json"))

    prs = github(clock).pull_requests(*DAY)

    assert q(api.calls[0].request)["q"] == "type:pr author:monalisa created:2026-11-18T00:00:00Z..2026-11-18T23:59:59Z"
    merged, draft = prs
    assert (merged.kind, merged.repo, merged.number, merged.state) == (
        "pull_request", "octo-org/platform", 4211, "closed")
    assert merged.merged_at == datetime(2026, 11, 19, 14, 3, 39, tzinfo=UTC)
    assert (draft.repo, draft.draft, draft.merged_at, draft.state) == ("monalisa/dotfiles", True, None, "open")


def test_reviews_are_the_users_own_submitted_in_the_window(api, clock):
    # given one PR the user reviewed, with reviews before/in the window, by others, and a pending one
    api.get(SEARCH_ISSUES, json=load("search_issues_reviewed.json"))
    api.get(f"{REST}/repos/octo-org/platform/pulls/4190/reviews", json=load("pull_reviews.json"))

    reviews = github(clock).reviews(*DAY)

    # then search looked for PRs created before the window's end and updated since its start (until now)
    assert q(api.calls[0].request)["q"] == ("type:pr reviewed-by:monalisa created:<2026-11-19T00:00:00Z "
                                            "updated:2026-11-18T00:00:00Z..2026-11-23T00:00:00Z")
    assert q(api.calls[1].request) == {"per_page": "100"}
    # and only the user's own review submitted on the 18th is kept
    assert [(r.id, r.state, r.repo, r.pr_number, r.pr_title) for r in reviews] == [
        (2461120003, "APPROVED", "octo-org/platform", 4190, "Add retry policy to the upload task")]


# ------------------------------------------------------------------------------------------ events + ETag
def test_events_poll_with_etag_and_a_304_returns_the_cached_events(api, clock):
    etag = 'W/"7d1f0c5a9e"'
    answers = iter([(200, {"ETag": etag, "X-Poll-Interval": "60"}, json.dumps(load("events_page1.json"))),
                    (304, {"ETag": etag, "X-Poll-Interval": "120"}, "")])
    api.add_callback(responses.GET, f"{REST}/users/monalisa/events", callback=lambda r: next(answers))
    client = github(clock)

    first = client.events()
    again = client.events()

    assert "If-None-Match" not in api.calls[0].request.headers
    assert api.calls[1].request.headers["If-None-Match"] == etag
    assert not first.not_modified and again.not_modified
    assert again.events == first.events and [e.type for e in first.events] == [
        "PushEvent", "PullRequestEvent", "PullRequestReviewEvent"]
    assert (first.poll_interval, again.poll_interval, again.etag) == (60, 120, etag)


def test_events_etag_can_come_from_a_previous_run(api, clock):
    # given the answer a previous run stored, and a fresh client (a later Airflow run)
    api.get(f"{REST}/users/monalisa/events", status=304, headers={"ETag": 'W/"abc"'})
    stored = EventsResult(events=[], etag='W/"abc"', poll_interval=60, not_modified=False)

    result = github(clock).events(previous=stored)

    assert api.calls[0].request.headers["If-None-Match"] == 'W/"abc"' and result.not_modified


def test_enterprise_server_base_urls_are_used(api, clock):
    api.get("https://ghe.example.com/api/v3/search/issues", json=load("search_issues_issues.json"))
    api.post("https://ghe.example.com/api/graphql", json=load("graphql_contributions.json"))
    client = github(clock, rest_url="https://ghe.example.com/api/v3", graphql_url="https://ghe.example.com/api/graphql")

    assert len(client.issues(*DAY)) == 1
    assert len(client.contributions_daily(datetime(2026, 11, 16, tzinfo=UTC), DAY[1]).days) == 3
