"""Study mode's gold, end to end: three people of this test's own through the real Google Health extract
(demo API) with collection windows, one heart-rate day truncated the way a page-dropping client leaves it,
sign-ins expiring soon, later and never made → dbt → fct_sync_completeness_daily, dim_person_sync,
fct_pipeline_loads_daily say so, and the sign-in alert warns in the dbt run."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

import pytest

pytestmark = pytest.mark.integration

ALPHA, BETA, GAMMA = "h3s_alpha", "h3s_beta", "h3s_gamma"
IDS = [ALPHA, BETA, GAMMA]
RUN = "h3-study-run"
START, END = datetime(2026, 10, 20, tzinfo=UTC), datetime(2026, 10, 27, tzinfo=UTC)
TRUNCATED = date(2026, 10, 23)  # BETA (UTC) keeps only 20:00–24:00 of this day
MODELS = ["+fct_sync_completeness_daily", "+dim_person_sync", "+fct_pipeline_loads_daily", "dim_person"]


def study_config():
    from tracker.config import Person, TrackerConfig

    return TrackerConfig(people=[
        # collected 21–25 October (until 26 October, exclusive), in Berlin: the run's week is clipped to it
        Person(id=ALPHA, timezone="Europe/Berlin", accounts={"google_health": ALPHA},
               collect_from=date(2026, 10, 21), collect_until=date(2026, 10, 26)),
        Person(id=BETA, timezone="UTC", accounts={"google_health": BETA}),
        # enrolled after the run's week: skipped by the extract, reported without data in gold
        Person(id=GAMMA, timezone="Europe/Berlin", accounts={"google_health": GAMMA},
               collect_from=date(2026, 11, 1), collect_until=date(2026, 11, 4)),
    ])


def cleanup(conn) -> None:
    from tracker.sources.catalogue import source

    tables = [t.qualified for t in source("google_health").tables]
    for table in [*tables, "raw.fitbit__heart_rate_changes", "raw.quarantine", "raw.tracker__load_log",
                  "raw.tracker__people", "silver.int_heart_rate_samples_aggregated_to_minutes",
                  "gold.fct_sync_completeness_daily", "gold.dim_person_sync", "gold.fct_pipeline_loads_daily"]:
        if conn.execute("select to_regclass(%s)", (table,)).fetchone()[0]:
            conn.execute(f"delete from {table} where person_id = any(%s)", (IDS,))  # noqa: S608
    conn.execute("delete from auth.oauth_tokens where provider = 'google_health' and account = any(%s)", (IDS,))


@pytest.fixture()
def study(warehouse):
    cleanup(warehouse)
    yield
    cleanup(warehouse)


def clients(tmp_path):
    """account → a demo Google Health client signed in with the demo's refresh token (a file store each)."""
    from tracker import settings
    from tracker.sources.google_health import oauth
    from tracker.sources.google_health.client import GoogleHealthClient

    def client(account: str):
        store = oauth.TokenStore(tmp_path / f"{account}.json")
        store.save(oauth.Tokens("expired", "demo-refresh", datetime(2020, 1, 1, tzinfo=UTC)))
        endpoint = oauth.TokenEndpoint(oauth.OAuthClient(
            "demo-client", "secret", token_url=f"{settings.demo_url()}/google-health/oauth/token"))
        return GoogleHealthClient(f"{settings.demo_url()}/google-health", oauth.TokenProvider(store, endpoint))

    return client


def truncate_day(conn, person: str, day: date) -> None:
    """Load `day` again as a client that drops pages answers it: only its last 4 hours (the real loader)."""
    from tracker.sources.fitbit.tables import HEART_RATE
    from tracker.sources.google_health.extract import SOURCE
    from tracker.warehouse.loader import Window
    from tracker.warehouse.loads import QuarantineScope, load_checked

    start = datetime.combine(day, datetime.min.time(), UTC)
    end = start + timedelta(days=1)
    kept = conn.execute(
        "select person_id, observed_at, bpm, confidence, source, source_file from raw.fitbit__heart_rate"
        " where person_id = %s and observed_at >= %s and observed_at < %s and observed_at >= %s"
        " order by observed_at", (person, start, end, end - timedelta(hours=4))).fetchall()
    assert len(kept) >= 200, len(kept)
    load_checked(conn, HEART_RATE, kept, [], run_id="h3-study-truncated", replace=True,
                 window=Window(start, end, {"person_id": person, "source": kept[0][4]}),
                 quarantine_scope=QuarantineScope(SOURCE, "heart-rate", person, start, end))


def sign_in(conn, account: str, expires_in: timedelta) -> None:
    from psycopg.types.json import Jsonb

    tokens = {"access_token": "secret-access", "refresh_token": "secret-refresh", "scope": "",
              "expires_at": datetime.now(UTC).isoformat(),
              "refresh_token_expires_at": (datetime.now(UTC) + expires_in).isoformat()}
    conn.execute("insert into auth.oauth_tokens (provider, account, tokens) values ('google_health', %s, %s)",
                 (account, Jsonb(tokens)))


