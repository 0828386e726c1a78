"""GitHub client: contribution calendar (GraphQL), commits, pull requests, reviews, issues (search) and the
user's event feed (ETag polling), for half-open UTC windows [start, end).

Base URLs are configurable for GitHub Enterprise Server (`https://HOST/api/v3`, `https://HOST/api/graphql`).
Rate limits are handled by `GitHubHttp` (see ratelimit.py); 401/403 bad credentials raise `AuthError` naming
the credential to fix.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from tracker.http import (
    AuthError,
    HttpClient,
    JsonResponse,
    PermanentSourceError,
    TransientSourceError,
    credential_label,
)
from tracker.sources.github import search
from tracker.sources.github.models import (
    SOURCE,
    Commit,
    CommitDetail,
    CommitStats,
    ContributionDay,
    Contributions,
    ContributionsCollection,
    ContributionTotals,
    EventItem,
    EventsResult,
    Issue,
    Review,
    ReviewItem,
    SearchCommitItem,
)
from tracker.sources.github.ratelimit import GitHubHttp
from tracker.sources.github.rows import commit_row, event_row, issue_row
from tracker.sources.validation import parse

log = logging.getLogger(__name__)

GRAPHQL_MAX_SPAN = timedelta(days=365)  # contributionsCollection rejects from..to longer than one year
CONTRIBUTIONS_QUERY = """
query($login: String!, $from: DateTime!, $to: DateTime!) {
  user(login: $login) {
    contributionsCollection(from: $from, to: $to) {
      totalCommitContributions totalIssueContributions totalPullRequestContributions
      totalPullRequestReviewContributions restrictedContributionsCount
      contributionCalendar { totalContributions weeks { firstDay contributionDays {
        date contributionCount weekday color } } }
    }
  }
}
"""


class GitHubGraphQLError(PermanentSourceError):
    """The GraphQL answer carried an `errors` array (even alongside partial data)."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__(f"GitHub GraphQL errors: {'; '.join(messages)}", reason="; ".join(messages))
        self.messages = messages


