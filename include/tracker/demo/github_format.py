"""The demo GitHub activity (github_data) rendered in GitHub's REST and GraphQL formats."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tracker.demo import github_data as gd
from tracker.demo.seeded import ZONE, hexdigest

COLORS = ((0, "#ebedf0"), (1, "#9be9a8"), (3, "#40c463"), (6, "#30a14e"), (9, "#216e39"))
_EPOCH = 1_577_836_800  # 2020-01-01


def ts(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _id(*key: object, base: int = 10_000_000) -> int:
    return base + int(hexdigest(*key, size=4), 16) % 900_000_000


def limit_headers(resource: str) -> dict[str, str]:
    limit = {"search": 30, "graphql": 5000}.get(resource, 5000)
    return {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(limit - 1), "X-RateLimit-Used": "1",
            "X-RateLimit-Reset": str(int(time.time()) + 3600), "X-RateLimit-Resource": resource,
            "X-GitHub-Api-Version-Selected": "2022-11-28"}


def user(login: str, base: str) -> dict[str, Any]:
    uid = 58_000_000 if login == gd.DEMO.login else _id("user", login)
    return {"login": login, "id": uid, "node_id": f"U_kgDO{hexdigest('node', login, size=4).upper()}",
            "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4", "gravatar_id": "",
            "url": f"{base}/users/{login}", "html_url": f"https://github.com/{login}", "type": "User",
            "user_view_type": "public", "site_admin": False}


def repository(full_name: str, base: str) -> dict[str, Any]:
    owner, name = full_name.split("/")
    return {"id": _id("repo", full_name), "node_id": f"R_kgDO{hexdigest('repo', full_name, size=4).upper()}",
            "name": name, "full_name": full_name, "private": owner == gd.current().org, "owner": user(owner, base),
            "html_url": f"https://github.com/{full_name}", "description": None, "fork": False,
            "url": f"{base}/repos/{full_name}"}


# ---------------------------------------------------------------------------------------------- commits
def _git_commit(c: gd.DemoCommit, base: str) -> dict[str, Any]:
    local = c.at.astimezone(ZONE).isoformat(timespec="milliseconds")
    person = {"name": gd.current().name, "email": gd.current().email, "date": local}
    return {"url": f"{base}/repos/{c.repo}/git/commits/{c.sha}", "author": person, "committer": person,
            "message": c.message, "tree": {"url": f"{base}/repos/{c.repo}/git/trees/{hexdigest('tree', c.sha)}",
                                           "sha": hexdigest("tree", c.sha)}, "comment_count": 0}


def _commit_common(c: gd.DemoCommit, base: str) -> dict[str, Any]:
    return {"url": f"{base}/repos/{c.repo}/commits/{c.sha}", "sha": c.sha,
            "node_id": f"C_kwDO{hexdigest('cnode', c.sha, size=6).upper()}",
            "html_url": f"https://github.com/{c.repo}/commit/{c.sha}",
            "comments_url": f"{base}/repos/{c.repo}/commits/{c.sha}/comments", "commit": _git_commit(c, base),
            "author": user(gd.current().login, base), "committer": user(gd.current().login, base),
            "parents": [{"url": f"{base}/repos/{c.repo}/commits/{c.parent}",
                         "html_url": f"https://github.com/{c.repo}/commit/{c.parent}", "sha": c.parent}]}


def search_commit(c: gd.DemoCommit, base: str) -> dict[str, Any]:
    return {**_commit_common(c, base), "repository": repository(c.repo, base), "score": 1.0}


def commit_detail(c: gd.DemoCommit, base: str) -> dict[str, Any]:
    files, left_add, left_del = [], c.additions, c.deletions
    names = ("src/app.py", "tests/test_app.py", "README.md")
    for i, name in enumerate(names):
        add = left_add if i == len(names) - 1 else left_add // 2
        dele = left_del if i == len(names) - 1 else left_del // 2
        left_add, left_del = left_add - add, left_del - dele
        files.append({"sha": hexdigest("blob", c.sha, i), "filename": name, "status": "modified", "additions": add,
                      "deletions": dele, "changes": add + dele, "patch": "@@ -1,3 +1,4 @@"})
    return {**_commit_common(c, base), "stats": {"total": c.additions + c.deletions, "additions": c.additions,
                                                  "deletions": c.deletions}, "files": files}


# ---------------------------------------------------------------------------------------------- PRs, issues
def pull_view(p: gd.DemoPull, moment: datetime) -> dict[str, Any]:
    """A PR as of `moment`: what has not happened yet (merge, close, later reviews) is not shown."""
    merged = p.merged_at if p.merged_at and p.merged_at <= moment else None
    closed = p.closed_at if p.closed_at and p.closed_at <= moment else None
    day, _ = gd.decode_number(p.number)
    reviewed = [r.submitted_at for r in gd.reviews_on(day) if r.pull.id == p.id and r.submitted_at <= moment]
    updated = max([p.created_at, *(t for t in (merged, closed) if t), *reviewed])
    return {"kind": "pr", "id": p.id, "repo": p.repo, "number": p.number, "title": p.title, "author": p.author,
            "created_at": p.created_at, "updated_at": updated, "closed_at": closed, "merged_at": merged,
            "draft": p.draft and closed is None}


def issue_view(i: gd.DemoIssue, moment: datetime) -> dict[str, Any]:
    closed = i.closed_at if i.closed_at and i.closed_at <= moment else None
    return {"kind": "issue", "id": i.id, "repo": i.repo, "number": i.number, "title": i.title,
            "author": gd.current().login,
            "created_at": i.created_at, "updated_at": closed or i.created_at, "closed_at": closed,
            "merged_at": None, "draft": None}


def issue_item(v: dict[str, Any], base: str) -> dict[str, Any]:
    repo, n, pr = v["repo"], v["number"], v["kind"] == "pr"
    html = f"https://github.com/{repo}/{'pull' if pr else 'issues'}/{n}"
    item = {
        "url": f"{base}/repos/{repo}/issues/{n}", "repository_url": f"{base}/repos/{repo}",
        "labels_url": f"{base}/repos/{repo}/issues/{n}/labels{{/name}}",
        "comments_url": f"{base}/repos/{repo}/issues/{n}/comments",
        "events_url": f"{base}/repos/{repo}/issues/{n}/events", "html_url": html, "id": v["id"],
        "node_id": f"{'PR' if pr else 'I'}_kwDO{hexdigest('inode', v['id'], size=6).upper()}", "number": n,
        "title": v["title"], "user": user(v["author"], base), "labels": [], "state": "closed" if v["closed_at"]
        else "open", "locked": False, "assignee": None, "assignees": [], "milestone": None,
        "comments": int(hexdigest("comments", v["id"], size=1), 16) % 6, "created_at": ts(v["created_at"]),
        "updated_at": ts(v["updated_at"]), "closed_at": ts(v["closed_at"]),
        "author_association": "OWNER" if repo.startswith(gd.current().login + "/") else "MEMBER", "type": None,
        "active_lock_reason": None, "body": None, "timeline_url": f"{base}/repos/{repo}/issues/{n}/timeline",
        "performed_via_github_app": None, "state_reason": ("completed" if v["closed_at"] else None), "score": 1.0,
    }
    if pr:
        item["draft"] = v["draft"]
        item["pull_request"] = {"url": f"{base}/repos/{repo}/pulls/{n}", "html_url": html,
                                "diff_url": f"{html}.diff", "patch_url": f"{html}.patch",
                                "merged_at": ts(v["merged_at"])}
        item["state_reason"] = None
    return item


def review(r: gd.DemoReview, base: str) -> dict[str, Any]:
    p = r.pull
    html = f"https://github.com/{p.repo}/pull/{p.number}"
    return {"id": r.id, "node_id": f"PRR_kwDO{hexdigest('rnode', r.id, size=6).upper()}",
            "user": user(r.reviewer, base), "body": "" if r.state == "APPROVED" else "A few comments inline.",
            "state": r.state, "html_url": f"{html}#pullrequestreview-{r.id}",
            "pull_request_url": f"{base}/repos/{p.repo}/pulls/{p.number}", "author_association": "MEMBER",
            "_links": {"html": {"href": f"{html}#pullrequestreview-{r.id}"},
                       "pull_request": {"href": f"{base}/repos/{p.repo}/pulls/{p.number}"}},
            "submitted_at": ts(r.submitted_at), "commit_id": hexdigest("head", p.id)}


# ---------------------------------------------------------------------------------------------- GraphQL
def _color(count: int) -> str:
    return [c for low, c in COLORS if count >= low][-1]


def contributions(first: date, last: date, moment: datetime) -> dict[str, Any]:
    """contributionsCollection for the calendar days first..last (Europe/Berlin days)."""
    spread = [first + timedelta(days=i) for i in range(-1, (last - first).days + 2)]
    kinds: Counter[tuple[str, date]] = Counter()
    for d in spread:
        items = ([("commit", c.at) for c in gd.commits_on(d)] + [("pr", p.created_at) for p in gd.pulls_on(d)]
                 + [("issue", i.created_at) for i in gd.issues_on(d)]
                 + [("review", r.submitted_at) for r in gd.reviews_on(d) if r.reviewer == gd.current().login])
        for kind, at in items:
            if at <= moment:
                kinds[(kind, at.astimezone(ZONE).date())] += 1
    weeks: dict[date, list[dict[str, Any]]] = {}
    totals: Counter[str] = Counter()
    for i in range((last - first).days + 1):
        d = first + timedelta(days=i)
        per_kind = {k: kinds[(k, d)] for k in ("commit", "pr", "issue", "review")}
        totals.update(per_kind)
        count = sum(per_kind.values())
        weekday = (d.weekday() + 1) % 7  # GitHub: 0 = Sunday
        weeks.setdefault(d - timedelta(days=weekday), []).append(
            {"date": d.isoformat(), "contributionCount": count, "weekday": weekday, "color": _color(count)})
    return {"totalCommitContributions": totals["commit"], "totalIssueContributions": totals["issue"],
            "totalPullRequestContributions": totals["pr"], "totalPullRequestReviewContributions": totals["review"],
            "restrictedContributionsCount": 0,
            "contributionCalendar": {"totalContributions": sum(totals.values()), "weeks": [
                {"firstDay": start.isoformat(), "contributionDays": days} for start, days in sorted(weeks.items())]}}


# ---------------------------------------------------------------------------------------------- events
def _event(kind: str, at: datetime, repo: str, payload: dict[str, Any], base: str, k: int) -> dict[str, Any]:
    event = {"id": str(40_000_000_000 + (int(at.timestamp()) - _EPOCH) * 8 + k), "type": kind,
             "actor": {**{x: user(gd.current().login, base)[x]
                          for x in ("id", "login", "gravatar_id", "url", "avatar_url")},
                       "display_login": gd.current().login},
             "repo": {"id": _id("repo", repo), "name": repo, "url": f"{base}/repos/{repo}"}, "payload": payload,
             "public": not repo.startswith(gd.current().org + "/"), "created_at": ts(at), "_at": at}
    if repo.startswith(gd.current().org + "/"):
        org = gd.current().org
        org_id = _id("org", *gd.current().salt)
        event["org"] = {"id": org_id, "login": org, "gravatar_id": "", "url": f"{base}/orgs/{org}",
                        "avatar_url": f"https://avatars.githubusercontent.com/u/{org_id}?"}
    return event


def events_for(days: Iterable[date], base: str) -> Iterator[dict[str, Any]]:
    """PushEvent per commit, PullRequestEvent per opened PR, PullRequestReviewEvent, IssuesEvent."""
    for d in days:
        for c in gd.commits_on(d):
            yield _event("PushEvent", c.at + timedelta(minutes=2), c.repo, {
                "repository_id": _id("repo", c.repo), "push_id": _id("push", c.sha, base=20_000_000_000),
                "ref": "refs/heads/main", "head": c.sha, "before": c.parent}, base, 0)
        for p in gd.pulls_on(d):
            yield _event("PullRequestEvent", p.created_at, p.repo, {"action": "opened", "number": p.number,
                         "pull_request": {"url": f"{base}/repos/{p.repo}/pulls/{p.number}", "id": p.id,
                                          "number": p.number}}, base, 1)
        for r in gd.reviews_on(d):
            if r.reviewer == gd.current().login:
                yield _event("PullRequestReviewEvent", r.submitted_at, r.pull.repo, {"action": "created", "review": {
                    "id": r.id, "state": r.state.lower(), "submitted_at": ts(r.submitted_at)}, "pull_request": {
                    "url": f"{base}/repos/{r.pull.repo}/pulls/{r.pull.number}", "number": r.pull.number}}, base, 2)
        for i in gd.issues_on(d):
            yield _event("IssuesEvent", i.created_at, i.repo, {"action": "opened", "issue": {
                "id": i.id, "number": i.number, "title": i.title}}, base, 3)
