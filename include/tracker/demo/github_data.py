"""The demo developer's GitHub activity, a pure function of the local (Europe/Berlin) day.

Weekdays: 2–8 commits in working hours, a late-night session one day in four, pull requests most days and
reviews of teammates' pull requests; weekends: an occasional side-project session. Commit SHAs and PR/issue
numbers encode their day, so detail endpoints can regenerate an item from its identifier alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from tracker.demo.seeded import FIRST_DAY, between, hexdigest, local, pick, u

LOGIN = "demo-user"
NAME, EMAIL = "Demo User", "demo.user@example.com"
ORG = "acme"
TEAM = ("alice-dev", "bob-ops", "chen-li", "dana-k")
WORK_REPOS = ("acme/platform", "acme/web-app", "acme/data-pipeline")
OWN_REPOS = (f"{LOGIN}/tracker", f"{LOGIN}/dotfiles")
_BASE = FIRST_DAY.toordinal()
_SLOTS = 8  # PR/issue numbers per day: 0–1 own PRs, 2–4 reviewed PRs, 5–6 issues
MESSAGES = (
    "Fix off-by-one in pagination", "Add retry to upload step", "Refactor config loading", "Update dependencies",
    "Handle empty response body", "Add tests for the parser", "Tidy up logging", "Speed up the nightly job",
    "Document the deploy process", "Rename confusing variables", "Guard against missing time zone",
    "Remove dead code", "Cache lookups within a run", "Bump CI image", "Fix flaky integration test",
)
PR_TITLES = (
    "Add backfill command", "Make the loader idempotent", "Switch to keyset pagination", "Add metrics endpoint",
    "Migrate CI to the new runners", "Support GHES base URLs", "Split the monolithic settings module",
    "Add quarantine for invalid rows", "Improve error messages for bad credentials", "Add dark mode",
)
ISSUE_TITLES = (
    "Nightly job failed with a timeout", "Docs: setup steps are out of date", "Support Python 3.12",
    "Crash when the config file is empty", "Add an option to skip weekends", "Dashboard shows UTC instead of local",
)


@dataclass(frozen=True)
class DemoCommit:
    sha: str
    repo: str
    at: datetime  # UTC
    message: str
    additions: int
    deletions: int
    parent: str


@dataclass(frozen=True)
class DemoPull:
    id: int
    repo: str
    number: int
    title: str
    author: str
    created_at: datetime
    merged_at: datetime | None  # may lie after "now": the API hides what has not happened yet
    closed_at: datetime | None
    draft: bool


@dataclass(frozen=True)
class DemoReview:
    id: int
    pull: DemoPull
    reviewer: str
    state: str
    submitted_at: datetime


@dataclass(frozen=True)
class DemoIssue:
    id: int
    repo: str
    number: int
    title: str
    created_at: datetime
    closed_at: datetime | None


def _index(day: date) -> int:
    return day.toordinal() - _BASE


def sha_for(day: date, i: int) -> str:
    return f"{_index(day):05x}{i:02x}" + hexdigest("sha", day, i)[:33]


def decode_sha(sha: str) -> tuple[date, int] | None:
    try:
        return date.fromordinal(int(sha[:5], 16) + _BASE), int(sha[5:7], 16)
    except ValueError:
        return None


def number_for(day: date, slot: int) -> int:
    return 100 + _index(day) * _SLOTS + slot


def decode_number(number: int) -> tuple[date, int]:
    index, slot = divmod(number - 100, _SLOTS)
    return date.fromordinal(index + _BASE), slot


def _item_id(*key: object) -> int:
    return 1_000_000_000 + int(hexdigest(*key, size=4), 16) % 1_000_000_000


def commits_on(day: date) -> list[DemoCommit]:
    weekday = day.weekday() < 5
    times: list[tuple[float, bool]] = []  # (local minutes, work?)
    if weekday:
        times += [(between(9 * 60, 18.5 * 60, "c", day, k), True) for k in range(2 + int(u("n", day) * 7))]
    elif u("weekend", day) < 0.35:
        times += [(between(11 * 60, 17 * 60, "w", day, k), False) for k in range(1 + int(u("wn", day) * 3))]
    if u("late", day) < 0.25:
        times += [(between(22 * 60, 25.5 * 60, "l", day, k), False) for k in range(1 + int(u("ln", day) * 3))]
    out = []
    for i, (minutes, work) in enumerate(sorted(times)):
        repo = pick(WORK_REPOS, "wr", day, i) if work and u("own", day, i) > 0.25 else pick(OWN_REPOS, "or", day, i)
        size = u("size", day, i)
        additions = int(3 + size**3 * 400)
        out.append(DemoCommit(sha_for(day, i), repo, local(day, minutes).replace(microsecond=0),
                              pick(MESSAGES, "m", day, i), additions, int(additions * between(0.05, 0.9, "d", day, i)),
                              hexdigest("parent", day, i)))
    return out


def _pull(day: date, slot: int, author: str, created: datetime, reviewed: datetime | None = None) -> DemoPull:
    number = number_for(day, slot)
    repo = pick(WORK_REPOS, "pr", day, slot)
    fate = u("fate", day, slot)
    done = (reviewed or created) + timedelta(hours=between(2, 52, "merge", day, slot))
    merged = done if fate < 0.75 else None
    closed = done if fate < 0.85 else None
    return DemoPull(_item_id("pr", repo, number), repo, number, pick(PR_TITLES, "t", day, slot), author, created,
                    merged, closed, draft=u("draft", day, slot) < 0.1)


def pulls_on(day: date) -> list[DemoPull]:
    """Pull requests the demo user opened on `day`."""
    if day.weekday() >= 5:
        return []
    n = 0 if u("prs", day) < 0.45 else (1 if u("prs2", day) < 0.8 else 2)
    return [_pull(day, s, LOGIN, local(day, between(10 * 60, 17 * 60, "pc", day, s)).replace(microsecond=0))
            for s in range(n)]


def reviews_on(day: date) -> list[DemoReview]:
    """Reviews of teammates' pull requests on `day`: the demo user's, plus a teammate's on the same PR."""
    if day.weekday() >= 5:
        return []
    out = []
    for slot in range(2, 2 + int(u("rv", day) * 4)):
        at = local(day, between(9.5 * 60, 17.5 * 60, "ra", day, slot)).replace(microsecond=0)
        author = pick(TEAM, "ra", day, slot)
        pull = _pull(day, slot, author, at - timedelta(hours=between(1, 20, "rc", day, slot)), reviewed=at)
        state = pick(("APPROVED",) * 12 + ("CHANGES_REQUESTED",) * 3 + ("COMMENTED",) * 5, "rs", day, slot)
        other = pick([t for t in TEAM if t != author], "ro", day, slot)
        out.append(DemoReview(_item_id("rv", pull.id), pull, LOGIN, state, at))
        out.append(DemoReview(_item_id("rv2", pull.id), pull, other, "APPROVED", at + timedelta(minutes=47)))
    return out


def issues_on(day: date) -> list[DemoIssue]:
    if u("issue", day) >= (0.2 if day.weekday() < 5 else 0.1):
        return []
    number = number_for(day, 5)
    repo = pick(WORK_REPOS + OWN_REPOS, "ir", day)
    created = local(day, between(9 * 60, 22 * 60, "ic", day)).replace(microsecond=0)
    closed = created + timedelta(days=between(1, 10, "icl", day)) if u("iclose", day) < 0.6 else None
    return [DemoIssue(_item_id("is", repo, number), repo, number, pick(ISSUE_TITLES, "it", day), created, closed)]
