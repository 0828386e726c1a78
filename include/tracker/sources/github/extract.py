"""GitHub → raw.github__{commits,pull_requests,reviews,issues,contributions_daily} for a window.

One Airflow task per entity (`entities=[...]`; all by default). Every person with `accounts.github` gets a
client for their login; each load is a keyed merge bounded by the window on the table's time column, and
records failing the checks below go to the quarantine (replaced per person, entity and window, so reruns never pile up).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

import orjson
import psycopg

from tracker.config import TrackerConfig
from tracker.sources.accounts import people_with_account
from tracker.sources.contract import Clients, client_for
from tracker.sources.github.client import GitHubClient
from tracker.sources.github.models import Commit, ContributionDay, Issue, Review
from tracker.sources.github.tables import COMMITS, CONTRIBUTIONS_DAILY, ISSUES, PULL_REQUESTS, REVIEWS
from tracker.warehouse import quarantine
from tracker.warehouse.loader import RawTable, Window
from tracker.warehouse.loads import Load, QuarantineScope, load_validated
from tracker.windows import ExtractWindow, plain_utc

SOURCE = "github"
ACCOUNT = "github"
REVIEW_STATES = frozenset({"APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED"})


# ------------------------------------------------------------------------------------------ checks
def commit_invalid(c: Commit) -> str | None:
    if not c.repo or len(c.sha) != 40:
        return f"bad repo/sha {c.repo!r}@{c.sha!r}"
    for name in ("additions", "deletions"):
        if (value := getattr(c, name)) is not None and value < 0:
            return f"{name}={value} < 0"
    return None


def issue_invalid(i: Issue) -> str | None:
    if i.number <= 0:
        return f"number={i.number} <= 0"
    for name in ("closed_at", "merged_at"):
        if (value := getattr(i, name)) is not None and value < i.created_at:
            return f"{name}={value.isoformat()} before created_at={i.created_at.isoformat()}"
    return None


def review_invalid(r: Review) -> str | None:
    return None if r.state in REVIEW_STATES else f"state={r.state!r} not one of {sorted(REVIEW_STATES)}"


def day_invalid(d: ContributionDay) -> str | None:
    return f"contributionCount={d.count} < 0" if d.count < 0 else None


def day_start(day: Any) -> datetime:
    return datetime.combine(day, time(), UTC)


def day_record(d: ContributionDay) -> dict[str, Any]:
    return {"date": d.day.isoformat(), "contributionCount": d.count, "weekday": d.weekday, "color": d.color}


# ------------------------------------------------------------------------------------------ entities
@dataclass(frozen=True)
class Entity:
    table: RawTable
    fetch: Callable[[GitHubClient, datetime, datetime], Sequence[Any]]
    row: Callable[[str, str, Any], tuple]  # (person_id, login, item) → COPY tuple
    invalid: Callable[[Any], str | None]
    at: Callable[[Any], datetime]  # the item's time (window column)
    locator: Callable[[Any], str]
    record: Callable[[Any], dict[str, Any]] = lambda item: item.record


def _issue_row(person_id: str, login: str, i: Issue) -> tuple:
    return (person_id, i.id, i.repo, i.number, i.title, i.state, i.draft, i.created_at, i.updated_at,
            i.closed_at, i.merged_at, i.author_login, i.html_url, login, i.record)


ENTITIES: dict[str, Entity] = {
    "commits": Entity(
        COMMITS, lambda c, s, e: c.commits(s, e),
        lambda p, login, c: (p, c.repo, c.sha, c.authored_at, c.committed_at, c.message, c.author_login,
                             c.author_email, c.parent_count, c.html_url, c.additions, c.deletions, login, c.record),
        commit_invalid, lambda c: c.authored_at, lambda c: f"{c.repo}@{c.sha}"),
    "pull_requests": Entity(
        PULL_REQUESTS, lambda c, s, e: c.pull_requests(s, e), _issue_row, issue_invalid,
        lambda i: i.created_at, lambda i: f"{i.repo}#{i.number}"),
    "reviews": Entity(
        REVIEWS, lambda c, s, e: c.reviews(s, e),
        lambda p, login, r: (p, r.id, r.repo, r.pr_number, r.pr_title, r.state, r.submitted_at, r.html_url,
                             login, r.record),
        review_invalid, lambda r: r.submitted_at, lambda r: f"{r.repo}#{r.pr_number}/review/{r.id}"),
    "issues": Entity(
        ISSUES, lambda c, s, e: c.issues(s, e),
        lambda p, login, i: (p, i.id, i.repo, i.number, i.title, i.state, i.created_at, i.updated_at,
                             i.closed_at, i.author_login, i.html_url, login, i.record),
        issue_invalid, lambda i: i.created_at, lambda i: f"{i.repo}#{i.number}"),
    "contributions_daily": Entity(
        CONTRIBUTIONS_DAILY, lambda c, s, e: c.contributions_daily(s, e).days,
        lambda p, login, d: (p, d.day, day_start(d.day), d.count, d.weekday, d.color, login, day_record(d)),
        day_invalid, lambda d: day_start(d.day), lambda d: d.day.isoformat(), day_record),
}


def load_window(entity: str, window: ExtractWindow) -> tuple[datetime, datetime]:
    """The window on the table's time column. The calendar answers whole dates (start's date through the date
    of the window's last instant), so its window is widened to those days' 00:00 UTC starts."""
    if entity != "contributions_daily":
        return window.start, window.end
    last = (window.end - timedelta(microseconds=1)).date()
    return day_start(window.start.date()), day_start(last) + timedelta(days=1)


def extract_and_load(conn: psycopg.Connection, clients: Clients, config: TrackerConfig, window: ExtractWindow,
                     run_id: str, *, entities: Sequence[str] = tuple(ENTITIES)) -> list[Load]:
    """Load `entities` for every person with a GitHub login; `clients(login)` builds their client."""
    window = plain_utc(window)
    loads = []
    for entity in entities:
        spec = ENTITIES[entity]
        start, end = load_window(entity, window)
        for person, login in people_with_account(config, ACCOUNT):
            loads.append(load_validated(
                conn, spec.table, spec.fetch(client_for(clients, login), window.start, window.end),
                to_row=lambda item, p=person.id, login=login, spec=spec: spec.row(p, login, item),
                invalid=spec.invalid,
                reject=lambda item, reason, spec=spec: quarantine.Rejected(
                    locator=spec.locator(item), reason=reason, record_at=spec.at(item),
                    raw_text=orjson.dumps(spec.record(item)).decode()),
                run_id=run_id, window=Window(start, end, {"person_id": person.id}),
                quarantine_scope=QuarantineScope(SOURCE, entity, person.id, start, end)))
    return loads
