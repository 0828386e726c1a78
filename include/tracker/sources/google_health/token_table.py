"""Google Health tokens in the warehouse (`auth.oauth_tokens`), where every Airflow task can read them: the
shared `oauth_tokens.WarehouseTokenStore` (transaction-level advisory lock, new pair committed before use)
for provider 'google_health'."""

from __future__ import annotations

from collections.abc import Callable

import psycopg

from tracker.sources import oauth_tokens
from tracker.sources.google_health.token_refresh import ReauthRequired, Tokens

PROVIDER = "google_health"


class WarehouseTokenStore(oauth_tokens.WarehouseTokenStore):
    def __init__(self, connect: Callable[[], psycopg.Connection], account: str, provider: str = PROVIDER) -> None:
        # the "sign in again" error names this account's command (`tracker auth google-health --account …`)
        super().__init__(connect, account, provider, Tokens,
                         lambda detail: ReauthRequired(detail, account=account))
