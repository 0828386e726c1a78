"""GitHub response shapes (pydantic v2; unknown fields kept) and the rows the client returns.

Every row keeps the original item in `record` for the raw JSONB column. Timestamps are timezone-aware; a
commit's `authored_at` keeps the author's own UTC offset (GitHub search returns it, e.g. `+01:00`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

SOURCE = "GitHub"


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow")


# ---------------------------------------------------------------------------------------------- GraphQL
class ContributionDayModel(_Model):
    date: dt.date
    contributionCount: int
    weekday: int | None = None
    color: str | None = None


class ContributionWeek(_Model):
    firstDay: dt.date | None = None
    contributionDays: list[ContributionDayModel]


class ContributionCalendar(_Model):
    totalContributions: int
    weeks: list[ContributionWeek]


class ContributionsCollection(_Model):
    totalCommitContributions: int
    totalIssueContributions: int
    totalPullRequestContributions: int
    totalPullRequestReviewContributions: int
    restrictedContributionsCount: int = 0
    contributionCalendar: ContributionCalendar


# ---------------------------------------------------------------------------------------------- REST
class UserRef(_Model):
    login: str
    id: int | None = None


class RepoRef(_Model):
    full_name: str
    id: int | None = None
    private: bool | None = None


class GitActor(_Model):
    name: str | None = None
    email: str | None = None
    date: dt.datetime


class GitCommit(_Model):
    author: GitActor
    committer: GitActor | None = None
    message: str = ""


class SearchCommitItem(_Model):
    sha: str
    html_url: str | None = None
    commit: GitCommit
    author: UserRef | None = None  # null when the e-mail is not linked to an account
    parents: list[dict[str, Any]] = []
    repository: RepoRef


class CommitStats(_Model):
    total: int | None = None
    additions: int
    deletions: int


class CommitDetail(_Model):
    sha: str
    stats: CommitStats | None = None


class SearchPage(_Model):
    total_count: int
    incomplete_results: bool = False
    items: list[Any]


class PullRef(_Model):
    html_url: str | None = None
    merged_at: dt.datetime | None = None


class IssueItem(_Model):
    id: int
    number: int
    title: str
    html_url: str | None = None
    repository_url: str
    state: str
    created_at: dt.datetime
    updated_at: dt.datetime
    closed_at: dt.datetime | None = None
    user: UserRef | None = None
    pull_request: PullRef | None = None
    draft: bool | None = None
    comments: int | None = None


class ReviewItem(_Model):
    id: int
    user: UserRef | None = None
    state: str
    submitted_at: dt.datetime | None = None  # absent while PENDING
    html_url: str | None = None
    commit_id: str | None = None


class EventItem(_Model):
    id: str
    type: str | None = None
    actor: UserRef | None = None
    repo: dict[str, Any] | None = None
    public: bool | None = None
    created_at: dt.datetime


# ---------------------------------------------------------------------------------------------- rows
@dataclass(frozen=True)
class ContributionDay:
    """One day of the contribution calendar (days follow the user's profile time zone, not UTC)."""

    day: dt.date
    count: int
    weekday: int | None
    color: str | None


@dataclass(frozen=True)
class ContributionTotals:
    """The totals of one ≤ 1-year GraphQL window [window_start, window_end)."""

    window_start: dt.datetime
    window_end: dt.datetime
    commits: int
    issues: int
    pull_requests: int
    reviews: int
    restricted: int
    calendar_total: int


@dataclass(frozen=True)
class Contributions:
    days: list[ContributionDay]
    totals: list[ContributionTotals]


@dataclass(frozen=True)
class Commit:
    sha: str
    repo: str  # owner/name
    authored_at: dt.datetime  # with the author's offset
    committed_at: dt.datetime | None
    message: str
    author_login: str | None
    author_email: str | None
    parent_count: int
    html_url: str | None
    additions: int | None  # None until stats were fetched
    deletions: int | None
    record: dict[str, Any]


@dataclass(frozen=True)
class Issue:
    """A pull request or an issue from the search API."""

    kind: Literal["pull_request", "issue"]
    id: int
    repo: str
    number: int
    title: str
    state: str
    created_at: dt.datetime
    updated_at: dt.datetime
    closed_at: dt.datetime | None
    merged_at: dt.datetime | None
    author_login: str | None
    draft: bool | None
    html_url: str | None
    record: dict[str, Any]


@dataclass(frozen=True)
class Review:
    id: int
    repo: str
    pr_number: int
    pr_title: str
    state: str  # APPROVED | CHANGES_REQUESTED | COMMENTED | DISMISSED
    submitted_at: dt.datetime
    html_url: str | None
    record: dict[str, Any]


@dataclass(frozen=True)
class Event:
    id: str
    type: str | None
    repo: str | None
    created_at: dt.datetime
    public: bool | None
    record: dict[str, Any]


@dataclass(frozen=True)
class EventsResult:
    """`not_modified`: the server answered 304 to our ETag and `events` is the cached list."""

    events: list[Event]
    etag: str | None
    poll_interval: int | None
    not_modified: bool


def repo_from_url(repository_url: str) -> str:
    """'https://api.github.com/repos/o/r' (or a GHES '/api/v3/repos/o/r') → 'o/r'."""
    _, _, tail = repository_url.partition("/repos/")
    return "/".join(tail.split("/")[:2]) if tail else repository_url
