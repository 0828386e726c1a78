"""Google Health tokens in the warehouse (`auth.oauth_tokens`), where every Airflow task can read them.

Same contract as the file `TokenStore` (load / save / locked), so `TokenProvider` works with either:
`locked()` opens one transaction holding a transaction-level advisory lock on (provider, account), so two
tasks never refresh at once; `load()` and `save()` inside it use that transaction, and the new pair commits
when the block ends — before `TokenProvider.refresh` hands the access token out. A crash before the commit
leaves the previous pair, never half of one.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from contextlib import contextmanager

import psycopg
from psycopg.types.json import Jsonb

from tracker.sources.google_health.oauth import ReauthRequired, Tokens

PROVIDER = "google_health"


class WarehouseTokenStore:
    def __init__(self, connect: Callable[[], psycopg.Connection], account: str, provider: str = PROVIDER) -> None:
        self.connect, self.account, self.provider = connect, account, provider
        self.path = f"auth.oauth_tokens[{provider}/{account}]"   # where, for messages
        self._conn: psycopg.Connection | None = None

    @contextmanager
    def _connection(self) -> Generator[psycopg.Connection, None, None]:
        if self._conn is not None:
            yield self._conn
            return
        with self.connect() as conn:
            yield conn

    def load(self) -> Tokens | None:
        with self._connection() as conn:
            row = conn.execute("select tokens from auth.oauth_tokens where provider = %s and account = %s",
                               (self.provider, self.account)).fetchone()
        if row is None:
            return None
        try:
            return Tokens.from_json(row[0])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ReauthRequired(f"stored tokens in {self.path} are unreadable: {type(exc).__name__}") from None

    def save(self, tokens: Tokens) -> None:
        with self._connection() as conn, conn.transaction():
            conn.execute(
                "insert into auth.oauth_tokens (provider, account, tokens) values (%s, %s, %s)"
                " on conflict (provider, account) do update set tokens = excluded.tokens, updated_at = now()",
                (self.provider, self.account, Jsonb(tokens.to_json())))

    @contextmanager
    def locked(self) -> Generator[None, None, None]:
        with self.connect() as conn, conn.transaction():
            conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"oauth:{self.provider}:{self.account}",))
            self._conn = conn
            try:
                yield
            finally:
                self._conn = None
