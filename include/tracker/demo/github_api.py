"""Fake GitHub under `/github/api` (GHES-style layout: REST at /github/api, GraphQL at /github/api/graphql).

Serves, in GitHub's formats: GraphQL `user.contributionsCollection`, `GET /search/commits`, `GET /search/issues`
(pull requests, reviewed-by, issues; Link pagination, the 1000-result window), `GET /repos/{o}/{r}/commits/{sha}`
(with stats), `GET /repos/{o}/{r}/pulls/{n}/reviews` and `GET /users/{login}/events` (ETag → 304). The users are
`demo-user` and its seeded variants `demo-user-<key>` (see `github_data.developer`); any bearer token except
`bad` is accepted. Calendar days follow Europe/Berlin. Requests are counted per login (`subject`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from tracker.demo import github_data as gd
from tracker.demo import github_format as fmt
from tracker.demo.seeded import FIRST_DAY, ZONE, header, hexdigest, now, parse_time
from tracker.demo.server import DemoRequest, DemoResponse, Route, counted

PREFIX = "/github/api"
_SEC = timedelta(seconds=1)
_FAR = datetime(9000, 1, 1, tzinfo=UTC)
_EARLY = datetime(2000, 1, 1, tzinfo=UTC)
Span = tuple[datetime, datetime]  # [lo, hi)


def _error(status: int, message: str, **extra: Any) -> DemoResponse:
    return DemoResponse(status, {"message": message, "documentation_url": "https://docs.github.com/rest",
                                 "status": str(status), **extra})


def _span(value: str) -> Span:
    """A search date qualifier's value ('A..B', '>=A', '<B', 'A', '*' ends) as a half-open span."""
    def start(v: str) -> datetime:
        return parse_time(v)

    def stop(v: str) -> datetime:  # inclusive end → exclusive: a date covers its day, a time its second
        return parse_time(v) + (timedelta(days=1) if len(v.strip()) == 10 else _SEC)

    for op, span in ((">=", lambda v: (start(v), _FAR)), ("<=", lambda v: (_EARLY, stop(v))),
                     (">", lambda v: (stop(v), _FAR)), ("<", lambda v: (_EARLY, start(v)))):
        if value.startswith(op):
            return span(value[len(op):])
    if ".." in value:
        a, b = value.split("..", 1)
        return (_EARLY if a in ("", "*") else start(a)), (_FAR if b in ("", "*") else stop(b))
    return start(value), stop(value)


def _qualifiers(q: str) -> dict[str, str]:
    return dict(part.split(":", 1) for part in q.split() if ":" in part)


def _days(spans: list[Span], moment: datetime, margin: int = 4) -> list[date]:
    lo = max([FIRST_DAY] + [s[0].astimezone(ZONE).date() - timedelta(days=margin) for s in spans])
    hi = min([moment.astimezone(ZONE).date()] + [s[1].astimezone(ZONE).date() + timedelta(days=1) for s in spans])
    return [lo + timedelta(days=i) for i in range((hi - lo).days + 1)]


def _inside(value: datetime | None, span: Span) -> bool:
    return value is not None and span[0] <= value < span[1]


