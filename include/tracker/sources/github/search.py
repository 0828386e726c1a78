"""GitHub search helpers: date-range qualifiers, Link pagination and the 1000-result cap.

The search API returns at most 1000 results per query. When `total_count` says more, the date range is cut
in halves (recursively) and each half is searched on its own, so nothing is silently dropped. A page with
`incomplete_results: true` (GitHub's query timed out) is a transient failure: loading a partial window
would make the keyed loader delete rows that still exist.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from tracker.http import JsonResponse, PermanentSourceError, TransientSourceError
from tracker.sources.github.models import SOURCE, SearchPage
from tracker.sources.validation import parse

log = logging.getLogger(__name__)

SEARCH_CAP = 1000
PER_PAGE = 100
_SECOND = timedelta(seconds=1)
_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?([^";]+)"?')

Fetch = Callable[[str, dict[str, Any] | None], JsonResponse]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def next_link(header: str | None) -> str | None:
    """The `rel="next"` URL of a Link header, or None on the last page."""
    for url, rels in _LINK.findall(header or ""):
        if "next" in rels.split():
            return url
    return None


def whole_seconds(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """[start, end) widened to whole seconds (search ranges have second precision)."""
    lo = start.astimezone(UTC).replace(microsecond=0)
    hi = end.astimezone(UTC)
    if hi.microsecond:
        hi = hi.replace(microsecond=0) + _SECOND
    return lo, hi


def range_qualifier(name: str, lo: datetime, hi: datetime) -> str:
    """`name:LO..HI` for the half-open [lo, hi): search ranges are inclusive, so HI is hi − 1 s."""
    return f"{name}:{iso(lo)}..{iso(hi - _SECOND)}"


def paged(fetch: Fetch, url: str, params: dict[str, Any] | None) -> Iterator[JsonResponse]:
    """The first page, then every `rel="next"` page (the Link URL already carries the query)."""
    resp = fetch(url, params)
    yield resp
    while link := next_link(resp.headers.get("Link")):
        resp = fetch(link, None)
        yield resp


def search(fetch: Fetch, url: str, base_query: str, qualifier: str, lo: datetime, hi: datetime,
           sort: str) -> list[Any]:
    """All items of `base_query qualifier:lo..hi`, splitting the range while a query matches > 1000."""
    lo, hi = whole_seconds(lo, hi)
    if hi <= lo:
        return []
    query = f"{base_query} {range_qualifier(qualifier, lo, hi)}"
    params = {"q": query, "per_page": PER_PAGE, "sort": sort, "order": "asc"}
    items: list[Any] = []
    for number, resp in enumerate(paged(fetch, url, params)):
        page = parse(SearchPage, resp.data, source=SOURCE, where="search")
        if page.incomplete_results:
            raise TransientSourceError(f"GitHub search timed out (incomplete_results) for {query!r}")
        if number == 0 and page.total_count > SEARCH_CAP:
            if hi - lo <= _SECOND:
                raise PermanentSourceError(f"GitHub search {query!r}: {page.total_count} results within one "
                                           "second; cannot split below the 1000-result cap")
            mid = lo + timedelta(seconds=int((hi - lo).total_seconds()) // 2)
            log.info("search %r matched %d (> %d): splitting at %s", query, page.total_count, SEARCH_CAP, iso(mid))
            return (search(fetch, url, base_query, qualifier, lo, mid, sort)
                    + search(fetch, url, base_query, qualifier, mid, hi, sort))
        items += page.items
    return items
