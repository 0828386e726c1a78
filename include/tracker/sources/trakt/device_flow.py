"""Trakt OAuth device flow: ask for a user code, then poll until the user approves it (or not).

`POST /oauth/device/code {client_id}` → `{device_code, user_code, verification_url, expires_in, interval}`;
then `POST /oauth/device/token {code, client_id, client_secret}` every `interval` seconds:
400 pending (keep polling), 429 slow down (poll less often), 404 invalid code, 409 already used,
410 expired, 418 denied, 200 the tokens. Sleep and clock are injectable for tests.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from tracker.http import HttpClient, PermanentSourceError, TransientSourceError
from tracker.sources.trakt.models import DeviceCode, TraktToken

log = logging.getLogger(__name__)

SLOW_DOWN_STEP = 5  # seconds added to the interval on each 429 (RFC 8628 §3.5)
OOB_REDIRECT = "urn:ietf:wg:oauth:2.0:oob"


class DeviceFlowError(PermanentSourceError):
    """The device flow ended without a token."""


class DeviceCodeExpired(DeviceFlowError):
    pass


class DeviceAuthDenied(DeviceFlowError):
    pass


def start(http: HttpClient, base_url: str, client_id: str) -> DeviceCode:
    data = http.post_json(f"{base_url.rstrip('/')}/oauth/device/code", json={"client_id": client_id},
                          headers={"Content-Type": "application/json"})
    try:
        return DeviceCode(str(data["device_code"]), str(data["user_code"]), str(data["verification_url"]),
                          int(data["expires_in"]), int(data.get("interval") or 5))
    except (KeyError, TypeError, ValueError) as exc:
        raise PermanentSourceError(f"Trakt device code answer lacks {exc}") from None


def poll(http: HttpClient, base_url: str, client_id: str, client_secret: str, code: DeviceCode, *,
         sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
         on_wait: Callable[[str, int], None] | None = None) -> TraktToken:
    """Poll every `interval` seconds (growing on 429) until approved; `on_wait(state, interval)` observes."""
    url = f"{base_url.rstrip('/')}/oauth/device/token"
    body = {"code": code.device_code, "client_id": client_id, "client_secret": client_secret}
    interval, deadline = code.interval, clock() + code.expires_in
    while True:
        sleep(interval)
        if clock() >= deadline:
            raise DeviceCodeExpired(f"the code {code.user_code} expired before it was approved", status=410)
        try:
            data = http.post_json(url, json=body, headers={"Content-Type": "application/json"}, max_retries=0)
        except TransientSourceError as exc:
            if exc.status == 429:
                interval += SLOW_DOWN_STEP
                state = "slow_down"
            else:
                state = "retry"  # a 5xx or network blip: keep polling until the code expires
            log.info("device token: %s (%s); polling every %ds", state, exc, interval)
        except PermanentSourceError as exc:
            state = _final(exc, code)
        else:
            return _token(data)
        if on_wait:
            on_wait(state, interval)


def _final(exc: PermanentSourceError, code: DeviceCode) -> str:
    """'pending' for a 400; raises for every status that ends the flow."""
    if exc.status == 400:
        return "pending"
    if exc.status == 410:
        raise DeviceCodeExpired(f"the code {code.user_code} expired; start again", status=410) from None
    if exc.status == 418:
        raise DeviceAuthDenied(f"the code {code.user_code} was denied by the user", status=418) from None
    if exc.status in (404, 409):
        what = "is invalid" if exc.status == 404 else "was already used"
        raise DeviceFlowError(f"the device code {what}", status=exc.status) from None
    raise exc


def refresh(http: HttpClient, base_url: str, client_id: str, client_secret: str, refresh_token: str) -> TraktToken:
    """A new token pair from a refresh token (Trakt access tokens expire)."""
    data = http.post_json(f"{base_url.rstrip('/')}/oauth/token", headers={"Content-Type": "application/json"},
                          json={"refresh_token": refresh_token, "client_id": client_id,
                                "client_secret": client_secret, "redirect_uri": OOB_REDIRECT,
                                "grant_type": "refresh_token"})
    return _token(data)


def _token(data: Any) -> TraktToken:
    try:
        return TraktToken.from_json(data)
    except ValueError as exc:
        raise PermanentSourceError(f"Trakt token answer: {exc}") from None