class _Call:
    """One request: `moment` is the demo's now, `base` the REST root as the client reached it."""

    def __init__(self, moment: datetime, base: str) -> None:
        self.moment = moment
        self.base = base

    def dispatch(self, req: DemoRequest) -> DemoResponse:
        path, routes = req.subpath.rstrip("/"), self._routes()
        for pattern, (method, handler) in routes.items():
            if (m := re.fullmatch(pattern, path)) and req.method == method:
                resp = handler(req, *m.groups())
                resp.headers.update(fmt.limit_headers("graphql" if path == "/graphql" else
                                                      "search" if path.startswith("/search") else "core"))
                return resp
        return _error(404, "Not Found")

    def _routes(self) -> dict[str, tuple[str, Callable[..., DemoResponse]]]:
        return {r"/graphql": ("POST", self.graphql), r"/search/commits": ("GET", self.search_commits),
                r"/search/issues": ("GET", self.search_issues),
                r"/repos/([^/]+/[^/]+)/commits/([0-9a-f]{40})": ("GET", self.commit),
                r"/repos/([^/]+/[^/]+)/pulls/(\d+)/reviews": ("GET", self.reviews),
                r"/users/([^/]+)/events": ("GET", self.events)}

    # ------------------------------------------------------------------------------------------ paging
    def _page(self, req: DemoRequest, items: list[Any], *, default: int = 30, cap: int | None = None
              ) -> tuple[list[Any], dict[str, str]] | DemoResponse:
        per_page = max(1, min(100, int(req.query.get("per_page", [default])[0])))
        page = max(1, int(req.query.get("page", ["1"])[0]))
        reachable = items[:cap] if cap else items
        if cap and (page - 1) * per_page >= cap:
            return _error(422, f"Only the first {cap} search results are available")
        last = max(1, -(-len(reachable) // per_page))
        links = {"next": page + 1, "last": last} if page < last else {}
        if page > 1:
            links = {"prev": page - 1, "first": 1, **links}
        query = {k: v[0] for k, v in req.query.items()}
        link = ", ".join(f'<{self.base}{req.subpath}?{urlencode({**query, "page": p})}>; rel="{rel}"'
                         for rel, p in links.items())
        return reachable[(page - 1) * per_page: page * per_page], ({"Link": link} if link else {})

    # ------------------------------------------------------------------------------------------ GraphQL
    def graphql(self, req: DemoRequest) -> DemoResponse:
        body = json.loads(req.body or b"{}")
        variables = body.get("variables") or {}
        if "contributionsCollection" not in body.get("query", ""):
            return DemoResponse(200, {"errors": [{"message": "the demo answers contributionsCollection only"}]})
        login = variables.get("login")
        if login != gd.current().login:
            return DemoResponse(200, {"data": {"user": None}, "errors": [{
                "type": "NOT_FOUND", "path": ["user"], "locations": [{"line": 3, "column": 3}],
                "message": f"Could not resolve to a User with the login of '{login}'."}]})
        start, end = parse_time(variables["from"]), parse_time(variables["to"])
        if end - start > timedelta(days=366):
            return DemoResponse(200, {"data": None, "errors": [{
                "path": ["user", "contributionsCollection"], "locations": [{"line": 4, "column": 5}],
                "message": "The total time spanned by 'from' and 'to' must not exceed 1 year"}]})
        return DemoResponse(200, {"data": {"user": {"contributionsCollection": fmt.contributions(
            start.date(), end.date(), self.moment)}}})

    # ------------------------------------------------------------------------------------------ search
    def search_commits(self, req: DemoRequest) -> DemoResponse:
        q = _qualifiers(req.query.get("q", [""])[0])
        if q.get("author") != gd.current().login:
            return _error(422, "Validation Failed", errors=[{"message": "The listed users cannot be searched "
                          "either because the users do not exist or you do not have permission to view the "
                          "users.", "resource": "Search", "field": "q", "code": "invalid"}])
        span = _span(q.get("author-date") or q.get("committer-date") or "*..*")
        found = [c for d in _days([span], self.moment, 1) for c in gd.commits_on(d)
                 if _inside(c.at, span) and c.at <= self.moment]
        found.sort(key=lambda c: (c.at, c.sha), reverse=req.query.get("order", ["desc"])[0] != "asc")
        return self._search(req, found, lambda c: fmt.search_commit(c, self.base))

    def search_issues(self, req: DemoRequest) -> DemoResponse:
        q = _qualifiers(req.query.get("q", [""])[0])
        user = q.get("author") or q.get("reviewed-by")
        if user != gd.current().login:
            return _error(422, "Validation Failed", errors=[{"message": "The listed users cannot be searched.",
                                                             "resource": "Search", "field": "q", "code": "invalid"}])
        spans = {k: _span(q[k]) for k in ("created", "updated", "closed", "merged") if k in q}
        days = _days(list(spans.values()), self.moment)
        kind = q.get("type") or q.get("is")
        if kind == "pr" and "reviewed-by" in q:
            pulls = {r.pull.id: r.pull for d in days for r in gd.reviews_on(d)
                     if r.reviewer == gd.current().login and r.submitted_at <= self.moment}
            views = [fmt.pull_view(p, self.moment) for p in pulls.values()]
        elif kind == "pr":
            views = [fmt.pull_view(p, self.moment) for d in days for p in gd.pulls_on(d)]
        else:
            views = [fmt.issue_view(i, self.moment) for d in days for i in gd.issues_on(d)]
        views = [v for v in views if v["created_at"] <= self.moment
                 and all(_inside(v[f"{k}_at"], s) for k, s in spans.items())]
        sort = req.query.get("sort", ["created"])[0]
        views.sort(key=lambda v: (v[f"{sort}_at"] if sort in ("created", "updated") else v["created_at"], v["id"]),
                   reverse=req.query.get("order", ["desc"])[0] != "asc")
        return self._search(req, views, lambda v: fmt.issue_item(v, self.base))

    def _search(self, req: DemoRequest, found: list[Any], render: Callable[[Any], dict]) -> DemoResponse:
        paged = self._page(req, found, cap=1000)
        if isinstance(paged, DemoResponse):
            return paged
        items, headers = paged
        return DemoResponse(200, {"total_count": len(found), "incomplete_results": False,
                                  "items": [render(x) for x in items]}, headers)

    # ------------------------------------------------------------------------------------------ details
    def commit(self, req: DemoRequest, repo: str, sha: str) -> DemoResponse:
        where = gd.decode_sha(sha)
        if where is not None and where[0] >= FIRST_DAY:
            for c in gd.commits_on(where[0]):
                if c.sha == sha and c.repo == repo and c.at <= self.moment:
                    return DemoResponse(200, fmt.commit_detail(c, self.base))
        return _error(422, f"No commit found for SHA: {sha}")

    def reviews(self, req: DemoRequest, repo: str, number: str) -> DemoResponse:
        day, _ = gd.decode_number(int(number))
        if day < FIRST_DAY or day > self.moment.date():
            return _error(404, "Not Found")
        reviews = [r for r in gd.reviews_on(day) if r.pull.repo == repo and r.pull.number == int(number)]
        own = [p for p in gd.pulls_on(day) if p.repo == repo and p.number == int(number)]
        if not reviews and not own:
            return _error(404, "Not Found")
        shown = [fmt.review(r, self.base) for r in reviews if r.submitted_at <= self.moment]
        paged = self._page(req, shown)
        assert not isinstance(paged, DemoResponse)
        return DemoResponse(200, paged[0], paged[1])

    def events(self, req: DemoRequest, login: str) -> DemoResponse:
        if login != gd.current().login:
            return _error(404, "Not Found")
        since = self.moment - timedelta(days=30)
        days = _days([(since, self.moment)], self.moment, 1)
        events = sorted((e for e in fmt.events_for(days, self.base) if since <= e["_at"] <= self.moment),
                        key=lambda e: e["_at"], reverse=True)[:300]
        paged = self._page(req, [{k: v for k, v in e.items() if k != "_at"} for e in events])
        assert not isinstance(paged, DemoResponse)
        items, headers = paged
        etag = f'W/"{hexdigest(json.dumps(items, sort_keys=True), size=16)}"'
        headers = {**headers, "ETag": etag, "X-Poll-Interval": "60",
                   "Cache-Control": "private, max-age=60, s-maxage=60"}
        if header(req.headers, "If-None-Match") == etag:
            return DemoResponse(304, b"", headers)
        return DemoResponse(200, items, headers)


def _login(req: DemoRequest) -> str | None:
    """The login a request is about: GraphQL `login`, a search's author/reviewed-by, the events path, else the
    owner's developer of a repository path (commit and review details)."""
    path = req.subpath.rstrip("/")
    if path == "/graphql":
        try:
            return (json.loads(req.body or b"{}").get("variables") or {}).get("login")
        except (ValueError, AttributeError):
            return None
    if path.startswith("/search/"):
        q = _qualifiers(req.query.get("q", [""])[0])
        return q.get("author") or q.get("reviewed-by")
    if m := re.fullmatch(r"/users/([^/]+)/events", path):
        return m.group(1)
    if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/.*", path):
        dev = gd.developer_of_repo(m.group(1))
        return dev.login if dev else None
    return None


def subject(req: DemoRequest) -> str:
    """Whose requests these are: the login, else the token (GitHub counts per token)."""
    auth = (header(req.headers, "Authorization") or "").split()
    return _login(req) or f"token:{auth[-1] if auth else ''}"


def routes(today: date | None = None) -> dict[str, Route]:
    @counted("github", subject)
    def github(req: DemoRequest) -> DemoResponse:
        auth = header(req.headers, "Authorization") or ""
        if not re.fullmatch(r"(?i)(bearer|token) \S+", auth) or auth.split()[1] == "bad":
            return _error(401, "Bad credentials")
        base = f"http://{header(req.headers, 'Host') or 'localhost'}{PREFIX}"
        with gd.acting_as(gd.developer(_login(req)) or gd.DEMO):
            return _Call(now(today), base).dispatch(req)

    return {PREFIX: github}