def test_study_gold_reports_windows_truncation_sign_ins_and_loads(warehouse, demo_api, tmp_path, study, caplog):
    from tracker.sources.catalogue import source
    from tracker.stack.local import dbt
    from tracker.warehouse.people import sync_people
    from tracker.windows import ExtractWindow

    config = study_config()
    sync_people(warehouse, config, "h3-study-people")
    # GIVEN the run's week through the catalogue's extract (what the DAGs and `tracker extract` call)
    with caplog.at_level(logging.WARNING, logger="tracker.sources.contract"):
        loads = source("google_health").extract_function()(warehouse, clients(tmp_path), config,
                                                            ExtractWindow(START, END), RUN)
    # THEN the person enrolled later is skipped with one line, the others are loaded inside their windows
    assert [r.getMessage() for r in caplog.records] == [
        f"{GAMMA}: skipped, the run's window [2026-10-20T00:00:00+00:00, 2026-10-27T00:00:00+00:00) is outside "
        "their collection window [2026-11-01, 2026-11-04) (Europe/Berlin)"]
    assert {load.person_id for load in loads} == {ALPHA, BETA}
    first, last = warehouse.execute("select min(observed_at), max(observed_at) from raw.fitbit__heart_rate"
                                    " where person_id = %s", (ALPHA,)).fetchone()
    assert first >= datetime(2026, 10, 20, 22, tzinfo=UTC) and last < datetime(2026, 10, 25, 23, tzinfo=UTC)
    # AND every load wrote its row to the load log, in the run
    logged = warehouse.execute("select person_id, count(*), sum(rows) from raw.tracker__load_log"
                               " where run_id = %s group by 1 order by 1", (RUN,)).fetchall()
    assert logged == sorted((p, sum(1 for x in loads if x.person_id == p), sum(x.rows for x in loads
                                                                               if x.person_id == p))
                            for p in (ALPHA, BETA))
    # GIVEN one of BETA's days truncated to its last 4 hours, and three sign-ins' states
    truncate_day(warehouse, BETA, TRUNCATED)
    sign_in(warehouse, ALPHA, timedelta(hours=25))   # expires within 2 days: alert
    sign_in(warehouse, BETA, timedelta(days=6))      # fine
    # (GAMMA has never signed in)
    # WHEN the study's gold builds (the pipeline table then once more: its second run is incremental)
    result = dbt("build", "--select", *MODELS, check=False)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    again = dbt("build", "--select", "fct_pipeline_loads_daily", check=False)
    assert again.returncode == 0, again.stdout[-6000:] + again.stderr[-2000:]
    # THEN the sign-in alert warns in the run
    assert "WARN" in result.stdout and "assert_no_sign_in_expires_within_2_days" in result.stdout

    def rows(sql: str, *args):
        return warehouse.execute(sql, args).fetchall()

    # AND ALPHA's heart rate is reported for exactly the window's days, fully covered, DST day 1500 minutes
    assert rows("select local_date, has_data, expected_minutes, minutes_with_samples, looks_truncated"
                " from gold.fct_sync_completeness_daily where person_id = %s and source_family = 'heart_rate'"
                " order by 1", ALPHA) == [
        (date(2026, 10, d), True, 1500 if d == 25 else 1440, 1500 if d == 25 else 1440, False)
        for d in range(21, 26)]
    # AND BETA's truncated day is flagged, its neighbours are not
    beta = dict(rows("select local_date, looks_truncated from gold.fct_sync_completeness_daily"
                     " where person_id = %s and source_family = 'heart_rate' and has_data", BETA))
    assert beta[TRUNCATED] is True and [d for d, t in beta.items() if t] == [TRUNCATED]
    assert rows("select minutes_with_samples, coverage::float8 from gold.fct_sync_completeness_daily"
                " where person_id = %s and source_family = 'heart_rate' and local_date = %s", BETA, TRUNCATED) \
        == [(240, pytest.approx(240 / 1440, abs=1e-4))]
    # AND GAMMA's window is reported without data
    assert rows("select local_date, has_data from gold.fct_sync_completeness_daily where person_id = %s"
                " and source_family = 'heart_rate' order by 1", GAMMA) == [
        (date(2026, 11, d), False) for d in (1, 2, 3)]
    # AND per person: last data, days without data, truncated days, sign-in status and alert
    sync = {r[0]: r[1:] for r in rows(
        "select person_id, last_data_date, days_reported, days_without_data, days_looking_truncated,"
        " sign_in_status, sign_in_expires_in_days::float8, sign_in_alert from gold.dim_person_sync"
        " where person_id = any(%s) and source_family = 'heart_rate'", IDS)}
    assert sync[ALPHA] == (date(2026, 10, 25), 5, 0, 0, "expiring", pytest.approx(1.0, abs=0.1), True)
    assert sync[BETA][0] == date(2026, 10, 26) and sync[BETA][3:] == (1, "signed_in", pytest.approx(6.0, abs=0.1),
                                                                      False)
    assert sync[BETA][2] == sync[BETA][1] - len([d for d in beta if d < date.today()])
    assert sync[GAMMA] == (None, 3, 3, 0, "missing", None, True)
    # AND no token value reaches gold
    columns = {r[0] for r in rows("select column_name from information_schema.columns where table_schema ="
                                  " 'gold' and table_name = 'dim_person_sync'")}
    assert "tokens" not in columns and not any("token" in c and "expires" not in c for c in columns)
    assert rows("select count(*) from gold.dim_person_sync where row_to_json(dim_person_sync)::text like"
                " '%%secret-%%'") == [(0,)]
    # AND pipeline health counts the run's loads and the truncating reload per person
    today = datetime.now(UTC).date()
    health = {r[0]: r[1:] for r in rows(
        "select person_id, loads, runs, rows_offered, last_loaded_at is not null from gold.fct_pipeline_loads_daily"
        " where load_date = %s and source = 'google_health_api' and person_id = any(%s)", today, IDS)}
    alpha_loads = [x for x in loads if x.person_id == ALPHA]
    assert health[ALPHA] == (len(alpha_loads), 1, sum(x.rows for x in alpha_loads), True)
    assert health[BETA][:2] == (sum(1 for x in loads if x.person_id == BETA) + 1, 2)
    assert GAMMA not in health
