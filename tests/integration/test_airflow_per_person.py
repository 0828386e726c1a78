"""One mapped extract task per person, on the real pieces (demo APIs, the session warehouse, dag.test()):
a person's failure is theirs alone and says who and why; manual runs take validated params."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import yaml

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

DAY = datetime(2026, 10, 12, tzinfo=UTC)
HOME = {"name": "home", "latitude": 52.52, "longitude": 13.41, "timezone": "Europe/Berlin"}
PEOPLE = [
    {"id": "me", "timezone": "Europe/Berlin", "locations": [HOME], "accounts": {"google_health": "google_health"}},
    {"id": "revoked_person", "timezone": "Europe/Berlin", "accounts": {"google_health": "revoked_gh"}},
]


@pytest.fixture()
def two_people(tmp_path, monkeypatch, warehouse):
    path = tmp_path / "people.yml"
    path.write_text(yaml.safe_dump({"people": PEOPLE}))
    monkeypatch.setenv("TRACKER_CONFIG", str(path))
    yield [p["id"] for p in PEOPLE]
    warehouse.execute("delete from raw.tracker__people where person_id = 'revoked_person'")
    warehouse.execute("delete from auth.oauth_tokens where account = 'revoked_gh'")


def dag_run(dag_id: str, **kwargs):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=f"dags/{dag_id}.py")
    assert not bag.import_errors, bag.import_errors
    return bag.get_dag(dag_id).test(**kwargs)


def test_a_revoked_sign_in_fails_that_person_alone_and_says_who_and_why(two_people, warehouse, demo_api,
                                                                        airflow_db, dbt_manifest, capfd, caplog):
    import psycopg
    from tracker import settings
    from tracker.sources.google_health.oauth import Tokens
    from tracker.sources.google_health.token_table import WarehouseTokenStore
    from tracker.stack.local import seed_demo_sign_in

    # GIVEN two people with Google Health: `me` signed in, `revoked_person` whose refresh token Google revoked
    warehouse.execute("delete from auth.oauth_tokens")
    seed_demo_sign_in()
    WarehouseTokenStore(lambda: psycopg.connect(settings.warehouse_dsn()), "revoked_gh").save(
        Tokens(access_token="old", refresh_token="revoked", expires_at=datetime(2020, 1, 1, tzinfo=UTC)))
    warehouse.execute("delete from raw.fitbit__heart_rate where source = 'google_health_api'")
    warehouse.execute("delete from quota.request_counts where api = 'google_health'")
    # WHEN the DAG runs one day
    capfd.readouterr()
    caplog.clear()
    run = dag_run("google_health_fitness", logical_date=DAY + timedelta(days=1))
    log = capfd.readouterr().out + caplog.text  # Airflow's logging: stdout or stdlib, by what ran before
    # THEN one extract task ran per person; the revoked one failed on its first try, the other succeeded
    tis = {ti.rendered_map_index: ti for ti in run.get_task_instances() if ti.task_id == "extract_load_health"}
    assert sorted(tis) == ["me", "revoked_person"]
    assert (tis["revoked_person"].state, tis["revoked_person"].try_number) == ("failed", 1)
    assert tis["me"].state == "success"
    assert run.state == "failed"
    # AND the run says who failed and why, in one line
    [line] = {ln[ln.index("tracker task failed:"):].split(" [tracker_airflow.notify]")[0]
              for ln in log.splitlines() if "tracker task failed:" in ln and "person=revoked_person" in ln}
    assert "dag=google_health_fitness task=extract_load_health" in line and "invalid_grant" in line, line
    assert "tracker auth google-health --account revoked_gh" in line, line  # that person's sign-in row
    assert not [ln for ln in log.splitlines() if "tracker task failed:" in ln and "person=me" in ln]
    # AND the other person's rows are loaded (one sample a minute of the day), the revoked person's none
    by_person = dict(warehouse.execute(
        "select person_id, count(*) from raw.fitbit__heart_rate where source = 'google_health_api'"
        " and observed_at >= %s and observed_at < %s group by 1", (DAY, DAY + timedelta(days=1))).fetchall())
    assert by_person == {"me": 24 * 60}, by_person
    # AND the succeeded person's task updated the raw tables' Assets (what dbt_warehouse is scheduled on); the
    # failed one's did not
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session

    with create_session() as session:
        events = {(e.asset.name, e.source_map_index) for e in session.query(AssetEvent).filter(
            AssetEvent.source_dag_id == "google_health_fitness", AssetEvent.source_run_id == run.run_id)}
    assert ("raw.fitbit__heart_rate", tis["me"].map_index) in events, events
    assert not {e for e in events if e[1] == tis["revoked_person"].map_index}, events
    # AND every request went through the cross-process limiter, counted for the user and the project
    counted = dict(warehouse.execute("select subject, sum(requests) from quota.request_counts"
                                     " where api = 'google_health' group by 1").fetchall())
    assert counted.get("user:google_health", 0) > 0 and counted.get("project:demo-client-id", 0) >= \
        counted["user:google_health"], counted


def test_manual_run_params_choose_the_window_and_people(two_people, warehouse, demo_api, airflow_db, dbt_manifest,
                                                         capfd, caplog):
    from airflow.sdk.definitions.param import ParamValidationError

    warehouse.execute("truncate raw.open_meteo__hourly")
    # WHEN a manual run asks for two days for `me` (the run's own data interval is another day)
    run = dag_run("weather_open_meteo", logical_date=DAY + timedelta(days=1),
                  run_conf={"start": "2026-09-01", "end": "2026-09-03", "people": ["me"]})
    assert run.state == "success", [(ti.task_id, ti.state) for ti in run.get_task_instances()]
    # THEN exactly those 48 hours are loaded for `me`
    n, lo, hi, people = warehouse.execute("select count(*), min(observed_at), max(observed_at),"
                                          " array_agg(distinct person_id) from raw.open_meteo__hourly").fetchone()
    assert (n, lo, hi, people) == (48, datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 9, 2, 23, tzinfo=UTC),
                                   ["me"])
    # WHEN a run asks for a reversed window (valid dates, so only the run can tell), THEN it fails before any
    # extract with one line saying why, and loads nothing
    capfd.readouterr()
    caplog.clear()
    run = dag_run("weather_open_meteo", logical_date=DAY + timedelta(days=1),
                  run_conf={"start": "2026-09-03", "end": "2026-09-01"})
    log = capfd.readouterr().out + caplog.text  # Airflow's logging: stdout or stdlib, by what ran before
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert (run.state, states["choose_people"], states["extract_load_hourly"]) == ("failed", "failed",
                                                                                    "upstream_failed"), states
    assert "end 2026-09-01 must be after start 2026-09-03" in log
    assert "person=-" in log and "task=choose_people" in log   # the notifier's line: no person for this task
    assert warehouse.execute("select count(*) from raw.open_meteo__hourly").fetchone()[0] == 48
    # AND params are validated against their schema before a run is created: dates, and the people the source
    # serves (`revoked_person` has no location)
    for bad in ({"start": "2026-13-01"}, {"people": ["Not An Id"]}, {"people": ["revoked_person"]}):
        with pytest.raises(ParamValidationError):
            dag_run("weather_open_meteo", logical_date=DAY + timedelta(days=1), run_conf=bad)


def test_choosing_people_names_what_is_wrong(two_people):
    from tracker.config import load_config
    from tracker.sources.contract import choose_people, config_for, people_served

    config = load_config()
    assert people_served(config, None) == ["me"]                       # weather: people with a location
    assert people_served(config, "google_health") == ["me", "revoked_person"]
    assert choose_people(config, "google_health", []) == ["me", "revoked_person"]
    assert choose_people(config, "google_health", ["revoked_person", "revoked_person"]) == ["revoked_person"]
    with pytest.raises(ValueError, match="no person 'ghost' in the config"):
        choose_people(config, "google_health", ["ghost"])
    with pytest.raises(ValueError, match=r"'me' has no 'github' account in the config \(this source serves: "
                                         r"nobody\)"):
        choose_people(config, "github", ["me"])
    assert [p.id for p in config_for(config, "revoked_person").people] == ["revoked_person"]


def test_more_google_people_than_an_unverified_app_may_sign_in_is_warned_before_it_fails(tmp_path, monkeypatch,
                                                                                        capsys):
    import airflow  # noqa: F401 - initialising Airflow puts the plugins folder (tracker_airflow) on sys.path
    from tracker_airflow.common import GOOGLE_UNVERIFIED_USER_CAP, choose_people

    def study(n: int) -> None:
        people = [{"id": f"p{i:03d}", "timezone": "Europe/Berlin", "accounts": {"google_health": f"p{i:03d}"}}
                  for i in range(n)]
        path = tmp_path / f"study{n}.yml"
        path.write_text(yaml.safe_dump({"people": people}))
        monkeypatch.setenv("TRACKER_CONFIG", str(path))

    start, end = DAY, DAY + timedelta(days=1)
    study(GOOGLE_UNVERIFIED_USER_CAP)
    assert len(choose_people.function("google_health", {}, start, end, None)) == GOOGLE_UNVERIFIED_USER_CAP
    assert "warning" not in capsys.readouterr().out
    study(GOOGLE_UNVERIFIED_USER_CAP + 1)
    ids = choose_people.function("google_health", {}, start, end, None)
    assert len(ids) == GOOGLE_UNVERIFIED_USER_CAP + 1   # everyone still runs: a verified app has no cap
    assert "caps an OAuth app that is not verified at 100 users" in capsys.readouterr().out
