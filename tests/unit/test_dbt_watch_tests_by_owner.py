"""Which model's task reports a test of several models (tracker_airflow.dbt_watch.tests_by_owner), and the
producer's build keeping its tests (build_with_tests): plain functions over dbt's graph, no Airflow run."""

from __future__ import annotations

from types import SimpleNamespace

import airflow  # noqa: F401 - initialising Airflow puts the plugins folder (tracker_airflow) on sys.path
from tracker_airflow import dbt_watch

DEPENDS_ON = {
    "model.t.stg": [],
    "model.t.dim_person": [],
    "model.t.fct_day": ["model.t.stg"],
    "model.t.fct_side": [],
}


def test_a_test_of_several_models_counts_for_one_of_them():
    tests_per_model = {  # Cosmos: every test under each model it reads
        "model.t.stg": ["test.t.not_null_stg", "test.t.day_matches_stg"],
        "model.t.fct_day": ["test.t.day_matches_stg", "test.t.rel_day_person"],
        "model.t.dim_person": ["test.t.rel_day_person", "test.t.unique_person"],
        "model.t.fct_side": ["test.t.side_vs_person"],
    }
    tests_per_model["model.t.dim_person"].append("test.t.side_vs_person")
    attached = {"test.t.rel_day_person": "model.t.fct_day"}  # defined on fct_day's column, refers to dim_person
    owned = dbt_watch.tests_by_owner(tests_per_model, DEPENDS_ON, attached)
    # the model it is defined on; else the one below the others; else (no line between them) each of them
    assert owned["model.t.fct_day"] == ["test.t.day_matches_stg", "test.t.rel_day_person"]
    assert owned["model.t.stg"] == ["test.t.not_null_stg"]
    assert sorted(owned["model.t.dim_person"]) == ["test.t.side_vs_person", "test.t.unique_person"]
    assert owned["model.t.fct_side"] == ["test.t.side_vs_person"]
    # every test is still counted somewhere
    assert {t for tests in owned.values() for t in tests} == {t for tests in tests_per_model.values() for t in tests}


def test_the_producer_builds_the_tests_cosmos_left_out():
    producer = SimpleNamespace(dbt_cmd_flags=["--resource-type", "model", "--full-refresh", "--resource-type",
                                              "seed", "--resource-type", "snapshot"])
    dbt_watch.build_with_tests(producer)
    assert producer.dbt_cmd_flags == ["--full-refresh"]