def _utc(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    return start.astimezone(UTC), end.astimezone(UTC)


class GitHubClient:
    def __init__(self, token: str, login: str, rest_url: str = "https://api.github.com",
                 graphql_url: str = "https://api.github.com/graphql", http: HttpClient | None = None,
                 credential: str | None = "github", *, now: Callable[[], datetime] | None = None) -> None:
        self.login = login
        self.rest_url = rest_url.rstrip("/")
        self.graphql_url = graphql_url
        self.credential = credential  # labels what to fix when GitHub refuses the token
        self.http = http or GitHubHttp(credential=credential)
        self.now = now or (lambda: datetime.now(UTC))
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
                         "X-GitHub-Api-Version": "2022-11-28"}
        self._stats: dict[str, CommitStats | None] = {}  # sha → stats, for this client's lifetime (one run)
        self._events: EventsResult | None = None  # the last events answer, for If-None-Match

    # ------------------------------------------------------------------------------------------ transport
    def _call(self, method: str, url: str, params: dict[str, Any] | None = None, *, json: Any = None,
              headers: dict[str, str] | None = None) -> JsonResponse:
        try:
            return self.http.request_json(method, url, params=params, json=json,
                                          headers={**self._headers, **(headers or {})})
        except AuthError as exc:  # a shared HttpClient may not know which credential it serves
            if self.credential is None or exc.credential == credential_label(self.credential):
                raise
            raise AuthError(self.credential, status=exc.status, reason=exc.reason) from None

    def _get(self, url: str, params: dict[str, Any] | None) -> JsonResponse:
        return self._call("GET", url, params)

    def _graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        body = self._call("POST", self.graphql_url, json={"query": query, "variables": variables}).data
        if not isinstance(body, dict):
            raise PermanentSourceError(f"GitHub GraphQL: expected an object, got {type(body).__name__}")
        if errors := body.get("errors"):
            messages = [str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors]
            if any(isinstance(e, dict) and e.get("type") == "RATE_LIMITED" for e in errors):
                raise TransientSourceError(f"GitHub GraphQL rate limited: {'; '.join(messages)}")
            raise GitHubGraphQLError(messages)
        return body.get("data") or {}

    # ------------------------------------------------------------------------------------------ GraphQL
    def contributions_daily(self, start: datetime, end: datetime) -> Contributions:
        """Calendar days with start.date() <= day <= (end − 1 µs).date(), and the totals of each ≤ 1-year
        GraphQL window the range was split into."""
        start, end = _utc(start, end)
        days: dict[Any, ContributionDay] = {}
        totals = []
        lo = start
        while lo < end:
            hi = min(end, lo + GRAPHQL_MAX_SPAN)
            data = self._graphql(CONTRIBUTIONS_QUERY, {"login": self.login, "from": search.iso(lo),
                                                       "to": search.iso(hi - timedelta(seconds=1))})
            user = data.get("user")
            coll = parse(ContributionsCollection, (user or {}).get("contributionsCollection"), source=SOURCE,
                         where="data.user.contributionsCollection")
            totals.append(ContributionTotals(
                lo, hi, coll.totalCommitContributions, coll.totalIssueContributions,
                coll.totalPullRequestContributions, coll.totalPullRequestReviewContributions,
                coll.restrictedContributionsCount, coll.contributionCalendar.totalContributions))
            for week in coll.contributionCalendar.weeks:
                for d in week.contributionDays:
                    days.setdefault(d.date, ContributionDay(d.date, d.contributionCount, d.weekday, d.color))
            lo = hi
        first, last = start.date(), (end - timedelta(microseconds=1)).date()
        return Contributions([days[k] for k in sorted(days) if first <= k <= last], totals)

    # ------------------------------------------------------------------------------------------ search
    def _search(self, kind: str, base_query: str, qualifier: str, lo: datetime, hi: datetime,
                sort: str) -> list[Any]:
        return search.search(self._get, f"{self.rest_url}/search/{kind}", base_query, qualifier, lo, hi, sort)

    def commits(self, start: datetime, end: datetime, *, with_stats: bool = True) -> list[Commit]:
        """Commits authored by the user in [start, end) (by author date), oldest first, one per (repo, sha);
        with line counts unless `with_stats=False`."""
        start, end = _utc(start, end)
        items = self._search("commits", f"author:{self.login}", "author-date", start, end, "author-date")
        rows: dict[tuple[str, str], Commit] = {}
        for i, item in enumerate(items):
            row = commit_row(parse(SearchCommitItem, item, source=SOURCE, where=f"items[{i}]"), item)
            if start <= row.authored_at < end:
                rows.setdefault((row.repo, row.sha), row)
        out = sorted(rows.values(), key=lambda c: (c.authored_at, c.repo, c.sha))
        if with_stats:
            out = [self._with_stats(c) for c in out]
        return out

    def _with_stats(self, commit: Commit) -> Commit:
        stats = self.commit_stats(commit.repo, commit.sha)
        if stats is None:
            return commit
        return dataclasses.replace(commit, additions=stats.additions, deletions=stats.deletions)

    def commit_stats(self, repo: str, sha: str) -> CommitStats | None:
        """Additions/deletions of a commit (cached by sha); None when GitHub has none or the repo is gone."""
        if sha not in self._stats:
            try:
                data = self._get(f"{self.rest_url}/repos/{repo}/commits/{sha}", None).data
            except PermanentSourceError as exc:  # AuthError (401/403) is re-raised here
                if exc.status not in (404, 409, 422):
                    raise
                log.warning("no stats for %s@%s: %s", repo, sha, exc)
                data = None
            self._stats[sha] = parse(CommitDetail, data, source=SOURCE, where="commit").stats if data else None
        return self._stats[sha]

    def pull_requests(self, start: datetime, end: datetime) -> list[Issue]:
        """Pull requests the user opened in [start, end)."""
        return self._issues(f"type:pr author:{self.login}", start, end)

    def issues(self, start: datetime, end: datetime) -> list[Issue]:
        """Issues the user opened in [start, end)."""
        return self._issues(f"type:issue author:{self.login}", start, end)

    def _issues(self, base_query: str, start: datetime, end: datetime) -> list[Issue]:
        start, end = _utc(start, end)
        items = self._search("issues", base_query, "created", start, end, "created")
        rows = {row.id: row for row in (issue_row(item, i) for i, item in enumerate(items))
                if start <= row.created_at < end}
        return sorted(rows.values(), key=lambda r: (r.created_at, r.id))

    def reviews(self, start: datetime, end: datetime) -> list[Review]:
        """Reviews the user submitted in [start, end).

        Search finds pull requests `reviewed-by` the user that were created before `end` and updated since
        `start` (a review updates the PR, so every PR reviewed in the window matches); each one's reviews
        are then read and the user's own, submitted in the window, kept.
        """
        start, end = _utc(start, end)
        until = max(end, self.now().astimezone(UTC) + timedelta(seconds=1))
        base = f"type:pr reviewed-by:{self.login} created:<{search.iso(end)}"
        prs = [issue_row(item, i) for i, item in enumerate(self._search("issues", base, "updated", start, until,
                                                                            "updated"))]
        out: dict[int, Review] = {}
        for pr in {p.id: p for p in prs}.values():
            url = f"{self.rest_url}/repos/{pr.repo}/pulls/{pr.number}/reviews"
            for resp in search.paged(self._get, url, {"per_page": search.PER_PAGE}):
                for i, item in enumerate(resp.data if isinstance(resp.data, list) else []):
                    r = parse(ReviewItem, item, source=SOURCE, where=f"reviews[{i}]")
                    mine = r.user is not None and r.user.login.lower() == self.login.lower()
                    if mine and r.submitted_at is not None and start <= r.submitted_at < end:
                        out[r.id] = Review(r.id, pr.repo, pr.number, pr.title, r.state, r.submitted_at,
                                           r.html_url, item)
        return sorted(out.values(), key=lambda r: (r.submitted_at, r.id))

    # ------------------------------------------------------------------------------------------ events
    def events(self, previous: EventsResult | None = None, *, max_pages: int = 3) -> EventsResult:
        """The user's recent events (GitHub keeps 30 days, ≤ 300 events). Sends `If-None-Match` with the
        ETag of `previous` (or of this client's last call): a 304 returns the cached events."""
        url = f"{self.rest_url}/users/{self.login}/events"
        cached = previous or self._events
        headers = {"If-None-Match": cached.etag} if cached and cached.etag else {}
        first = self._call("GET", url, {"per_page": search.PER_PAGE}, headers=headers)
        poll = first.headers.get("X-Poll-Interval")
        poll_interval = int(poll) if poll and poll.isdigit() else None
        if first.status == 304:
            if cached is None:
                raise PermanentSourceError("GitHub events: 304 Not Modified without a cached answer")
            return dataclasses.replace(cached, not_modified=True, poll_interval=poll_interval or cached.poll_interval)
        events, resp = [], first
        for page in range(max_pages):
            if page:
                link = search.next_link(resp.headers.get("Link"))
                if not link:
                    break
                resp = self._get(link, None)
            for i, item in enumerate(resp.data if isinstance(resp.data, list) else []):
                events.append(event_row(parse(EventItem, item, source=SOURCE, where=f"events[{i}]"), item))
        self._events = EventsResult(events, first.headers.get("ETag"), poll_interval, not_modified=False)
        return self._events
