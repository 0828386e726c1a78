"""The dbt DAG in Cosmos' watcher mode (real dbt, real Airflow `dag.test()`, the session warehouse): one
`dbt build` (the producer) builds silver and gold, and each model keeps its own task (`<model>_run`) whose state
is that model's result in the build and its tests' verdict. A broken model fails its own task, names it in the
failure notifier's line, leaves the models downstream `skipped` (dbt skipped them: their tasks name it, and never
rebuild them from stale parents) and fails the run; its task's retries build that model again (they never
succeed without building it). A model whose tests fail fails its task, and its retries build and test it."""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tracker.config import Person, TrackerConfig

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
START, END = datetime(2026, 10, 9, tzinfo=UTC), datetime(2026, 10, 11, tzinfo=UTC)
PRODUCER = "dbt_producer_watcher"
BROKEN = "fct_consumption_daily"  # downstream: fct_daily_summary → fct_anomalies, fct_correlations, fct_weekly…
UNTRUE = "fct_runs"  # built, but a test of it fails (no model below it)
UNTRUE_GENERIC = "fct_pipeline_loads_daily"  # the same, the test a custom generic one under tests/generic
DOWNSTREAM = ("fct_daily_summary", "fct_weekly_summary", "fct_anomalies", "fct_correlations")


@pytest.fixture()
def listener(warehouse, demo_api):
    """A person of this test's own with two days of Last.fm scrobbles (from the demo API) in raw."""
    from tracker.sources.lastfm import extract as lastfm
    from tracker.sources.lastfm.client import LastfmClient
    from tracker.warehouse.people import sync_people
    from tracker.windows import ExtractWindow

    person = Person(id=f"t_watch_{uuid.uuid4().hex[:8]}", timezone="Europe/Berlin", accounts={"lastfm": "demo-user"})
    config = TrackerConfig(people=[person])
    sync_people(warehouse, config, "test-dbt-watcher")
    lastfm.extract_and_load(warehouse, lambda user: LastfmClient("demo-key", user,
                                                                 base_url=f"{demo_api}/lastfm/2.0/"),
                            config, ExtractWindow(START, END), "test-dbt-watcher")
    yield person
    for table in ("raw.lastfm__scrobbles", "raw.quarantine", "raw.tracker__people"):
        warehouse.execute(f"delete from {table} where person_id = %s", (person.id,))


def watcher_dag(*, quick_retries: bool = False):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags" / "dbt_warehouse.py"))
    assert not bag.import_errors, bag.import_errors
    dag = bag.get_dag("dbt_warehouse")
    if quick_retries:  # the same retries, without the minute between them
        for task in dag.tasks:
            task.retry_delay = timedelta(seconds=1)
    return dag


def states(run) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in run.get_task_instances()}


def dbt_statuses(run, suffix: str = "_status") -> dict[str, str]:
    """What the producer's `dbt build` reported per model (its `<unique_id>_status` XComs: dbt's own words), or
    with suffix `_tests_status` its tests' verdict (pass / fail, over every test of the model)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(select(XComModel).where(
            XComModel.dag_id == run.dag_id, XComModel.run_id == run.run_id, XComModel.task_id == PRODUCER,
            XComModel.key.like(f"model__tracker__%{suffix}"))).all()
        values = {row.key.removeprefix("model__tracker__").removesuffix(suffix): XComModel.deserialize_value(row)
                  for row in rows}
    if suffix == "_tests_status":
        return values
    return {model: value["status"] for model, value in values.items() if not model.endswith("_tests")}


def build_statuses(run) -> dict:
    """The one XCom the producer pushes when its build has ended (tracker_airflow.dbt_watch.BUILD_STATUSES_KEY)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select
    from tracker_airflow.dbt_watch import BUILD_STATUSES_KEY

    with create_session() as session:
        row = session.scalars(select(XComModel).where(
            XComModel.dag_id == run.dag_id, XComModel.run_id == run.run_id, XComModel.task_id == PRODUCER,
            XComModel.key == BUILD_STATUSES_KEY)).one()
        return XComModel.deserialize_value(row)


