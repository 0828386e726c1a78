"""Every dashboard question's SQL against a warehouse built by dbt from 30 days of demo data, and the static
report rendered from it.

GIVEN a person of the test's own with 30 days from every demo source (Google Health, GitHub, Last.fm, Trakt,
Open-Meteo through the real extracts; Netflix / Spotify / YouTube exports through the real importers) and the
gold models the dashboards read built by one `dbt run`, each question runs as the role its definition names
(gold as `analyst`), returns rows and every column its chart draws; the report has one page per dashboard
whose charts carry those rows.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from support import chromium as _chromium

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

TODAY = date(2026, 11, 24)
END = datetime(2026, 11, 24, tzinfo=UTC)
START = END - timedelta(days=30)
RAW = ("raw.github__commits", "raw.github__pull_requests", "raw.github__reviews", "raw.github__issues",
       "raw.github__contributions_daily", "raw.lastfm__scrobbles", "raw.trakt__history",
       "raw.spotify__streams", "raw.netflix__viewing_activity", "raw.youtube__watch_history",
       "raw.open_meteo__hourly", "raw.quarantine", "raw.fitbit__heart_rate", "raw.fitbit__resting_heart_rate",
       "raw.fitbit__sleep_sessions", "raw.fitbit__sleep_stages", "raw.fitbit__exercises",
       "raw.fitbit__steps_daily", "raw.fitbit__hrv_daily", "raw.fitbit__spo2_daily",
       "raw.fitbit__respiratory_rate_daily", "raw.fitbit__heart_rate_zones_daily",
       "raw.fitbit__heart_rate_zone_limits", "raw.fitbit__heart_rate_changes", "raw.tracker__load_log",
       "raw.tracker__people")


def _load(conn, person, demo_url: str, tmp, monkeypatch) -> None:
    from tracker import settings
    from tracker.config import TrackerConfig
    from tracker.demo.exports import import_demo_exports
    from tracker.sources.github import extract as github
    from tracker.sources.github.client import GitHubClient
    from tracker.sources.google_health import oauth
    from tracker.sources.google_health.client import GoogleHealthClient
    from tracker.sources.google_health.extract import extract_person
    from tracker.sources.lastfm import extract as lastfm
    from tracker.sources.lastfm.client import LastfmClient
    from tracker.sources.open_meteo import extract as weather
    from tracker.sources.open_meteo.client import OpenMeteoClient
    from tracker.sources.trakt import extract as trakt
    from tracker.sources.trakt.client import TraktClient
    from tracker.warehouse import quarantine
    from tracker.warehouse.people import sync_people
    from tracker.windows import ExtractWindow

    config, window, run = TrackerConfig(people=[person]), ExtractWindow(START, END), "test-dashboards"
    sync_people(conn, config, run)
    github.extract_and_load(conn, lambda login: GitHubClient(
        "t", login, rest_url=f"{demo_url}/github/api", graphql_url=f"{demo_url}/github/api/graphql"),
        config, window, run)
    lastfm.extract_and_load(conn, lambda user: LastfmClient("k", user, base_url=f"{demo_url}/lastfm/2.0/"),
                            config, window, run)
    trakt.extract_and_load(conn, TraktClient("c", "t", base_url=f"{demo_url}/trakt"), config, window, run)
    weather.extract_and_load(conn, OpenMeteoClient(archive_url=f"{demo_url}/open-meteo/v1/archive",
                                                   forecast_url=f"{demo_url}/open-meteo/v1/forecast"),
                             config, window, run)
    store = oauth.TokenStore(tmp / "google_health.json")
    store.save(oauth.Tokens("expired", "demo-refresh", datetime(2020, 1, 1, tzinfo=UTC)))
    endpoint = oauth.TokenEndpoint(oauth.OAuthClient("demo-client", "secret",
                                                     token_url=f"{demo_url}/google-health/oauth/token"))
    client = GoogleHealthClient(f"{demo_url}/google-health", oauth.TokenProvider(store, endpoint))
    extract_person(conn, client, person, window, run, repull=timedelta(0))
    people = tmp / "people.yml"
    people.write_text(f"people:\n  - id: {person.id}\n    timezone: {person.timezone}\n"
                      f"    max_heart_rate: {person.max_heart_rate}\n")
    monkeypatch.setenv("TRACKER_CONFIG", str(people))  # the demo export import reads the config
    import_demo_exports(30, today=TODAY, folder=tmp / "exports", dsn=settings.warehouse_dsn(), echo=lambda _: None)
    # the demo's data is clean: two records a Last.fm load would have refused, through the quarantine writer
    quarantine.replace(conn, person_id=person.id, source="lastfm", entity="scrobbles", run_id=run,
                       window_start=START, window_end=END, rejected=[
                           quarantine.Rejected("page 1 item 3", "scrobble without artist", '{"name": "x"}'),
                           quarantine.Rejected("page 2 item 1", "scrobble without artist", '{"name": "y"}')])


@pytest.fixture(scope="module")
def built(pg, demo_api, airflow_db, tmp_path_factory):
    """(person id, dashboards): 30 days of demo data for a person of this module, gold built by one dbt run."""
    import psycopg
    from tracker import settings
    from tracker.config import Location, Person
    from tracker.dashboards.definitions import load_dashboards
    from tracker.stack.local import dbt

    person = Person(id=f"t_dash_{uuid.uuid4().hex[:8]}", timezone="Europe/Berlin", max_heart_rate=186,
                    locations=[Location(name="home", latitude=52.52, longitude=13.41, timezone="Europe/Berlin")],
                    accounts={"github": "demo-user", "lastfm": "demo-user", "trakt": "demo-user",
                              "google_health": "google_health"})
    dashboards = load_dashboards()
    models = sorted({t.split(".", 1)[1] for d in dashboards for q in d.questions for t in q.tables()
                     if t.startswith("gold.")})
    with psycopg.connect(settings.warehouse_dsn(), autocommit=True) as conn, pytest.MonkeyPatch.context() as mp:
        try:
            _load(conn, person, demo_api, tmp_path_factory.mktemp("dash"), mp)
            # the gold models the dashboards read, and everything upstream of them: one dbt run
            result = dbt("run", "--select", *[f"+{m}" for m in models], check=False)
            assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
            yield person.id, dashboards
        finally:
            for table in RAW:
                conn.execute(f"delete from {table} where person_id = %s", (person.id,))


def test_every_question_runs_as_its_role_and_returns_what_its_chart_draws(built):
    from tracker.dashboards import queries

    person_id, dashboards = built
    counts = {}
    with queries.connections() as conns:
        for dashboard in dashboards:
            for q in dashboard.questions:
                result = queries.run(conns.get(q.connection), q, person_id)
                missing = [c for c in q.chart.used_columns() if c not in result.columns]
                assert not missing, f"{dashboard.id}/{q.id}: no column {missing} in {result.columns}"
                counts[f"{dashboard.id}/{q.id}"] = len(result.rows)
                if q.id == "last_load":
                    loaded = {r["source"] for r in result.records()}
                # AND a chart has figures other than 0 (a chart of zeros says nothing)
                values = [r[c] for r in result.records() for c in q.chart.y]
                assert not values or any(v not in (None, 0) for v in values), f"{q.id}: {values}"
    # THEN every question reading the warehouse has the demo's data (Airflow's runs: none in this session; no
    # sign-in to renew: an empty list is the healthy state)
    empty = [k for k, n in counts.items() if n == 0
             and k not in ("pipeline_health/run_durations", "study_completeness/sign_ins_expiring")]
    assert not empty, counts
    # (the last load of each of the five API sources and of the three media imports: imports log their loads)
    assert counts["daily_overview/resting_heart_rate"] >= 28 and counts["pipeline_health/last_load"] == 8
    assert {"netflix", "spotify", "youtube", "github", "lastfm", "trakt"} <= loaded, loaded


def test_gold_questions_really_run_as_the_analyst_who_cannot_read_raw(built):
    import psycopg
    from tracker.dashboards import queries
    from tracker.dashboards.definitions import Chart, Question

    person_id, dashboards = built
    raw_question = next(q for d in dashboards for q in d.questions if q.connection == "loader")
    gold_questions = [q for d in dashboards for q in d.questions if q.connection == "analyst"]
    assert all(t.startswith("gold.") for q in gold_questions for t in q.tables())
    with queries.connections() as conns:
        analyst = conns.get("analyst")
        assert analyst.execute("select current_user").fetchone() == ("analyst",)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            queries.run(analyst, raw_question, person_id)
        analyst.rollback()
        # AND a question cannot write, even where its role could
        writer = Question(id="w", title="w", description="w", chart=Chart(type="table"),
                          sql="delete from raw.quarantine where person_id = {{person}} returning id")
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            queries.run(conns.get("loader"), writer, person_id)


def test_the_report_has_a_page_per_dashboard_with_every_chart_and_its_rows(built, tmp_path):
    from tracker.dashboards import queries
    from tracker.dashboards.report import write_report

    person_id, dashboards = built
    report = write_report(tmp_path / "report", dashboards, person_id=person_id)
    assert report.failures == []
    assert sorted(p.name for p in report.pages) == ["daily_overview.html", "index.html", "pipeline_health.html",
                                                          "study_completeness.html"]
    index = (tmp_path / "report" / "index.html").read_text()
    assert 'href="daily_overview.html"' in index and 'href="pipeline_health.html"' in index
    # the JS is served from the report folder itself: no network needed to view it
    for js in ("vega.min.js", "vega-lite.min.js", "vega-embed.min.js"):
        assert (tmp_path / "report" / "static" / js).stat().st_size > 10_000
    with queries.connections() as conns:
        for dashboard in dashboards:
            html = (tmp_path / "report" / f"{dashboard.id}.html").read_text()
            assert "https://" not in re.sub(r"<a [^>]*>", "", html.split("<script id=\"specs\"")[0])
            specs = json.loads(re.search(r'<script id="specs" type="application/json">(.*?)</script>', html,
                                         re.S).group(1))
            assert [s["id"] for s in specs] == [q.id for q in dashboard.questions]
            for spec, q in zip(specs, dashboard.questions, strict=True):
                rows = queries.run(conns.get(q.connection), q, person_id).records()
                assert spec["rows"] == len(rows), q.id
                section = html.split(f'id="q-{q.id}"', 1)[1].split("</section>", 1)[0]
                if not rows:  # Airflow's runs in this session: none
                    assert "vega_lite" not in spec and "No rows yet." in section, q.id
                elif q.chart.type == "table":
                    assert section.count("<tr>") == len(rows) + 1, q.id
                elif q.chart.type == "number":
                    assert f'data-value="{rows[0][q.chart.value]}"' in section, q.id
                else:  # the chart carries exactly the question's rows, and a div to draw into
                    assert spec["vega_lite"]["data"]["values"] == json.loads(json.dumps(rows)), q.id
                    assert f'<div class="chart" id="chart-{q.id}">' in section


@pytest.mark.skipif(_chromium() is None, reason="Debian chromium is not installed (apt-get install chromium)")
def test_every_chart_of_the_report_is_drawn_with_its_rows_in_headless_chromium(built, tmp_path):
    """The report's part of the browser test: open each page offline in Chromium, let vega-embed draw."""
    import subprocess

    from tracker.dashboards.report import write_report

    person_id, dashboards = built
    write_report(tmp_path / "report", dashboards, person_id=person_id)
    counts = {}
    for dashboard in dashboards:
        page = tmp_path / "report" / f"{dashboard.id}.html"
        dom = subprocess.run(
            [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--user-data-dir=" + str(tmp_path / "chromium"), "--virtual-time-budget=15000",
             "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120, check=True).stdout
        specs = json.loads(re.search(r'<script id="specs" type="application/json">(.*?)</script>', dom,
                                     re.S).group(1))
        for spec in specs:
            if "vega_lite" not in spec:
                continue
            div = re.search(rf'<div class="chart[^"]*" id="chart-{spec["id"]}"[^>]*>(.*?)</div>\s*<div class="meta">',
                            dom, re.S)
            assert div, f"{dashboard.id}/{spec['id']}: chart div missing"
            opening = dom[div.start():div.start() + 300]
            assert 'data-rendered="true"' in opening and "data-error" not in opening, (spec["id"], opening)
            # THEN the SVG holds one mark per row (points/bars/line segments): drawn with the data
            svg = div.group(1)
            marks = len(re.findall(r'role="graphics-symbol"', svg))
            assert "<svg" in svg and marks >= (1 if spec["type"] == "line" else spec["rows"]), (spec["id"], marks)
            counts[f"{dashboard.id}/{spec['id']}"] = (spec["rows"], marks)
        if shots := os.environ.get("TRACKER_REPORT_SCREENSHOTS"):  # the README's pictures, from this data
            height = 2450 if dashboard.id == "daily_overview" else 1350
            subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                            "--user-data-dir=" + str(tmp_path / "chromium"), "--virtual-time-budget=15000",
                            f"--window-size=1400,{height}", f"--screenshot={shots}/report_{dashboard.id}.png",
                            page.as_uri()], capture_output=True, timeout=120, check=True)
    print(counts)


