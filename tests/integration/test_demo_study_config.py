"""`tracker demo --people N --revoked K`'s pieces on the real warehouse and demo API: the study's config (valid,
pseudonymous ids), the seeded Google sign-ins, and a revoked one failing with the command for that account."""

from __future__ import annotations

from datetime import date

import psycopg
import pytest
import yaml

pytestmark = pytest.mark.integration


def test_the_study_config_is_valid_pseudonymous_and_marks_the_last_people_revoked(tmp_path):
    from tracker.config import load_config
    from tracker.demo.study_config import revoked_ids, write_study_config

    path = write_study_config(tmp_path / "people.yml", 12, revoked=2, collect_from=date(2026, 11, 1))
    config = load_config(path)
    assert {p.collect_from for p in config.people} == {date(2026, 11, 1)}  # the study's collection window
    ids = [p.id for p in config.people]
    assert ids == [f"p{i:02d}" for i in range(1, 13)]
    assert all("@" not in p.id for p in config.people)  # the warehouse's id is no e-mail
    assert revoked_ids(12, 2) == ["p11", "p12"]
    assert "p11, p12" in path.read_text().splitlines()[1]
    # every person has the demo's API accounts; Trakt (one token per connection) only the first
    assert all({"google_health", "github", "lastfm"} <= set(p.accounts) for p in config.people)
    assert [p.id for p in config.people if "trakt" in p.accounts] == ["p01"]
    assert len({p.accounts["github"] for p in config.people}) == 12
    assert yaml.safe_load(path.read_text())["people"][0]["locations"][0]["timezone"] == "Europe/Berlin"


@pytest.mark.parametrize(("n", "revoked", "message"), [(0, 0, "between 1 and 500"), (3, 3, "stay signed in")])
def test_a_study_nobody_could_run_is_refused_in_one_line(tmp_path, n, revoked, message):
    from tracker.demo.study_config import write_study_config

    with pytest.raises(ValueError, match=message):
        write_study_config(tmp_path / "people.yml", n, revoked)


def test_seeded_sign_ins_refresh_and_a_revoked_one_names_its_own_account(warehouse, demo_api):
    from tracker import settings
    from tracker.demo.study_config import person_ids, seed_sign_ins
    from tracker.sources.google_health.oauth import ReauthRequired
    from tracker.sources.google_health.token_refresh import OAuthClient, TokenEndpoint
    from tracker.sources.google_health.token_table import WarehouseTokenStore
    from tracker.sources.oauth_tokens import TokenProvider

    def connect():
        return psycopg.connect(settings.warehouse_dsn())

    try:
        tokens = seed_sign_ins(3, revoked=1)
        assert tokens == {"p01": "demo-refresh-p01", "p02": "demo-refresh-p02", "p03": "demo-revoked-p03"}
        endpoint = TokenEndpoint(OAuthClient("demo-client-id", "demo-secret",
                                             token_url=f"{demo_api}/google-health/oauth/token"))
        # a signed-in person refreshes (and the new access token is stored)
        access = TokenProvider(WarehouseTokenStore(connect, "p01"), endpoint)()
        assert access.startswith("demo-access")
        assert WarehouseTokenStore(connect, "p01").load().access_token == access
        # a revoked one fails at once, naming the command for that person's sign-in; the stored pair is kept
        with pytest.raises(ReauthRequired, match=r"tracker auth google-health --account p03"):
            TokenProvider(WarehouseTokenStore(connect, "p03"), endpoint)()
        assert WarehouseTokenStore(connect, "p03").load().refresh_token == "demo-revoked-p03"
        # and is marked refused (gold.dim_person_sync: 'revoked'), with the reason and no secret
        rejected, reason = warehouse.execute(
            "select (tokens ->> 'rejected_at')::timestamptz, tokens ->> 'rejected' from auth.oauth_tokens"
            " where provider = 'google_health' and account = 'p03'").fetchone()
        assert rejected is not None and "invalid_grant" in reason and "demo-revoked" not in reason
        assert warehouse.execute("select tokens ? 'rejected_at' from auth.oauth_tokens where provider ="
                                 " 'google_health' and account = 'p01'").fetchone() == (False,)
        # seeding again (e.g. without --revoked) rewrites the demo's rows: nobody stays revoked by accident
        assert seed_sign_ins(3)["p03"] == "demo-refresh-p03"
        assert warehouse.execute("select tokens ? 'rejected_at' from auth.oauth_tokens where provider ="
                                 " 'google_health' and account = 'p03'").fetchone() == (False,)  # a new sign-in
    finally:
        warehouse.execute("delete from auth.oauth_tokens where provider = 'google_health' and account = any(%s)",
                          (person_ids(3),))