def model_task(dag, model: str) -> str:
    """A model's own task (it reports the model and its tests)."""
    return f"{model}_run"


def test_one_build_fills_gold_and_every_model_has_its_own_task(listener, warehouse, airflow_db, dbt_manifest,
                                                                monkeypatch):
    # a retried test task runs every test of its model, as in production (the suite's "cautious" selection would
    # leave out tests of several models, e.g. relationships, and let a retry pass without them)
    monkeypatch.setenv("DBT_INDIRECT_SELECTION", "eager")
    dag = watcher_dag()
    # GIVEN the DAG rendered in watcher mode: one producer, one task per model (no task per model's tests)
    models = [t for t in dag.tasks if type(t).__name__ == "DbtRunWatcherOperator"]
    assert PRODUCER in dag.task_dict and len(models) >= 35
    assert {model_task(dag, m) for m in (BROKEN, "fct_daily_summary", "stg_lastfm__scrobbles")} <= dag.task_dict.keys()
    assert not [t for t in dag.tasks if type(t).__name__ == "DbtTestWatcherOperator"], "tests: with their model"
    assert not [t for t in dag.tasks if "build" in t.task_id], "no per-model dbt build process any more"
    # WHEN it runs
    run = dag.test()
    got = states(run)
    reported = dbt_statuses(run)
    # THEN the build ran every model's tests, and each model's task says what dbt said of the model and of its
    # tests (in the shared warehouse other tests may leave rows a data test rejects — e.g. gold rows of a person
    # whose people row a fixture deleted: then that model's task fails, and so does the run, however often it is
    # retried; the models below it were skipped by dbt, and their tasks say so)
    tests = dbt_statuses(run, "_tests_status")
    with_tests = {uid.removeprefix("model.tracker.") for uid, of in dag.task_dict[PRODUCER].tests_per_model.items()
                  if of and uid.startswith("model.")}
    assert len(with_tests) >= 30 and {m for m in with_tests if reported.get(m) == "success"} <= tests.keys(), tests
    failed_tests = {model for model, verdict in tests.items() if verdict == "fail"}
    # AND the tasks ran as Airflow's copies of the parsed ones, templates rendered (our wrappers of the producer's
    # execute and the model tasks' poke once ran the parsed objects: the producer kept its dbt process, and the
    # parsed DAG could no longer be copied, e.g. by partial_subset)
    assert [t.task_id for t in dag.partial_subset([PRODUCER], include_upstream=False).tasks] == [PRODUCER]
    # AND when the build ended the producer published all of it in one XCom, which the model tasks read once
    # between them in the triggerer: every model's status and its tests' verdict, as dbt reported them
    summary = build_statuses(run)
    assert {k.removeprefix("model__tracker__").removesuffix("_status"): v["status"] for k, v in summary.items()
            if not k.endswith("_tests_status")} == reported
    assert {k.removeprefix("model__tracker__").removesuffix("_tests_status"): v for k, v in summary.items()
            if k.endswith("_tests_status")} == tests
    for task in models:
        model = task.task_id.removesuffix("_run")
        if reported.get(model) != "success":
            assert failed_tests and got[task.task_id] == "skipped", (model, got[task.task_id], reported.get(model))
        else:
            assert got[task.task_id] == ("failed" if model in failed_tests else "success"), (model, got[task.task_id])
    # AND every model's task starts with the build (none waits for another: dbt orders the
    # models), in the triggerer under the scheduler
    consumers = [t for t in dag.tasks if hasattr(t, "producer_task_id")]
    assert all(t.upstream_task_ids == {PRODUCER} and t.trigger_rule == "always" for t in consumers)
    assert all(t.start_from_trigger for t in consumers)
    failed = {task for task, state in got.items() if state != "success"}
    assert run.state == ("success" if not failed else "failed"), got
    # AND gold was built from this run's raw rows: each local day of the person's scrobbles is in
    # fct_consumption_daily, with its Last.fm minutes
    raw_days = warehouse.execute("select count(distinct (played_at at time zone 'Europe/Berlin')::date) "
                                 "from raw.lastfm__scrobbles where person_id = %s", (listener.id,)).fetchone()[0]
    gold_days = warehouse.execute("select count(*) from gold.fct_consumption_daily where person_id = %s "
                                  "and lastfm_minutes > 0", (listener.id,)).fetchone()[0]
    assert raw_days >= 1 and gold_days == raw_days, (raw_days, gold_days)


