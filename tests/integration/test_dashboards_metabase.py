"""`tracker metabase sync` against a local server answering like Metabase's REST API (recorded responses in
tests/fixtures/metabase/, stateful): first sync provisions everything, a second changes nothing, a changed
definition updates in place. Metabase itself cannot run here (no Docker; its JAR is in no reachable registry).

The server's `sync_schema` reads the real session warehouse as the analyst role, so the dbt descriptions
that dbt-metabase pushes land on the gold tables and columns the analyst really sees.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

FIXTURES = Path(__file__).parents[1] / "fixtures" / "metabase"
ROOT = Path(__file__).parents[2]
EMAIL, PASSWORD = "tracker@localhost", "mb-admin-Passw0rd"


def _server_module():
    spec = importlib.util.spec_from_file_location("fake_metabase", FIXTURES / "server.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture()
def metabase():
    server, state = _server_module().start()
    yield f"http://127.0.0.1:{server.server_address[1]}", state
    server.shutdown()


@pytest.fixture(scope="module")
def gold(pg, dbt_manifest):
    """Every gold table exists (built here, on whatever raw holds, when no earlier test built it)."""
    import psycopg
    from tracker import settings
    from tracker.dashboards.metabase import gold_models
    from tracker.stack.local import dbt

    models = gold_models(dbt_manifest)
    with psycopg.connect(settings.warehouse_dsn()) as conn:
        missing = [m for m in models if conn.execute("select to_regclass(%s)", (f"gold.{m}",)).fetchone()[0] is None]
    if missing:
        result = dbt("run", "--select", *[f"+{m}" for m in missing], check=False)
        assert result.returncode == 0, result.stdout[-4000:]
    return dbt_manifest


def _sync(url: str, dashboards, manifest=None):
    from tracker import settings
    from tracker.dashboards import metabase

    conn = metabase.WarehouseConnection(host=settings.HOST, port=settings.port("postgres"),
                                        dbname=settings.WAREHOUSE_DB, user=settings.ANALYST_ROLE,
                                        password=settings.Secrets.load_or_create().analyst_password)
    return metabase.sync(metabase.MetabaseClient(url), dashboards, admin_email=EMAIL, admin_password=PASSWORD,
                         database=conn, person_id="me", manifest=manifest)


def test_first_sync_provisions_everything_and_a_second_changes_nothing(metabase, gold):
    from tracker.dashboards.definitions import load_dashboards
    from tracker.dashboards.metabase import DATABASE_NAME

    url, mb = metabase
    dashboards = load_dashboards()
    analyst_questions = [(d, q) for d in dashboards for q in d.questions if q.connection == "analyst"]
    # GIVEN a new Metabase (setup token, no user) WHEN the first sync runs
    first = _sync(url, dashboards, manifest=gold)
    # THEN the first user was set up with the token, once
    assert [p for m, p, _ in mb.requests if m == "POST" and p == "/api/setup"] == ["/api/setup"]
    assert mb.properties["has-user-setup"] and mb.users == {EMAIL: PASSWORD}
    # AND the warehouse is connected as the read-only analyst
    (db,) = mb.databases.values()
    assert db["name"] == DATABASE_NAME and db["engine"] == "postgres" and db["details"]["user"] == "analyst"
    # AND one native card per analyst question, in one collection, with the definition's SQL and chart
    (collection,) = mb.collections.values()
    assert len(mb.cards) == len(analyst_questions)
    by_name = {c["name"]: c for c in mb.cards.values()}
    for _, q in analyst_questions:
        card = by_name[q.title]
        assert card["collection_id"] == collection["id"] and card["dataset_query"]["database"] == db["id"]
        assert card["dataset_query"]["native"]["query"] == q.sql
        assert card["display"] == {"point": "scatter", "number": "scalar"}.get(q.chart.type, q.chart.type)
        if q.parameters:
            assert card["dataset_query"]["native"]["template-tags"]["person"]["default"] == "me"
    # AND one dashboard per definition: every analyst card on it, the Person filter wired to each
    assert sorted(x["name"] for x in mb.dashboards.values()) == sorted(d.title for d in dashboards)
    for d in dashboards:
        dash = next(x for x in mb.dashboards.values() if x["name"] == d.title)
        wanted = {by_name[q.title]["id"] for q in d.questions if q.connection == "analyst"}
        assert {dc["card_id"] for dc in dash["dashcards"]} == wanted
        with_person = {by_name[q.title]["id"] for q in d.questions if q.connection == "analyst" and q.parameters}
        assert {dc["card_id"] for dc in dash["dashcards"] if dc["parameter_mappings"]} == with_person
        assert all(dc["parameter_mappings"][0]["parameter_id"] == "tracker_person" for dc in dash["dashcards"]
                   if dc["parameter_mappings"])
        assert all(dc["col"] + dc["size_x"] <= 24 for dc in dash["dashcards"])
        assert dash["parameters"][0]["default"] == "me"
    assert first.skipped == ["pipeline_health/quarantined_rows", "pipeline_health/run_durations"]
    # AND the dbt docs' descriptions reached the gold tables and columns (dbt-metabase)
    manifest = json.loads(gold.read_text())
    model = manifest["nodes"]["model.tracker.fct_sleep_daily"]
    table = next(t for t in mb.tables.values() if (t["schema"], t["name"]) == ("gold", "fct_sleep_daily"))
    assert table["description"] == model["description"].strip() or table["description"] == model["description"]
    fields = {f["name"]: f for f in mb.fields.values() if f["table_id"] == table["id"]}
    assert fields["asleep_basis"]["description"] == model["columns"]["asleep_basis"]["description"]
    assert "pushed" in first.descriptions, first.descriptions
    # AND Metabase sees what the analyst may read: gold, never raw, silver or the token table
    schemas = {t["schema"] for t in mb.tables.values()}
    assert "gold" in schemas and not schemas & {"raw", "silver", "auth"}, schemas

    # WHEN the same definitions are synced again
    before, writes = mb.snapshot(), len(mb.content_writes())
    second = _sync(url, dashboards, manifest=gold)
    # THEN nothing was written and nothing changed
    assert not second.changed and second.created == [] and second.updated == [], second.lines()
    assert mb.content_writes()[writes:] == []
    assert mb.snapshot() == before


def test_a_changed_definition_updates_cards_and_dashboards_in_place(metabase, gold, tmp_path):
    from tracker.dashboards.definitions import load_dashboards

    url, mb = metabase
    folder = tmp_path / "dashboards"
    shutil.copytree(ROOT / "dashboards", folder)
    _sync(url, load_dashboards(folder))
    cards = {c["description"].rsplit("tracker: ", 1)[1].rstrip(")"): c["id"] for c in mb.cards.values()}
    dashboard_ids = sorted(mb.dashboards)
    # GIVEN a question retitled with new SQL, and another removed from its dashboard
    path = folder / "daily_overview.yml"
    text = path.read_text()
    edits = {"title: Sleep duration": "title: Sleep, minutes",
             "          asleep_minutes,\n          in_bed_minutes,\n": "          asleep_minutes,\n",
             "y: [asleep_minutes, in_bed_minutes, asleep_minutes_7d_mean]":
                 "y: [asleep_minutes, asleep_minutes_7d_mean]"}
    for old, new in edits.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    start = text.index("  - id: sleep_regularity")
    text = text[:start] + text[text.index("  - id: zone_minutes"):]
    path.write_text(text)
    # WHEN synced
    result = _sync(url, load_dashboards(folder))
    # THEN the same card carries the new title and SQL; nothing new was created
    card = mb.cards[cards["daily_overview/sleep_duration"]]
    assert card["name"] == "Sleep, minutes" and "in_bed_minutes" not in card["dataset_query"]["native"]["query"]
    assert card["visualization_settings"]["graph.metrics"] == ["asleep_minutes", "asleep_minutes_7d_mean"]
    assert result.created == [] and sorted(mb.dashboards) == dashboard_ids
    assert result.updated == ["card daily_overview/sleep_duration (name, visualization_settings, dataset_query)",
                              "dashboard daily_overview (dashcards)"]
    # AND the removed question's card is archived (kept in Metabase's trash), and left its dashboard
    assert mb.cards[cards["daily_overview/sleep_regularity"]]["archived"] is True
    assert result.archived == ["card daily_overview/sleep_regularity"]
    overview = next(d for d in mb.dashboards.values() if d["name"] == "Daily overview")
    assert cards["daily_overview/sleep_regularity"] not in {dc["card_id"] for dc in overview["dashcards"]}
    assert len(overview["dashcards"]) == len(load_dashboards(folder)[0].questions)
    # AND a third sync changes nothing again
    writes = len(mb.content_writes())
    assert not _sync(url, load_dashboards(folder)).changed and mb.content_writes()[writes:] == []


def test_wrong_admin_password_and_no_metabase_fail_in_one_line(metabase, gold, monkeypatch):
    import typer
    from tracker.cli.report import register
    from tracker.dashboards.definitions import load_dashboards
    from typer.testing import CliRunner

    url, mb = metabase
    _sync(url, load_dashboards())  # set up, with the right password
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    monkeypatch.setenv("TRACKER_METABASE_PASSWORD", "not-the-password")
    out = runner.invoke(app, ["metabase", "sync", "--url", url, "--no-descriptions"])
    assert out.exit_code == 2
    assert out.output.strip() == ("error: POST /api/session: HTTP 401: password: did not match stored password")
    out = runner.invoke(app, ["metabase", "sync", "--url", "http://127.0.0.1:9", "--no-descriptions"])
    assert out.exit_code == 2 and out.output.strip() == (
        "error: cannot reach Metabase at http://127.0.0.1:9 (ConnectionError)")
    # AND with the right password the command prints what it did, without any secret
    monkeypatch.setenv("TRACKER_METABASE_PASSWORD", PASSWORD)
    out = runner.invoke(app, ["metabase", "sync", "--url", url, "--no-descriptions"])
    assert out.exit_code == 0, out.output
    assert "created: nothing" in out.output and "updated: nothing" in out.output
    assert PASSWORD not in out.output and "analyst_password" not in out.output
    monkeypatch.delenv("TRACKER_METABASE_PASSWORD")
    out = runner.invoke(app, ["metabase", "sync", "--url", url])
    assert out.exit_code == 2 and "set TRACKER_METABASE_PASSWORD" in out.output
