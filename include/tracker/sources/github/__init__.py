"""GitHub: contribution calendar (GraphQL), commits with line counts, pull requests, reviews, issues, events."""

from tracker.sources.github.client import GitHubClient, GitHubGraphQLError
from tracker.sources.github.models import (
    Commit,
    ContributionDay,
    Contributions,
    ContributionTotals,
    Event,
    EventsResult,
    Issue,
    Review,
)
from tracker.sources.github.ratelimit import GitHubHttp

__all__ = ["Commit", "ContributionDay", "ContributionTotals", "Contributions", "Event", "EventsResult",
           "GitHubClient", "GitHubGraphQLError", "GitHubHttp", "Issue", "Review"]
