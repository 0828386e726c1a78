"""Streaming equals batch: demo data (GitHub and Open-Meteo through the demo APIs, the Fitbit and Spotify
demo exports through the real importers) replayed through Kafka gives, for every window, exactly the figures
computed from silver by tracker.stream.aggregates.BATCH_SQL (the metrics' definitions over dbt's models)."""
# ruff: noqa: F401, F811 - pytest fixtures imported from stream_fixtures

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from stream_fixtures import drain, kafka, realtime, tansu
from tracker.config import Location, Person, TrackerConfig
from tracker.stream import aggregates, producer
from tracker.stream.consumer import MicroBatchConsumer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

TODAY = date(2026, 11, 24)
START, END = datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC)
RAW = ("raw.github__commits", "raw.github__pull_requests", "raw.github__reviews", "raw.github__issues",
       "raw.github__contributions_daily", "raw.open_meteo__hourly", "raw.spotify__streams",
       "raw.netflix__viewing_activity", "raw.youtube__watch_history", "raw.quarantine", "raw.tracker__people",
       "raw.fitbit__heart_rate_files")
SILVER = ("stg_tracker__people", "stg_fitbit__heart_rate", "stg_fitbit__steps_daily", "stg_github__commits",
          "stg_spotify__streams", "stg_open_meteo__hourly")


@pytest.fixture()
def person(warehouse, tmp_path, monkeypatch):
    from tracker.sources.fitbit_export import tables

    made = Person(id=f"t_stream_{uuid.uuid4().hex[:6]}", timezone="Europe/Berlin",
                  locations=[Location(name="home", latitude=52.52, longitude=13.41, timezone="Europe/Berlin")],
                  accounts={"github": "demo-user"})
    config = tmp_path / "people.yml"
    config.write_text(f"people:\n  - id: {made.id}\n    timezone: Europe/Berlin\n")
    monkeypatch.setenv("TRACKER_CONFIG", str(config))
    yield made
    for table in (*RAW, *(t.qualified for t in tables.ALL)):
        warehouse.execute(f"delete from {table} where person_id = %s", (made.id,))  # noqa: S608


def _load(conn, person: Person, demo_url: str, folder) -> None:
    from tracker import settings
    from tracker.demo.exports import import_demo_exports
    from tracker.demo.fitbit_export import write_export
    from tracker.sources.fitbit_export.importer import import_export
    from tracker.sources.github import extract as github
    from tracker.sources.github.client import GitHubClient
    from tracker.sources.open_meteo import extract as weather
    from tracker.sources.open_meteo.client import OpenMeteoClient
    from tracker.warehouse.people import sync_people
    from tracker.windows import ExtractWindow

    config, window, run = TrackerConfig(people=[person]), ExtractWindow(START, END), "test-stream"
    sync_people(conn, config, run)
    github.extract_and_load(conn, lambda login: GitHubClient(
        "t", login, rest_url=f"{demo_url}/github/api", graphql_url=f"{demo_url}/github/api/graphql"),
        config, window, run)
    weather.extract_and_load(conn, OpenMeteoClient(archive_url=f"{demo_url}/open-meteo/v1/archive",
                                                   forecast_url=f"{demo_url}/open-meteo/v1/forecast"),
                             config, window, run)
    import_demo_exports(4, today=TODAY, folder=folder / "exports", dsn=settings.warehouse_dsn(),
                        echo=lambda _: None)
    takeout = write_export(folder / "fitbit", TODAY, START.date(), END.date() - timedelta(days=1))
    import_export(takeout, dsn=settings.warehouse_dsn(), person_id=person.id, config=config)


def test_realtime_equals_the_batch_aggregates_over_silver(realtime, person, demo_api, tmp_path, kafka):
    from tracker.stack.local import dbt

    _load(realtime, person, demo_api, tmp_path)
    result = dbt("run", "--select", *SILVER, check=False)
    assert result.returncode == 0, result.stdout[-3000:]
    # WHEN the whole loaded range (with a margin: local days straddle UTC midnight) is replayed and consumed
    lo, hi = START - timedelta(days=6), END + timedelta(days=2)
    replayed = producer.replay(realtime, kafka, lo, hi, people=[person.id])
    consumer = MicroBatchConsumer(realtime, kafka, max_messages=5000)
    drain(consumer)
    consumer.close()
    metrics = list(aggregates.BATCH_SQL)
    streamed = realtime.execute(
        "select person_id, metric, grain, window_start, n, total, min, max from realtime.aggregates "
        "where person_id = %s and metric = any(%s) and (metric <> 'steps' or grain = 'day') "
        "order by 1, 2, 3, 4", (person.id, metrics)).fetchall()
    batch = [r for r in realtime.execute(aggregates.batch_aggregates_sql(metrics, lo, hi)).fetchall()
             if r[0] == person.id and r[4] > 0]
    batch.sort(key=lambda r: (r[0], r[1], r[2], r[3]))

    def figures(rows):  # silver holds steps as day totals: their count/min/max are of other rows
        return [(*r[:4], None, r[5], None, None) if r[1] == "steps" else tuple(r) for r in rows]
    # THEN every metric is there, and every window is equal to the last digit
    assert {r[1] for r in streamed} == set(metrics), replayed.summary()
    assert len(streamed) > 500
    assert figures(streamed) == figures(batch)