def _cli():
    import typer
    from tracker.cli.report import register
    from typer.testing import CliRunner

    app = typer.Typer()
    register(app)
    return app, CliRunner()


def test_tracker_report_writes_every_page_and_says_where(built, tmp_path, monkeypatch):
    person_id, dashboards = built
    config = tmp_path / "people.yml"
    config.write_text(f"people:\n  - id: {person_id}\n    timezone: Europe/Berlin\n")
    monkeypatch.setenv("TRACKER_CONFIG", str(config))
    app, runner = _cli()
    out = runner.invoke(app, ["report", "--out", str(tmp_path / "r")])
    assert out.exit_code == 0, out.output
    questions = sum(len(d.questions) for d in dashboards)
    assert out.output.strip() == (f"report: 3 dashboards, {questions}/{questions} questions answered for "
                                  f"{person_id} → {(tmp_path / 'r' / 'index.html').as_uri()}")
    assert (tmp_path / "r" / "daily_overview.html").exists()


def test_an_unreachable_database_leaves_its_cards_unavailable_not_a_traceback(built, tmp_path, monkeypatch):
    from tracker import settings

    person_id, dashboards = built
    config = tmp_path / "people.yml"
    config.write_text(f"people:\n  - id: {person_id}\n    timezone: Europe/Berlin\n")
    monkeypatch.setenv("TRACKER_CONFIG", str(config))
    secret = settings.Secrets.load_or_create().analyst_password
    # GIVEN the analyst's login refused (wrong password) and Airflow's database gone
    monkeypatch.setenv("TRACKER_ANALYST_DSN", f"postgresql://analyst:wrong-{secret}@127.0.0.1:{settings.port('postgres')}"
                                              "/warehouse")
    monkeypatch.setenv("TRACKER_AIRFLOW_DSN", "postgresql://airflow:x@127.0.0.1:9/airflow")
    app, runner = _cli()
    out = runner.invoke(app, ["report", "--out", str(tmp_path / "r")])
    # THEN exit 1, one line per unanswered question naming it, the raw-reading cards still answered
    assert out.exit_code == 1, out.output
    lines = out.output.strip().splitlines()
    unanswered = [f"{d.id}/{q.id}" for d in dashboards for q in d.questions if q.connection != "loader"]
    assert "pipeline_health/run_durations" in unanswered
    assert [line.split(": ")[1] for line in lines[:-1]] == unanswered
    assert all(line.startswith("not available: ") and "connection: " in line for line in lines[:-1])
    assert "password authentication failed" in lines[0] and secret not in out.output
    assert lines[-1].startswith("report: 3 dashboards, 1/") and "Traceback" not in out.output
    page = (tmp_path / "r" / "pipeline_health.html").read_text()
    assert "Not available: airflow connection:" in page and "Quarantined rows" in page


