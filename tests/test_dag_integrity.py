"""Every DAG file imports cleanly and fast, and carries tags, an owner, retries ≥ 2 and docs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

DAG_FILES = sorted(p for p in (Path(__file__).parents[1] / "dags").glob("*.py") if not p.name.startswith("_"))


@pytest.fixture(scope="module")
def warm_airflow(dbt_manifest):
    """Import Airflow and the plugins once, so each file's own parse time is what gets measured."""
    import importlib

    from airflow.dag_processing.dagbag import DagBag  # noqa: F401

    importlib.import_module("tracker_airflow.common")  # after Airflow, which puts plugins/ on sys.path


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_imports_fast_and_is_well_formed(path, warm_airflow, airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    # The dag-processor re-parses files in a long-lived process: the first parse pays one-time imports
    # (Cosmos' dbt graph modules), the steady-state parse is what must stay under a second.
    started = time.perf_counter()
    DagBag(dag_folder=str(path), safe_mode=True)
    first = time.perf_counter() - started
    started = time.perf_counter()
    bag = DagBag(dag_folder=str(path), safe_mode=True)
    elapsed = time.perf_counter() - started
    assert first < 5.0, f"{path.name} took {first:.2f}s on its first parse"
    assert not bag.import_errors, bag.import_errors
    assert bag.dags, f"{path.name} defines no DAG (safe mode skips files that never say 'airflow' and 'dag')"
    assert elapsed < 1.0, f"{path.name} took {elapsed:.2f}s to parse"
    for dag in bag.dags.values():
        assert dag.tags, f"{dag.dag_id} has no tags"
        assert dag.doc_md and len(dag.doc_md) > 40, f"{dag.dag_id} has no docs"
        assert (dag.owner_links or {}).get("tracker"), f"{dag.dag_id} has no owner link"
        for task in dag.tasks:
            assert task.owner == "tracker", f"{dag.dag_id}.{task.task_id} owner {task.owner!r}"
            assert task.retries >= 2, f"{dag.dag_id}.{task.task_id} retries {task.retries}"


def test_dags_import_only_the_task_sdk():
    """Airflow 3: DAG code uses airflow.sdk, never the deprecated airflow.decorators / airflow.operators."""
    for path in [*DAG_FILES, *(Path(__file__).parents[1] / "plugins").rglob("*.py")]:
        text = path.read_text()
        for banned in ("airflow.decorators", "airflow.operators.python", "from airflow import Dataset",
                       "airflow.models.dag import"):
            assert banned not in text, f"{path.name} imports {banned}"


def test_dag_ids_follow_one_pattern_per_kind():
    """Source DAGs are `<source>_<entity>` (the catalogue's source id first); platform DAGs `<job>_<object>`
    from a short list; each file is named after its DAG id."""
    import ast

    from support import PLATFORM_DAGS
    from tracker.sources.catalogue import api_sources

    platform = PLATFORM_DAGS
    sources = {s.dag_id: s.id for s in api_sources()}
    for path in DAG_FILES:
        ids = [kw.value.value for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Call)
               for kw in node.keywords if kw.arg == "dag_id" and isinstance(kw.value, ast.Constant)]
        assert ids == [path.stem], f"{path.name} declares dag_id {ids}: name the file after its one DAG"
        dag_id = path.stem
        if dag_id in platform:
            continue
        assert dag_id in sources, f"{dag_id}: neither a catalogue source's dag_id nor a platform DAG"
        source_id = sources[dag_id]
        assert dag_id.startswith(f"{source_id}_") and dag_id != f"{source_id}_", \
            f"{dag_id}: source DAG ids are <source>_<entity>, here {source_id}_…"


def test_source_dags_map_one_extract_per_person_in_their_api_pool(warm_airflow, airflow_db):
    """Every source DAG: manual-run params (start, end, people), owner links, and extract tasks mapped over
    `choose_people` in the source's API pool (pools sized in tracker.sources.quota)."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk.definitions.mappedoperator import MappedOperator
    from tracker.sources.catalogue import api_sources
    from tracker.sources.quota import pool_name, pool_specs

    pools = {p.name for p in pool_specs()}
    for src in api_sources():
        dag = DagBag(dag_folder=f"dags/{src.dag_id}.py", safe_mode=True).get_dag(src.dag_id)
        assert set(dag.params) >= {"start", "end", "people"}, dag.dag_id
        assert dag.owner_links.get("tracker"), dag.dag_id
        extracts = [t for t in dag.tasks if t.task_id.startswith("extract_load")]
        assert extracts, dag.dag_id
        for t in extracts:
            assert isinstance(t, MappedOperator), f"{dag.dag_id}.{t.task_id} is not mapped per person"
            assert t.pool == pool_name(src.id) and t.pool in pools, (t.task_id, t.pool)
            assert "choose_people" in t.upstream_task_ids, t.task_id
            assert t.outlets, t.task_id


def test_source_freshness_is_checked_on_a_clock_not_only_when_a_source_loads(warm_airflow, airflow_db):
    """dbt_warehouse runs when a raw table's Asset is updated: a freshness check inside it never ran for a source
    that stopped loading — the case it exists for. check_freshness runs every hour, and dbt reads the partial-
    parse file of dbt_warehouse's builds (Cosmos' cache of that DAG), so it does not parse the whole project."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk import CronTriggerTimetable

    dbt = DagBag(dag_folder="dags/dbt_warehouse.py", safe_mode=True).get_dag("dbt_warehouse")
    fresh = DagBag(dag_folder="dags/check_freshness.py", safe_mode=True).get_dag("check_freshness")
    assert isinstance(fresh.timetable, CronTriggerTimetable) and fresh.timetable.expression == "17 * * * *"
    assert [t.task_id for t in fresh.tasks] == ["source_freshness"]
    assert "source_freshness" not in dbt.task_dict
    caches = {t.cache_dir for t in dbt.tasks if getattr(t, "cache_dir", None)}
    assert caches == {fresh.task_dict["source_freshness"].cache_dir}, caches


def test_dbt_dag_parse_does_not_rehash_its_schedule_on_every_dependency(warm_airflow, airflow_db, monkeypatch):
    """Airflow hashes a task's DAG on every `>>` (both tasks must share one DAG), and DAG.__hash__ hashes the
    schedule: for dbt_warehouse, the 25 raw tables' Assets, each by a JSON dump of its fields — ≈ 15,000 Asset
    hashes, a third of every parse of the file (dag processor, every task process). The dbt DAG hashes by its
    id (what its equality needs), so a parse hashes an Asset a handful of times, and sets of DAGs still work."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk import Asset

    calls = []
    original = Asset.__hash__
    monkeypatch.setattr(Asset, "__hash__", lambda self: calls.append(1) or original(self))
    bag = DagBag(dag_folder="dags/dbt_warehouse.py", safe_mode=True)
    dag = bag.get_dag("dbt_warehouse")
    assert not bag.import_errors and dag is not None, bag.import_errors
    assert len(calls) < 500, f"{len(calls)} Asset hashes while parsing dags/dbt_warehouse.py"
    again = DagBag(dag_folder="dags/dbt_warehouse.py", safe_mode=True).get_dag("dbt_warehouse")
    assert hash(again) == hash(dag) and dag in {dag} and again not in {dag}  # two loads differ (last_loaded)
    assert dag.schedule is not None and len(dag.schedule.objects) == 25