@pytest.fixture()
def broken_project(tmp_path, monkeypatch, dbt_manifest):
    """A copy of the dbt project whose fct_consumption_daily fails in the database, and its manifest; the DAG
    is pointed at it through DBT_PROJECT_DIR / TRACKER_DBT_MANIFEST."""
    project = tmp_path / "dbt_project"
    shutil.copytree(ROOT / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    sql = project / "models" / "marts" / "consumption" / f"{BROKEN}.sql"
    # division by zero when the query runs (not when dbt parses or compiles it)
    sql.write_text("select 1 / (count(*) - count(*)) as broken from {{ ref('int_plays_deduplicated') }}\n")
    # and a data test of fct_runs that always fails (one row)
    (project / "tests" / "assert_always_fails.sql").write_text(
        f"-- a test of {{{{ ref('{UNTRUE}') }}}}\nselect 1 as always_failing\n")
    # and a custom generic test (tests/generic) that fails on any table with rows, on fct_pipeline_loads_daily
    (project / "tests" / "generic").mkdir()
    (project / "tests" / "generic" / "has_no_rows.sql").write_text(
        "{% test has_no_rows(model) %}\nselect 1 as a_row from {{ model }}\n{% endtest %}\n")
    models = project / "models" / "marts" / "tracker" / "_tracker__models.yml"
    text = models.read_text()
    entry = text.index(f"  - name: {UNTRUE_GENERIC}\n")
    at = text.index("    data_tests:\n", entry) + len("    data_tests:\n")
    models.write_text(text[:at] + "      - has_no_rows\n" + text[at:])
    target = tmp_path / "target"
    # (DBT_PROJECT_DIR: the session's env names the real project, which dbt would parse instead of the copy)
    env = os.environ | {"DBT_TARGET_PATH": str(target), "DBT_LOG_PATH": str(tmp_path / "logs"),
                        "DBT_PROJECT_DIR": str(project)}
    subprocess.run([str(Path(sys.executable).with_name("dbt")), "parse"], cwd=project, env=env, check=True,
                   capture_output=True)
    monkeypatch.setenv("DBT_PROJECT_DIR", str(project))
    monkeypatch.setenv("TRACKER_DBT_MANIFEST", str(target / "manifest.json"))
    return project


def test_a_broken_model_fails_its_own_task_and_the_run(broken_project, listener, warehouse, airflow_db, capfd,
                                                       caplog):
    dag = watcher_dag(quick_retries=True)
    capfd.readouterr()
    caplog.clear()
    # WHEN the build meets a model that fails in the database
    run = dag.test()
    log = capfd.readouterr().out + caplog.text  # Airflow's logging: stdout or stdlib, by what ran before
    got, reported = states(run), dbt_statuses(run)
    # THEN dbt reported it failed and its downstream models skipped (Cosmos reports those as failed)…
    assert reported[BROKEN] in ("error", "failed"), reported.get(BROKEN)
    # … its own task failed (after its retries, each a `dbt build` of that model alone: it never succeeds
    # without building it); every model downstream was skipped, naming the model (Cosmos' own retry of them
    # would have rebuilt them from the broken model's stale table)
    assert got[model_task(dag, BROKEN)] == "failed"
    for model in DOWNSTREAM:
        assert got[model_task(dag, model)] == "skipped", (model, got[model_task(dag, model)])
    assert (f"fct_daily_summary was not built by dbt: upstream model.tracker.{BROKEN} — dbt reported it"
            in log), log[-3000:]
    assert "Running model 'model.tracker.fct_daily_summary'" not in log
    assert "Retry attempt #2 – Running model 'model.tracker.fct_consumption_daily'" in log, log[-3000:]
    # AND the model dbt built whose test failed: its task failed naming it, and each retry built and tested it
    # (a `dbt run` alone would have passed), with the same verdict
    assert dbt_statuses(run, "_tests_status")[UNTRUE] == "fail" and reported[UNTRUE] == "success"
    assert got[model_task(dag, UNTRUE)] == "failed"
    assert f"model.tracker.{UNTRUE} was built, but its tests failed" in log, log[-3000:]
    assert re.search(rf"dbt', 'build', [^\]]*'--select', '{UNTRUE}'", log), log[-3000:]
    assert "FAIL 1 assert_always_fails" in log, log[-3000:]
    # (a custom generic test counts for its model like any other: the model's task failed, naming it)
    assert dbt_statuses(run, "_tests_status")[UNTRUE_GENERIC] == "fail" and reported[UNTRUE_GENERIC] == "success"
    assert got[model_task(dag, UNTRUE_GENERIC)] == "failed"
    assert f"model.tracker.{UNTRUE_GENERIC} was built, but its tests failed" in log, log[-3000:]
    # AND the models beside it succeeded; the report was still rewritten; the run failed
    for model in ("fct_weather_daily", "fct_resting_heart_rate_daily", "int_plays_deduplicated"):
        assert got[model_task(dag, model)] == "success" and reported[model] == "success", model
    assert got["refresh_report"] == "success"
    assert run.state == "failed"
    # AND the notifier's one line names the model's task
    assert f"tracker task failed: dag=dbt_warehouse task={BROKEN}_run" in log, log[-3000:]
    # AND every model task's state is what dbt said of its model
    for task in [t for t in dag.tasks if type(t).__name__ == "DbtRunWatcherOperator"
                 and t.task_id not in (model_task(dag, UNTRUE), model_task(dag, UNTRUE_GENERIC))]:
        model = task.task_id.removesuffix("_run")
        expected = "success" if reported.get(model) == "success" else ("failed", "skipped")
        assert got[task.task_id] in expected, (model, reported.get(model), got[task.task_id])
    # AND under the scheduler, where each model task starts in the triggerer (tracker_airflow.dbt_watch), the
    # trigger reads the same build: a model dbt built ends its task there as a success; the broken model's task
    # and a retry go back to a worker (whose execute fails it with the message above, or runs the model)
    from airflow.triggers.base import TaskSuccessEvent

    verdicts = {(model, try_number): trigger_verdict(run, dag, model, try_number)
                for model, try_number in (("fct_weather_daily", 1), (BROKEN, 1), ("fct_weather_daily", 2),
                                          (UNTRUE, 1))}
    assert isinstance(verdicts["fct_weather_daily", 1], TaskSuccessEvent), verdicts
    assert verdicts[UNTRUE, 1].payload == {"status": "tests", "reason": "tests_not_passed"}, verdicts
    assert (verdicts[BROKEN, 1].payload["status"], verdicts[BROKEN, 1].payload["reason"]) == ("failed",
                                                                                                 "node_failed")
    assert verdicts["fct_weather_daily", 2].payload == {"status": "retry"}, verdicts
    assert dag.task_dict[model_task(dag, BROKEN)].start_from_trigger


def trigger_verdict(run, dag, model: str, try_number: int):
    """The first event ModelStatusTrigger fires for `model`'s task in `run` (as the triggerer runs it: the task
    instance handed to it, the supervisor's XCom access), the task at try `try_number`."""
    from airflow.sdk.api.datamodels._generated import TaskInstance as TaskInstanceSDK
    from airflow.sdk.execution_time.supervisor import InProcessTestSupervisor
    task = dag.task_dict[model_task(dag, model)]
    args = task.start_trigger_args
    module, _, name = args.trigger_cls.rpartition(".")
    trigger = getattr(importlib.import_module(module), name)(**args.trigger_kwargs)
    ti = next(ti for ti in run.get_task_instances() if ti.task_id == task.task_id)
    trigger.task_instance = TaskInstanceSDK(id=ti.id, task_id=ti.task_id, dag_id=ti.dag_id, run_id=ti.run_id,
                                            try_number=try_number, map_index=ti.map_index,
                                            dag_version_id=ti.dag_version_id)
    return InProcessTestSupervisor.run_trigger_in_process(trigger=trigger, ti=trigger.task_instance)