def test_exposures_check_passes_on_the_repo_and_fails_on_a_changed_definition(tmp_path):
    app, runner = _cli()
    out = runner.invoke(app, ["dashboards", "exposures", "--check"])
    assert out.exit_code == 0 and "up to date (3 exposures)" in out.output, out.output
    import shutil

    shutil.copytree(Path(__file__).parents[2] / "dashboards", tmp_path / "d")
    (tmp_path / "d" / "daily_overview.yml").write_text(
        (tmp_path / "d" / "daily_overview.yml").read_text().replace("title: Daily overview", "title: Days"))
    out = runner.invoke(app, ["dashboards", "exposures", "--check", "--definitions", str(tmp_path / "d")])
    assert out.exit_code == 1 and "is stale: run `tracker dashboards exposures`" in out.output
    (tmp_path / "d" / "daily_overview.yml").write_text("id: daily_overview\n")
    out = runner.invoke(app, ["dashboards", "exposures", "--check", "--definitions", str(tmp_path / "d")])
    assert out.exit_code == 2 and out.output.startswith("error: daily_overview.yml: title: Field required")


def test_regenerate_after_a_dbt_run_writes_one_report_per_configured_person(built, tmp_path, monkeypatch):
    from tracker.dashboards.report import regenerate

    person_id, dashboards = built
    config = tmp_path / "people.yml"
    config.write_text(f"people:\n  - id: {person_id}\n    timezone: Europe/Berlin\n"
                      "  - id: t_dash_nobody\n    timezone: Europe/Berlin\n")
    monkeypatch.setenv("TRACKER_CONFIG", str(config))
    monkeypatch.setenv("TRACKER_REPORT_DIR", str(tmp_path / "served"))
    made = regenerate(dashboards=dashboards)
    assert made.failures == []
    index = (tmp_path / "served" / "index.html").read_text()
    assert f'href="{person_id}/index.html"' in index and 'href="t_dash_nobody/index.html"' in index
    # each person's own rows: the person without data gets empty cards, not someone else's figures
    mine = (tmp_path / "served" / person_id / "daily_overview.html").read_text()
    theirs = (tmp_path / "served" / "t_dash_nobody" / "daily_overview.html").read_text()
    assert '"rows":31' in mine and theirs.count("No rows yet.") == len(dashboards[0].questions)


def test_the_stack_serves_the_report_next_to_the_dbt_docs_behind_its_login(built, tmp_path, monkeypatch):
    import threading

    import requests
    from tracker.dashboards.report import default_report_dir, write_report
    from tracker.stack.docs_server import make_server
    from tracker.stack.env import stack_env

    person_id, dashboards = built
    # the default folder is inside the dbt target folder that `tracker up` serves (stack.local.start_docs)
    monkeypatch.delenv("TRACKER_REPORT_DIR", raising=False)
    assert default_report_dir() == Path(stack_env(demo=True)["DBT_TARGET_PATH"]) / "report"
    target = tmp_path / "target"
    write_report(target / "report", dashboards, person_id=person_id)
    server = make_server("127.0.0.1", 0, target, "docs-pw")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert requests.get(f"{base}/report/", timeout=10).status_code == 401
        page = requests.get(f"{base}/report/", auth=("tracker", "docs-pw"), timeout=10)
        assert page.status_code == 200 and 'href="daily_overview.html"' in page.text
        js = requests.get(f"{base}/report/static/vega-lite.min.js", auth=("tracker", "docs-pw"), timeout=10)
        assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    finally:
        server.shutdown()
