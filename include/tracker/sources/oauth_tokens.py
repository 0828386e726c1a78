"""OAuth token pairs of the sources that sign in (Google Health, Trakt): where they are kept, who refreshes them.

A token type has `access_token`, `fresh(now, leeway)`, `to_json()` and `from_json()`; a store has `load()`,
`save()` and `locked()`, and `reauth(detail)` builds the source's "sign in again" error.

- `TokenFile`: a 0600 JSON file replaced atomically; `locked()` takes an exclusive flock on `<file>.lock`.
- `WarehouseTokenStore`: `auth.oauth_tokens` (provider, account), readable by every Airflow task; `locked()`
  opens one transaction holding a transaction-level advisory lock on (provider, account), `load()`/`save()`
  inside it use that transaction, and the new pair commits when the block ends — before `TokenProvider`
  hands the access token out. A crash before the commit leaves the previous pair, never half of one.
- `TokenProvider`: `Callable[[], str]` giving a valid access token; refreshes (through an endpoint with
  `refresh(tokens)`) at most once across processes at a time, and persists the new pair before use.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable, Generator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import psycopg
from psycopg.types.json import Jsonb

from tracker.private_files import write_private


class Token(Protocol):
    access_token: str

    def fresh(self, now: float, leeway: float = 60.0) -> bool: ...
    def to_json(self) -> dict[str, Any]: ...


class TokenType(Protocol):
    def from_json(self, data: dict[str, Any]) -> Any: ...


_UNREADABLE = (ValueError, KeyError, TypeError, AttributeError)


class TokenFile:
    """A JSON token file (mode 0600, atomic replace) plus `locked()`, an exclusive cross-process lock."""

    def __init__(self, path: Path, token_type: TokenType, reauth: Callable[[str], Exception]) -> None:
        self.path, self.token_type, self.reauth = Path(path), token_type, reauth
        self.lock_path = self.path.with_name(self.path.name + ".lock")

    def load(self) -> Any | None:
        """The stored tokens, or None when there are none yet."""
        try:
            return self.token_type.from_json(json.loads(self.path.read_text()))
        except FileNotFoundError:
            return None
        except _UNREADABLE as exc:
            raise self.reauth(f"token file {self.path} is unreadable: {type(exc).__name__}") from None

    def save(self, tokens: Token) -> Path:
        """Replace the file atomically, 0600 from its first byte (`private_files.write_private`)."""
        return write_private(self.path, json.dumps(tokens.to_json(), indent=2))

    @contextmanager
    def locked(self) -> Generator[None, None, None]:
        """Hold an exclusive flock (blocking) on `<file>.lock`; the token file itself is replaced, not locked."""
        self.lock_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


class WarehouseTokenStore:
    """One (provider, account) row of `auth.oauth_tokens`; same contract as `TokenFile`."""

    def __init__(self, connect: Callable[[], psycopg.Connection], account: str, provider: str,
                 token_type: TokenType, reauth: Callable[[str], Exception]) -> None:
        self.connect, self.account, self.provider = connect, account, provider
        self.token_type, self.reauth = token_type, reauth
        self.path = f"auth.oauth_tokens[{provider}/{account}]"   # where, for messages
        self._conn: psycopg.Connection | None = None

    @contextmanager
    def _connection(self) -> Generator[psycopg.Connection, None, None]:
        if self._conn is not None:
            yield self._conn
            return
        with self.connect() as conn:
            yield conn

    def load(self) -> Any | None:
        with self._connection() as conn:
            row = conn.execute("select tokens from auth.oauth_tokens where provider = %s and account = %s",
                               (self.provider, self.account)).fetchone()
        if row is None:
            return None
        try:
            return self.token_type.from_json(row[0])
        except _UNREADABLE as exc:
            raise self.reauth(f"stored tokens in {self.path} are unreadable: {type(exc).__name__}") from None

    def save(self, tokens: Token) -> None:
        with self._connection() as conn, conn.transaction():
            conn.execute(
                "insert into auth.oauth_tokens (provider, account, tokens) values (%s, %s, %s)"
                " on conflict (provider, account) do update set tokens = excluded.tokens, updated_at = now()",
                (self.provider, self.account, Jsonb(tokens.to_json())))

    def mark_rejected(self, detail: str) -> None:
        """Record on the stored sign-in that the provider refused its refresh token (`rejected_at`, `rejected`:
        the reason, no secret), committed on a connection of its own so the caller's failure keeps it; the
        next `save` (a new sign-in) replaces the whole row and clears it. gold.dim_person_sync reads it."""
        with self.connect() as conn:
            conn.execute("update auth.oauth_tokens set tokens = tokens || jsonb_build_object('rejected_at', now(),"
                         " 'rejected', %s::text) where provider = %s and account = %s",
                         (detail[:300], self.provider, self.account))

    @contextmanager
    def locked(self) -> Generator[None, None, None]:
        with self.connect() as conn, conn.transaction():
            conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"oauth:{self.provider}:{self.account}",))
            self._conn = conn
            try:
                yield
            finally:
                self._conn = None


class RefreshEndpoint(Protocol):
    def refresh(self, tokens: Any) -> Any: ...


class TokenStoreLike(Protocol):
    path: Any

    def load(self) -> Any | None: ...
    def save(self, tokens: Any) -> Any: ...
    def locked(self) -> Any: ...
    def reauth(self, detail: str) -> Exception: ...


class TokenProvider:
    """`Callable[[], str]` giving a valid access token; refreshes at most once across processes at a time."""

    def __init__(self, store: TokenStoreLike, endpoint: RefreshEndpoint, *, leeway: float = 60.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.store, self.endpoint, self.leeway, self.clock = store, endpoint, leeway, clock

    def __call__(self) -> str:
        tokens = self.store.load()
        if tokens is not None and tokens.fresh(self.clock(), self.leeway):
            return tokens.access_token
        return self.refresh()

    def refresh(self, rejected: str | None = None) -> str:
        """Refresh under the lock, unless another process already did (then its token is returned).
        `rejected` is an access token the API refused with 401: it is refreshed even if not yet expired."""
        with self.store.locked():
            tokens = self.store.load()
            if tokens is None:
                raise self.store.reauth(f"no tokens stored in {self.store.path}")
            if tokens.access_token != rejected and tokens.fresh(self.clock(), self.leeway):
                return tokens.access_token
            try:
                new = self.endpoint.refresh(tokens)
            except Exception as exc:
                again = self.store.reauth(getattr(exc, "reason", None) or str(exc))
                if type(exc) is type(again):  # the endpoint's "sign in again": the store knows whose sign-in
                    if hasattr(self.store, "mark_rejected"):
                        self.store.mark_rejected(getattr(exc, "reason", None) or "refresh refused")
                    raise again from None
                raise
            self.store.save(new)  # persisted before use: a rotated refresh token is never lost
            return new.access_token
