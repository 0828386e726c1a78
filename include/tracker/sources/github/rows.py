"""Validated GitHub items → the client's row dataclasses (the original item kept as `record`)."""

from __future__ import annotations

from typing import Any

from tracker.sources.github.models import (
    SOURCE,
    Commit,
    Event,
    EventItem,
    Issue,
    IssueItem,
    SearchCommitItem,
    repo_from_url,
)
from tracker.sources.validation import parse


def commit_row(m: SearchCommitItem, item: dict[str, Any]) -> Commit:
    committer = m.commit.committer
    return Commit(
        sha=m.sha, repo=m.repository.full_name, authored_at=m.commit.author.date,
        committed_at=committer.date if committer else None, message=m.commit.message,
        author_login=m.author.login if m.author else None, author_email=m.commit.author.email,
        parent_count=len(m.parents), html_url=m.html_url, additions=None, deletions=None, record=item)


def issue_row(item: Any, index: int) -> Issue:
    m = parse(IssueItem, item, source=SOURCE, where=f"items[{index}]")
    return Issue(
        kind="pull_request" if m.pull_request is not None else "issue", id=m.id,
        repo=repo_from_url(m.repository_url), number=m.number, title=m.title, state=m.state,
        created_at=m.created_at, updated_at=m.updated_at, closed_at=m.closed_at,
        merged_at=m.pull_request.merged_at if m.pull_request else None,
        author_login=m.user.login if m.user else None, draft=m.draft, html_url=m.html_url, record=item)


def event_row(m: EventItem, item: dict[str, Any]) -> Event:
    repo = m.repo.get("name") if m.repo else None
    return Event(id=m.id, type=m.type, repo=repo, created_at=m.created_at, public=m.public, record=item)
