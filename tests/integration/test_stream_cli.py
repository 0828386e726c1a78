# ruff: noqa: F401, F811 - pytest fixtures imported from stream_fixtures
"""`tracker replay` and `tracker stream produce|consume|status` through typer's CliRunner, on the tests'
broker and warehouse: a replay rebuilds a range, a second replay changes nothing, bad input is one line."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import typer
from stream_fixtures import DAY, expected, kafka, people, realtime, snapshot, tansu
from typer.testing import CliRunner

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


@pytest.fixture()
def cli(monkeypatch, kafka):
    from tracker.cli.stream import register

    monkeypatch.setenv("TRACKER_KAFKA_BOOTSTRAP", kafka.bootstrap)
    monkeypatch.setenv("TRACKER_STREAM_TOPIC", kafka.topic)
    monkeypatch.setenv("TRACKER_STREAM_GROUP", kafka.group)
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_replay_rebuilds_a_range_and_a_second_replay_changes_nothing(realtime, people, cli):
    pid = people.add()
    people.heart_rate(pid, DAY, 200)
    people.commits(pid, DAY, 5)
    # WHEN a range is replayed from the shell
    first = cli("replay", "--from", "2026-11-19", "--to", "2026-11-22", "--person", pid, "--idle", "1")
    assert first.exit_code == 0, first.output
    rng = (DAY - timedelta(days=1), DAY + timedelta(days=2))
    assert snapshot(realtime) == expected(realtime, *rng, ["heart_rate", "commits", "steps"])
    assert "windows changed" in first.output
    before = snapshot(realtime)
    # AND once more
    second = cli("replay", "--from", "2026-11-19", "--to", "2026-11-22", "--person", pid, "--idle", "1")
    assert second.exit_code == 0, second.output
    # THEN nothing changed (the windows were recomputed to the same figures, none written)
    assert snapshot(realtime) == before
    assert "\n0 windows changed" in second.output
    # AND status tells where the consumer stands
    status = cli("stream", "status", "--json")
    assert status.exit_code == 0, status.output
    info = json.loads(status.output)
    assert info["generation"]["generation"] == 1 and info["offsets"] and info["dead_letters"] == 0


@pytest.mark.parametrize(("args", "message"), [
    (("--from", "2026-11-22", "--to", "2026-11-19"), "must be before"),
    (("--from", "yesterday", "--to", "2026-11-19"), "neither YYYY-MM-DD"),
    (("--from", "2026-11-19T10:00", "--to", "2026-11-20"), "no UTC offset"),
    (("--from", "2026-11-19", "--to", "2026-11-20", "--source", "myspace"), "unknown source"),
    (("--from", "2026-11-19", "--to", "2026-11-20", "--person", "nobody"), "unknown person"),
])
def test_bad_replay_input_is_one_line(realtime, cli, args, message):
    result = cli("replay", *args)
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert realtime.execute("select count(*) from realtime.produce_runs").fetchone()[0] == 0


def test_unreachable_broker_is_one_line(realtime, cli, monkeypatch):
    from stream_fixtures import free_port

    monkeypatch.setenv("TRACKER_KAFKA_BOOTSTRAP", f"127.0.0.1:{free_port()}")
    result = cli("stream", "produce")
    assert result.exit_code == 2 and "unreachable" in result.output, result.output
