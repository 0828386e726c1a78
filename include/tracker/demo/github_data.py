"""The demo developer's GitHub activity, a pure function of the local (Europe/Berlin) day.

Weekdays: 2–8 commits in working hours, a late-night session one day in four, pull requests most days and
reviews of teammates' pull requests; weekends: an occasional side-project session. Commit SHAs and PR/issue
numbers encode their day, so detail endpoints can regenerate an item from its identifier alone.

Many developers: `demo-user` is the demo developer; `demo-user-<key>` (key `[a-z0-9_]+`, e.g. `p01`) is a seeded
variant (every seed also takes the key) working in the org `acme-<key>` and their own `demo-user-<key>/…`
repositories, so a repository names its developer. The functions below generate the *current* developer's
activity (`acting_as(developer)`, a context variable: each demo request sets its own), by default the demo
developer, unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TypeVar

from tracker.demo.seeded import FIRST_DAY, between, hexdigest, local, pick, u

T = TypeVar("T")

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
class Developer:
    login: str
    name: str
    email: str
    org: str
    salt: tuple[str, ...] = ()

    @property
    def work_repos(self) -> tuple[str, ...]:
        return WORK_REPOS if not self.salt else tuple(f"{self.org}/{r.split('/')[1]}" for r in WORK_REPOS)

    @property
    def own_repos(self) -> tuple[str, ...]:
        return OWN_REPOS if not self.salt else tuple(f"{self.login}/{r.split('/')[1]}" for r in OWN_REPOS)


DEMO = Developer(LOGIN, NAME, EMAIL, ORG)
_KEY = r"[a-z0-9_]+"
_current: ContextVar[Developer] = ContextVar("demo_github_developer", default=DEMO)


def developer(login: str | None) -> Developer | None:
    """`demo-user` → the demo developer; `demo-user-<key>` → that key's variant; anything else → None."""
    if login == LOGIN:
        return DEMO
    match = re.fullmatch(rf"{LOGIN}-({_KEY})", login or "")
    if not match:
        return None
    key = match.group(1)
    return Developer(f"{LOGIN}-{key}", f"{NAME} {key.upper()}", f"demo.user.{key}@example.com", f"{ORG}-{key}",
                     (key,))


def developer_of_repo(repo: str) -> Developer | None:
    """The developer whose repository (`acme/…`, `demo-user/…`, `acme-<key>/…`, `demo-user-<key>/…`) it is."""
    owner = repo.split("/", 1)[0]
    if owner in (ORG, LOGIN):
        return DEMO
    match = re.fullmatch(rf"(?:{ORG}|{LOGIN})-({_KEY})", owner)
    return developer(f"{LOGIN}-{match.group(1)}") if match else None


def current() -> Developer:
    return _current.get()


@contextmanager
def acting_as(dev: Developer) -> Generator[Developer, None, None]:
    token = _current.set(dev)
    try:
        yield dev
    finally:
        _current.reset(token)


def _u(*key: object) -> float:
    return u(*key, *current().salt)


def _between(low: float, high: float, *key: object) -> float:
    return between(low, high, *key, *current().salt)


def _pick(seq: Sequence[T], *key: object) -> T:
    return pick(seq, *key, *current().salt)


def _hex(*key: object) -> str:
    return hexdigest(*key, *current().salt)


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
    return f"{_index(day):05x}{i:02x}" + _hex("sha", day, i)[:33]


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
        times += [(_between(9 * 60, 18.5 * 60, "c", day, k), True) for k in range(2 + int(_u("n", day) * 7))]
    elif _u("weekend", day) < 0.35:
        times += [(_between(11 * 60, 17 * 60, "w", day, k), False) for k in range(1 + int(_u("wn", day) * 3))]
    if _u("late", day) < 0.25:
        times += [(_between(22 * 60, 25.5 * 60, "l", day, k), False) for k in range(1 + int(_u("ln", day) * 3))]
    out = []
    for i, (minutes, work) in enumerate(sorted(times)):
        dev = current()
        repo = _pick(dev.work_repos, "wr", day, i) if work and _u("own", day, i) > 0.25 else _pick(dev.own_repos, "or",
                                                                                                  day, i)
        size = _u("size", day, i)
        additions = int(3 + size**3 * 400)
        out.append(DemoCommit(sha_for(day, i), repo, local(day, minutes).replace(microsecond=0),
                              _pick(MESSAGES, "m", day, i), additions,
                              int(additions * _between(0.05, 0.9, "d", day, i)),
                              _hex("parent", day, i)))
    return out


def _pull(day: date, slot: int, author: str, created: datetime, reviewed: datetime | None = None) -> DemoPull:
    number = number_for(day, slot)
    repo = _pick(current().work_repos, "pr", day, slot)
    fate = _u("fate", day, slot)
    done = (reviewed or created) + timedelta(hours=_between(2, 52, "merge", day, slot))
    merged = done if fate < 0.75 else None
    closed = done if fate < 0.85 else None
    return DemoPull(_item_id("pr", repo, number), repo, number, _pick(PR_TITLES, "t", day, slot), author, created,
                    merged, closed, draft=_u("draft", day, slot) < 0.1)


def pulls_on(day: date) -> list[DemoPull]:
    """Pull requests the demo user opened on `day`."""
    if day.weekday() >= 5:
        return []
    n = 0 if _u("prs", day) < 0.45 else (1 if _u("prs2", day) < 0.8 else 2)
    return [_pull(day, s, current().login, local(day, _between(10 * 60, 17 * 60, "pc", day, s)).replace(microsecond=0))
            for s in range(n)]


def reviews_on(day: date) -> list[DemoReview]:
    """Reviews of teammates' pull requests on `day`: the demo user's, plus a teammate's on the same PR."""
    if day.weekday() >= 5:
        return []
    out = []
    for slot in range(2, 2 + int(_u("rv", day) * 4)):
        at = local(day, _between(9.5 * 60, 17.5 * 60, "ra", day, slot)).replace(microsecond=0)
        author = _pick(TEAM, "ra", day, slot)
        pull = _pull(day, slot, author, at - timedelta(hours=_between(1, 20, "rc", day, slot)), reviewed=at)
        state = _pick(("APPROVED",) * 12 + ("CHANGES_REQUESTED",) * 3 + ("COMMENTED",) * 5, "rs", day, slot)
        other = _pick([t for t in TEAM if t != author], "ro", day, slot)
        out.append(DemoReview(_item_id("rv", pull.id), pull, current().login, state, at))
        out.append(DemoReview(_item_id("rv2", pull.id), pull, other, "APPROVED", at + timedelta(minutes=47)))
    return out


def issues_on(day: date) -> list[DemoIssue]:
    if _u("issue", day) >= (0.2 if day.weekday() < 5 else 0.1):
        return []
    number = number_for(day, 5)
    repo = _pick(current().work_repos + current().own_repos, "ir", day)
    created = local(day, _between(9 * 60, 22 * 60, "ic", day)).replace(microsecond=0)
    closed = created + timedelta(days=_between(1, 10, "icl", day)) if _u("iclose", day) < 0.6 else None
    return [DemoIssue(_item_id("is", repo, number), repo, number, _pick(ISSUE_TITLES, "it", day), created, closed)]
