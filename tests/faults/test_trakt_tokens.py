"""Trakt token faults: a refresh token Trakt rejects, or two tasks refreshing at once, never lose the stored
pair and never leave a half-written one."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from psycopg.types.json import Jsonb
from tracker import settings
from tracker.sources.trakt.models import TraktToken
from tracker.sources.trakt.tokens import TraktReauthRequired, trakt_token_provider

pytestmark = pytest.mark.integration


def _provider(demo_api: str, account: str):
    return trakt_token_provider(lambda: psycopg.connect(settings.warehouse_dsn()), account,
                                client_id="cid", client_secret="secret", base_url=f"{demo_api}/trakt")


def _seed(warehouse, account: str, token: TraktToken) -> None:
    warehouse.execute("insert into auth.oauth_tokens (provider, account, tokens) values ('trakt', %s, %s)"
                      " on conflict (provider, account) do update set tokens = excluded.tokens",
                      (account, Jsonb(token.to_json())))


def _stored(warehouse, account: str) -> dict:
    return warehouse.execute("select tokens from auth.oauth_tokens where provider = 'trakt' and account = %s",
                             (account,)).fetchone()[0]


@pytest.mark.fault("Trakt refresh token revoked", "one 'run tracker auth trakt' error; the stored pair is kept")
def test_a_revoked_refresh_token_asks_for_a_new_sign_in_and_keeps_the_old_pair(warehouse, demo_api, fault):
    revoked = TraktToken("old", "revoked", expires_in=60, created_at=int(time.time()) - 120)
    _seed(warehouse, "trakt_revoked", revoked)
    with pytest.raises(TraktReauthRequired, match="tracker auth trakt") as caught:
        _provider(demo_api, "trakt_revoked")()
    stored = _stored(warehouse, "trakt_revoked")
    # the pair is kept as it was; the row is marked refused (rejected_at, reason) for gold.dim_person_sync
    kept = {k: v for k, v in stored.items() if k not in ("rejected_at", "rejected")} == revoked.to_json() \
        and "rejected_at" in stored
    fault.record(str(caught.value).splitlines()[0][:120], before=1, after=int(kept), lost=int(not kept))
    assert kept and len(str(caught.value).splitlines()) == 1


@pytest.mark.fault("two tasks refresh one Trakt token at once", "one refresh; both get the committed new token")
def test_two_concurrent_refreshes_refresh_once(warehouse, demo_api, fault):
    expiring = TraktToken("old-access", "demo-refresh-race", expires_in=86400,
                          created_at=int(time.time()) - 86400 + 10)
    _seed(warehouse, "trakt_race", expiring)
    got: list[str] = []
    # both tasks saw the stale token and go for the lock (`refresh()`, what `()` does once the token is due)
    threads = [threading.Thread(target=lambda: got.append(_provider(demo_api, "trakt_race").refresh()))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stored = _stored(warehouse, "trakt_race")
    same = len(got) == 2 and set(got) == {stored["access_token"]}
    fault.record(f"{len(set(got))} distinct token(s) handed out; stored is the one handed out: {same}",
                 before=1, after=int(same), lost=int(not same))
    assert same and stored["access_token"] != "old-access"
