# ruff: noqa: F401, F811 - pytest fixtures imported from stream_fixtures
"""produce_events and aggregate_events through dag.test(): connection `tracker_kafka` pointed at the tests'
broker; new rows produced and aggregated exactly; a replay with bad params fails at once with one line."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from stream_fixtures import DAY, expected, kafka, people, realtime, snapshot, tansu

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


def dag_from(path: str, dag_id: str):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=path)
    assert not bag.import_errors, bag.import_errors
    return bag.get_dag(dag_id)


@pytest.fixture()
def broker_connection(monkeypatch, kafka):
    monkeypatch.setenv("AIRFLOW_CONN_TRACKER_KAFKA", json.dumps(
        {"conn_type": "kafka", "extra": {"bootstrap.servers": kafka.bootstrap}}))
    monkeypatch.setenv("TRACKER_STREAM_TOPIC", kafka.topic)
    monkeypatch.setenv("TRACKER_STREAM_GROUP", kafka.group)
    return kafka


def test_produce_then_aggregate_dags_fill_realtime_exactly_and_bad_replay_params_fail(
        realtime, people, broker_connection, airflow_db):
    pid = people.add()
    people.heart_rate(pid, DAY, 300)
    people.commits(pid, DAY, 6)
    # WHEN produce_events runs (new rows; a horizon wide enough for the fixture's day) and then aggregate_events
    produced = dag_from("dags/produce_events.py", "produce_events").test(run_conf={"horizon_days": 3650})
    assert produced.state == "success"
    aggregated = dag_from("dags/aggregate_events.py", "aggregate_events").test(
        run_conf={"max_seconds": 20, "idle_seconds": 1.5})
    assert aggregated.state == "success"
    # THEN realtime equals the figures computed from raw
    rng = (DAY - timedelta(days=1), DAY + timedelta(days=2))
    assert snapshot(realtime) == expected(realtime, *rng, ["heart_rate", "commits", "steps"])
    assert realtime.execute("select count(*) from realtime.produce_runs where kind = 'new'").fetchone()[0] == 1
    # AND a replay whose range is reversed fails without producing anything
    bad = dag_from("dags/produce_events.py", "produce_events").test(
        run_conf={"from": "2026-11-21", "to": "2026-11-20"})
    assert bad.state == "failed"
    assert realtime.execute("select count(*) from realtime.produce_runs where kind = 'replay'").fetchone()[0] == 0
