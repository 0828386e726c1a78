"""Last.fm error bodies `{"error": N, "message": "..."}` → Tracker's error types.

Last.fm sends them with a 4xx/5xx status and sometimes with 200. `LastfmHttp` keeps the shared retry loop
but decides by the error *code*, not the HTTP status: bad or suspended keys are `AuthError` naming the
connection, rate limits and backend hiccups are retried then `TransientSourceError`, the rest permanent.
"""

from __future__ import annotations

from typing import Any

import requests

from tracker.http import (
    AuthError,
    HttpClient,
    PermanentSourceError,
    SourceError,
    TransientSourceError,
    redact,
    retry_after_seconds,
)

AUTH_CODES = frozenset({4, 9, 10, 14, 26})  # auth failed, bad session, invalid/suspended key, unauthorised token
TRANSIENT_CODES = frozenset({8, 11, 16, 29})  # operation failed, offline, temporarily unavailable, rate limit
USER_NOT_FOUND = 6


def error_code(body: Any) -> tuple[int, str] | None:
    """(code, message) of a Last.fm error body, else None."""
    if isinstance(body, dict) and "error" in body:
        try:
            return int(body["error"]), redact(str(body.get("message") or ""))
        except (TypeError, ValueError):
            return None
    return None


def error_for(code: int, message: str, *, credential: str | None, status: int | None = None) -> SourceError:
    reason = f"Last.fm error {code}: {message or 'no message'}"
    if code in AUTH_CODES:
        return AuthError(credential, status=status, reason=reason)
    if code in TRANSIENT_CODES:
        return TransientSourceError(reason, status=status)
    return PermanentSourceError(reason, status=status, reason=reason)


class LastfmHttp(HttpClient):
    def _raise_or_wait(self, resp: requests.Response, attempt: int, last: bool, shown: str) -> None:
        try:
            found = error_code(resp.json())
        except ValueError:
            found = None
        if found is None:
            super()._raise_or_wait(resp, attempt, last, shown)
            return
        code, message = found
        error = error_for(code, message, credential=self.credential, status=resp.status_code)
        if not isinstance(error, TransientSourceError):
            raise error
        if last:
            raise TransientSourceError(f"{shown}: {error} after {attempt + 1} attempt(s)", status=resp.status_code)
        self._wait(attempt, retry_after_seconds(resp.headers.get("Retry-After")), shown, str(error))
