"""Shared HTTP layer for source clients: timeouts, retries with backoff, error classes, secret masking.

Transient failures (429, 408, 5xx, timeouts, connection errors, truncated or invalid JSON on a 2xx) are
retried here and, once retries are exhausted, raised as `TransientSourceError` so Airflow retries the task.
Everything else is a `PermanentSourceError` that a retry cannot fix.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests

log = logging.getLogger(__name__)

SECRET_PARAMS = frozenset({
    "api_key", "apikey", "key", "token", "access_token", "refresh_token", "id_token",
    "client_secret", "secret", "password", "sig", "signature", "code",
})
_SECRET_IN_TEXT = re.compile(
    r"(?i)\b(" + "|".join(sorted(SECRET_PARAMS, key=len, reverse=True)) + r")=([^&\s'\")]+)"
)
_RETRY_STATUS = frozenset({408, 429})
_NETWORK_ERRORS = (
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


class SourceError(Exception):
    """Any failure talking to a source API."""


class TransientSourceError(SourceError):
    """Rate limit, server error, timeout or broken body that persisted through all retries."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class PermanentSourceError(SourceError):
    """A request the API rejects (4xx) or an answer we cannot use; retrying will not help."""

    def __init__(self, message: str, *, status: int | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


def credential_label(credential: str | None) -> str | None:
    """What to fix, as a message shows it: a label ("environment variable GITHUB_TOKEN", "connection 'github'")
    as given; a bare name (the older form, a connection id) as "connection 'name'"."""
    if credential and not any(c.isspace() for c in credential):
        return f"connection {credential!r}"
    return credential


class AuthError(PermanentSourceError):
    """401/403: the credentials are wrong, expired or lack a scope; `credential` labels what to fix."""

    def __init__(self, credential: str | None, *, status: int | None = None, reason: str | None = None) -> None:
        self.credential = credential_label(credential)
        where = f"fix {self.credential}" if self.credential else "check the credentials"
        super().__init__(f"authentication failed (HTTP {status}): {reason or 'no reason given'}; {where}",
                         status=status, reason=reason)


class MalformedResponseError(PermanentSourceError):
    """The body parsed but does not have the shape we rely on; `field` names the offending path."""

    def __init__(self, field: str, detail: str = "invalid", *, source: str | None = None) -> None:
        prefix = f"{source} response" if source else "response"
        super().__init__(f"malformed {prefix}: field {field!r}: {detail}")
        self.field = field


def redact(text: str) -> str:
    """Mask values of secret-looking query parameters (api_key=..., token=...) inside any text."""
    return _SECRET_IN_TEXT.sub(lambda m: f"{m.group(1)}=***", text)


def mask_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """A copy of `params` safe to log."""
    return {k: ("***" if k.lower() in SECRET_PARAMS else v) for k, v in (params or {}).items()}


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Parse a Retry-After header: delta-seconds or an HTTP date. None when absent or unparseable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def error_reason(response: requests.Response) -> str:
    """The API's own explanation from an error body (reason/message/error_description…), else its text."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("reason", "message", "error_description", "error"):
            value = body.get(key)
            if isinstance(value, dict):
                value = value.get("message") or value.get("status")
            if isinstance(value, str) and value:
                return redact(value)
    text = (response.text or "").strip()
    return redact(text[:300]) or (response.reason or "")


@dataclass(frozen=True)
class JsonResponse:
    """A decoded 2xx/3xx answer; `url` has secrets masked."""

    status: int
    headers: Mapping[str, str]
    data: Any
    url: str


class HttpClient:
    """A `requests.Session` with explicit (connect, read) timeouts and bounded, jittered retries."""

    def __init__(
        self,
        session: requests.Session | None = None,
        *,
        timeout: tuple[float, float] = (5.0, 30.0),
        max_retries: int = 4,
        backoff: float = 1.0,
        max_wait: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        credential: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.session = session or requests.Session()
        if self.session.headers.get("User-Agent", "").startswith("python-requests"):
            self.session.headers["User-Agent"] = "tracker/0.1 (personal data warehouse)"
        self.session.headers.update(headers or {})
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.sleep = sleep
        self.jitter = jitter
        self.credential = credential_label(credential)  # labels what to fix in an AuthError

    def get_json(self, url: str, params: Mapping[str, Any] | None = None, *,
                 headers: Mapping[str, str] | None = None, max_retries: int | None = None) -> Any:
        return self.request_json("GET", url, params=params, headers=headers, max_retries=max_retries).data

    def post_json(self, url: str, json: Any = None, *, data: Any = None,
                  params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None,
                  max_retries: int | None = None) -> Any:
        return self.request_json("POST", url, params=params, json=json, data=data, headers=headers,
                                 max_retries=max_retries).data

    def request_json(self, method: str, url: str, *, params: Mapping[str, Any] | None = None,
                     json: Any = None, data: Any = None, headers: Mapping[str, str] | None = None,
                     max_retries: int | None = None) -> JsonResponse:
        """Send with retries; return the decoded body (None for 204/304) or raise a `SourceError`."""
        retries = self.max_retries if max_retries is None else max_retries
        shown = f"{method} {redact(url)} {mask_params(params)}"
        for attempt in range(retries + 1):
            last = attempt == retries
            log.debug("%s (attempt %d)", shown, attempt + 1)
            try:
                resp = self.session.request(method, url, params=params, json=json, data=data,
                                            headers=headers, timeout=self.timeout)
                if resp.status_code in (204, 304):
                    return JsonResponse(resp.status_code, resp.headers, None, redact(resp.url))
                if resp.status_code < 400:
                    body = _decode(resp)
                    return JsonResponse(resp.status_code, resp.headers, body, redact(resp.url))
            except _NETWORK_ERRORS as exc:
                problem = f"{type(exc).__name__}: {redact(str(exc))}"
                if last:
                    # `from None`: the chained requests error would print the unmasked URL.
                    raise TransientSourceError(f"{shown}: {problem} after {attempt + 1} attempt(s)") from None
                self._wait(attempt, None, shown, problem)
                continue
            except _BadBody as exc:
                if last:
                    raise TransientSourceError(
                        f"{shown}: invalid JSON body ({exc}) after {attempt + 1} attempt(s)",
                        status=resp.status_code) from None
                self._wait(attempt, None, shown, f"invalid JSON body ({exc})")
                continue
            except requests.exceptions.RequestException as exc:
                raise PermanentSourceError(f"{shown}: {type(exc).__name__}: {redact(str(exc))}") from None
            self._raise_or_wait(resp, attempt, last, shown)
        raise AssertionError("unreachable")  # pragma: no cover

    def _raise_or_wait(self, resp: requests.Response, attempt: int, last: bool, shown: str) -> None:
        status, reason = resp.status_code, error_reason(resp)
        rate_limited = status in _RETRY_STATUS or (status == 403 and _github_style_limit(resp))
        if rate_limited or status >= 500:
            problem = f"HTTP {status}: {reason}"
            if last:
                raise TransientSourceError(f"{shown}: {problem} after {attempt + 1} attempt(s)",
                                           status=status)
            self._wait(attempt, _server_wait(resp), shown, problem)
            return
        if status in (401, 403):
            raise AuthError(self.credential, status=status, reason=reason)
        raise PermanentSourceError(f"{shown}: HTTP {status}: {reason}", status=status, reason=reason)

    def _wait(self, attempt: int, server_hint: float | None, shown: str, problem: str) -> None:
        if server_hint is not None:
            delay = min(server_hint, self.max_wait)
        else:
            base = min(self.backoff * 2**attempt, self.max_wait)
            delay = base / 2 + self.jitter() * base / 2  # "equal jitter": never less than half the backoff
        log.warning("%s: %s; retry %d in %.1fs", shown, problem, attempt + 1, delay)
        self.sleep(delay)


class _BadBody(ValueError):
    pass


def _decode(resp: requests.Response) -> Any:
    raw = resp.content
    if not raw.strip():
        raise _BadBody("empty body")
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise _BadBody(str(exc)) from None


def _github_style_limit(resp: requests.Response) -> bool:
    """GitHub answers rate limits with 403 plus Retry-After or X-RateLimit-Remaining: 0."""
    return "Retry-After" in resp.headers or resp.headers.get("X-RateLimit-Remaining") == "0"


def _server_wait(resp: requests.Response) -> float | None:
    wait = retry_after_seconds(resp.headers.get("Retry-After"))
    if wait is None and resp.headers.get("X-RateLimit-Reset", "").isdigit():
        wait = max(0.0, int(resp.headers["X-RateLimit-Reset"]) - time.time())
    return wait
