"""Google Health API on the real pieces: demo API + its OAuth token endpoint → dag.test() → raw Fitbit tables.

One daily data interval (the autumn DST day, 25 h in Berlin) plus the DAG's 3-day trailing re-pull; a rerun
leaves the same rows; the stored sign-in is refreshed and persisted; a revoked sign-in fails at once with the
command to run.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

START = datetime(2026, 10, 25, tzinfo=UTC)
END = START + timedelta(days=1)
REPULL_START = START - timedelta(days=3)
API_TABLES = {  # table → its time column
    "raw.fitbit__heart_rate": "observed_at", "raw.fitbit__steps_daily": "date",
    "raw.fitbit__heart_rate_zones_daily": "date", "raw.fitbit__resting_heart_rate": "date",
    "raw.fitbit__hrv_daily": "date", "raw.fitbit__spo2_daily": "date", "raw.fitbit__respiratory_rate_daily": "date",
    "raw.fitbit__heart_rate_zone_limits": "date", "raw.fitbit__sleep_sessions": "end_at",
    "raw.fitbit__sleep_stages": "started_at", "raw.fitbit__exercises": "start_at",
}
METADATA = ("_loaded_at", "_run_id")


def business_checksum(conn, table: str) -> tuple[int, str]:
    columns = [r[0] for r in conn.execute(
        "select column_name from information_schema.columns where table_schema || '.' || table_name = %s"
        " and column_name <> all(%s) order by ordinal_position", (table, list(METADATA))).fetchall()]
    row = ", ".join(columns)
    return conn.execute(f"select count(*), coalesce(md5(string_agg(({row})::text, '|' order by ({row})::text)), '')"
                        f" from {table} where source = 'google_health_api'").fetchone()


def run_dag(end: datetime = END):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder="dags/google_health_fitness.py")
    assert not bag.import_errors, bag.import_errors
    return bag.get_dag("google_health_fitness").test(logical_date=end)


@pytest.fixture()
def signed_in(warehouse):
    """The demo sign-in `tracker up --demo` leaves in auth.oauth_tokens: a refresh token and an expired
    access token."""
    import psycopg
    from tracker import settings
    from tracker.sources.google_health.token_table import WarehouseTokenStore
    from tracker.stack.local import seed_demo_sign_in

    warehouse.execute("delete from auth.oauth_tokens")
    seed_demo_sign_in()
    return WarehouseTokenStore(lambda: psycopg.connect(settings.warehouse_dsn()), "google_health")


@pytest.fixture()
def empty_api_rows(warehouse):
    for table in API_TABLES:
        warehouse.execute(f"delete from {table} where source = 'google_health_api'")
    warehouse.execute("delete from raw.quarantine where source = 'google_health_api'")


def test_health_dag_loads_the_window_with_its_repull_and_reruns_identically(
        warehouse, demo_api, airflow_db, dbt_manifest, signed_in, empty_api_rows):
    # WHEN the DAG runs for the DST day's data interval
    run = run_dag()
    assert run.state == "success", [(ti.task_id, ti.state) for ti in run.get_task_instances()]
    assert (run.data_interval_start, run.data_interval_end) == (START, END)
    # THEN every API table holds rows, all inside the window widened by the 3-day re-pull
    for table, column in API_TABLES.items():
        n, lo, hi = warehouse.execute(f"select count(*), min({column}), max({column}) from {table}"
                                      f" where source = 'google_health_api'").fetchone()
        assert n > 0, table
        if column == "date":
            assert date(2026, 10, 22) <= lo and hi <= date(2026, 10, 26), (table, lo, hi)
        elif table != "raw.fitbit__sleep_stages":   # stages belong to sessions ending in the window
            assert REPULL_START <= lo and hi < END, (table, lo, hi)
    # AND the DST day has one heart-rate sample per minute of its 25 local hours, none twice
    n, distinct = warehouse.execute(
        "select count(*), count(distinct observed_at) from raw.fitbit__heart_rate where source = 'google_health_api'"
        " and observed_at >= '2026-10-24 22:00Z' and observed_at < '2026-10-25 23:00Z'").fetchone()
    assert n == distinct == 25 * 60
    # AND sleep sessions carry local times from the points' own UTC offsets, with stages inside them
    bad_stages = warehouse.execute(
        "select count(*) from raw.fitbit__sleep_stages st join raw.fitbit__sleep_sessions se using"
        " (person_id, source, log_id) where st.source = 'google_health_api'"
        " and (st.started_at < se.start_at or st.ended_at > se.end_at)").fetchone()[0]
    assert bad_stages == 0
    # AND the expired access token was refreshed and stored; the refresh token was kept
    tokens = signed_in.load()
    assert tokens.access_token.startswith("demo-access-") and tokens.refresh_token == "demo-refresh"
    before = {t: business_checksum(warehouse, t) for t in API_TABLES}
    # WHEN the same window runs again
    assert run_dag().state == "success"
    # THEN the same rows are there
    assert {t: business_checksum(warehouse, t) for t in API_TABLES} == before


def test_revoked_sign_in_fails_at_once_with_the_command_to_run(warehouse, demo_api, airflow_db, dbt_manifest,
                                                               signed_in, capfd):
    from tracker.sources.google_health.oauth import ReauthRequired, Tokens
    from tracker_airflow.hooks import GoogleHealthHook

    # GIVEN a stored sign-in whose refresh token Google revoked
    signed_in.save(Tokens(access_token="old", refresh_token="revoked", expires_at=datetime(2020, 1, 1, tzinfo=UTC)))
    # WHEN the DAG runs
    capfd.readouterr()
    run = run_dag()
    log = capfd.readouterr().out
    # THEN the extract failed on its first try, telling the person what to do
    ti = {t.task_id: t for t in run.get_task_instances()}["extract_load_health"]
    assert (run.state, ti.state, ti.try_number) == ("failed", "failed", 1)
    assert "tracker auth google-health" in log and "action=fail" in log
    with pytest.raises(ReauthRequired, match="invalid_grant"):
        list(GoogleHealthHook().get_client("google_health").list_raw_data_points("heart-rate", START, END))
    # AND the stored refresh token is untouched (nothing half-written)
    assert signed_in.load().refresh_token == "revoked"


def test_concurrent_refreshes_of_one_sign_in_call_google_once(warehouse, demo_api, signed_in):
    """Two tasks finding the access token expired at the same moment: the table lock lets one refresh; the
    other then reads the pair it stored instead of spending the refresh token again."""
    import threading

    from tracker import settings
    from tracker.sources.google_health import oauth

    endpoint = oauth.TokenEndpoint(oauth.OAuthClient(
        "demo-client", "secret", token_url=f"{settings.demo_url()}/google-health/oauth/token"))
    calls = []
    original = endpoint.refresh
    endpoint.refresh = lambda tokens: calls.append(1) or original(tokens)
    barrier, got = threading.Barrier(2), []

    def task():
        barrier.wait()
        got.append(oauth.TokenProvider(signed_in, endpoint)())

    threads = [threading.Thread(target=task) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and got[0] == got[1] == signed_in.load().access_token
    assert signed_in.load().refresh_token == "demo-refresh"


def test_cli_sign_in_stores_the_tokens_in_the_warehouse_row_the_dag_reads(warehouse, demo_api, monkeypatch):
    import webbrowser
    from threading import Thread
    from urllib.parse import parse_qs, urlsplit

    import airflow  # noqa: F401 - initialising Airflow puts the plugins folder (tracker_airflow) on sys.path
    import requests
    import typer
    from tracker import settings
    from tracker.cli.auth import auth_app
    from tracker_airflow.hooks import GoogleHealthHook
    from typer.testing import CliRunner

    def browser(url: str) -> None:  # what the browser does after consent: follow the redirect to 127.0.0.1
        params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        redirect = f"{params['redirect_uri']}?code=4/0Ab-demo&state={params['state']}"
        Thread(target=requests.get, args=(redirect,), kwargs={"timeout": 5}, daemon=True).start()

    monkeypatch.setattr(webbrowser, "open", browser)
    warehouse.execute("delete from auth.oauth_tokens")
    app = typer.Typer()
    app.add_typer(auth_app, name="auth")
    # WHEN the person signs in with the CLI (default store)
    result = CliRunner().invoke(app, ["auth", "google-health", "--client-id", "demo-client", "--client-secret",
                                      "demo-secret", "--timeout", "10",
                                      "--token-url", f"{settings.demo_url()}/google-health/oauth/token"])
    assert result.exit_code == 0, result.output
    # THEN the row the DAG's hook reads holds the new sign-in, and the hook's client can use it
    (tokens,) = warehouse.execute("select tokens from auth.oauth_tokens where provider = 'google_health'"
                                  " and account = 'google_health'").fetchone()
    assert tokens["refresh_token"].startswith("demo-refresh-")
    points = list(GoogleHealthHook().get_client("google_health").list_raw_data_points("heart-rate", START, END))
    assert len(points) == 24 * 60   # one sample a minute of the UTC day
