"""`GitHubHttp`: the shared `HttpClient` with GitHub's rate-limit rules on top (same retry loop, no new one).

- Primary limit: 403/429 with `x-ratelimit-remaining: 0` → wait until `x-ratelimit-reset` (+1 s) by the
  injectable clock; a 2xx that leaves a bucket (core, search, graphql…) at 0 makes the next request of that
  bucket wait first instead of failing.
- Secondary limit: `retry-after` is honoured as given; a 403/429 whose message mentions a rate limit but
  carries neither header waits one minute (more on each further attempt), as GitHub's docs ask.
- A wait longer than `max_rate_wait` is not slept: `TransientSourceError` at once, so Airflow retries later.
- Anything else (401, other 403s → `AuthError`, 5xx, timeouts) is the base class's business.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

from tracker.http import HttpClient, JsonResponse, TransientSourceError, error_reason, retry_after_seconds

log = logging.getLogger(__name__)

SECONDARY_WAIT = 60.0


def bucket_of(url: str) -> str:
    """The rate-limit resource a request counts against (GitHub's `x-ratelimit-resource` names)."""
    path = url.split("?", 1)[0].rstrip("/")
    if path.endswith("/graphql"):
        return "graphql"
    if "/search/code" in path:
        return "code_search"
    return "search" if "/search/" in path else "core"


class GitHubHttp(HttpClient):
    def __init__(self, *args: Any, clock: Callable[[], float] = time.time, max_rate_wait: float = 900.0,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clock = clock
        self.max_rate_wait = max_rate_wait
        self.exhausted: dict[str, float] = {}  # bucket → reset (epoch s) after a 2xx left it at 0

    def request_json(self, method: str, url: str, **kwargs: Any) -> JsonResponse:
        bucket = bucket_of(url)
        reset = self.exhausted.pop(bucket, None)
        if reset is not None and (wait := reset - self.clock() + 1) > 0:
            self._sleep_limit(wait, f"{method} {url}", f"{bucket} rate limit used up")
        resp = super().request_json(method, url, **kwargs)
        self._note(resp.headers, bucket)
        return resp

    def _note(self, headers: Mapping[str, str], bucket: str) -> None:
        reset = headers.get("x-ratelimit-reset", "")
        if headers.get("x-ratelimit-remaining") == "0" and reset.isdigit():
            self.exhausted[headers.get("x-ratelimit-resource") or bucket] = int(reset)

    def _raise_or_wait(self, resp: requests.Response, attempt: int, last: bool, shown: str) -> None:
        wait = self.limit_wait(resp, attempt)
        if wait is None:
            super()._raise_or_wait(resp, attempt, last, shown)
            return
        problem = f"HTTP {resp.status_code} rate limited: {error_reason(resp)}"
        if last:
            raise TransientSourceError(f"{shown}: {problem} after {attempt + 1} attempt(s)",
                                       status=resp.status_code)
        self._sleep_limit(wait, shown, problem, status=resp.status_code)

    def limit_wait(self, resp: requests.Response, attempt: int) -> float | None:
        """Seconds GitHub asks us to wait, or None when `resp` is not a rate-limit answer."""
        if resp.status_code not in (403, 429):
            return None
        headers = resp.headers
        if (after := retry_after_seconds(headers.get("retry-after"))) is not None:
            return after
        reset = headers.get("x-ratelimit-reset", "")
        if headers.get("x-ratelimit-remaining") == "0" and reset.isdigit():
            return max(0.0, int(reset) - self.clock()) + 1
        if "rate limit" in error_reason(resp).lower():
            return SECONDARY_WAIT * 2**attempt
        return None

    def _sleep_limit(self, wait: float, shown: str, problem: str, *, status: int | None = None) -> None:
        wait = max(0.0, wait)
        if wait > self.max_rate_wait:
            raise TransientSourceError(
                f"{shown}: {problem}; the limit resets in {wait:.0f}s, more than the {self.max_rate_wait:.0f}s "
                "we wait in a task", status=status)
        log.warning("%s: %s; waiting %.0fs", shown, problem, wait)
        self.sleep(wait)
