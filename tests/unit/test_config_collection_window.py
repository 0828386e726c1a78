"""A study participant's collection window: `collect_from` (inclusive) to `collect_until` (exclusive) in local
dates, validated, and every extract clipped to it (a person outside the run's window is skipped with one line)."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

import pytest
from tracker.config import ConfigError, Person, TrackerConfig, load_config
from tracker.sources.contract import collection_window, within_collection_windows
from tracker.windows import ExtractWindow


def write(tmp_path, text: str):
    path = tmp_path / "config.yml"
    path.write_text(text)
    return path


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_the_window_is_read_as_dates_and_reaches_the_people_table_json(tmp_path):
    config = load_config(write(tmp_path, "people:\n  - id: p01\n    timezone: Europe/Berlin\n"
                                         "    collect_from: 2026-03-01\n    collect_until: 2026-06-01\n"))
    person = config.people[0]
    assert (person.collect_from, person.collect_until) == (date(2026, 3, 1), date(2026, 6, 1))
    # what sync_people writes to raw.tracker__people.config, where dbt reads it
    dumped = person.model_dump(mode="json")
    assert (dumped["collect_from"], dumped["collect_until"]) == ("2026-03-01", "2026-06-01")
    # both are optional: open on either side
    assert Person(id="x", timezone="UTC").collection_bounds() == (None, None)


@pytest.mark.parametrize(("since", "until"), [("2026-06-01", "2026-03-01"), ("2026-03-01", "2026-03-01")])
def test_an_empty_or_reversed_window_is_one_line(tmp_path, since, until):
    path = write(tmp_path, f"people:\n  - id: p01\n    timezone: UTC\n    collect_from: {since}\n"
                           f"    collect_until: {until}\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert raised.value.lines == [
        f"people[0]: collect_until {until} must be after collect_from {since}: the window is [collect_from, "
        "collect_until), collect_until is the first day not collected"]


def test_a_date_that_is_no_date_is_one_line(tmp_path):
    with pytest.raises(ConfigError) as raised:
        load_config(write(tmp_path, "people:\n  - id: p01\n    timezone: UTC\n    collect_from: March\n"))
    assert len(raised.value.lines) == 1 and raised.value.lines[0].startswith("people[0].collect_from: ")


def test_bounds_are_local_midnights_also_across_dst():
    person = Person(id="p", timezone="Europe/Berlin", collect_from=date(2026, 3, 29), collect_until=date(2026, 10, 26))
    # 29 March starts at 00:00 CET (+01:00); 26 October at 00:00 CET again, after the switch back
    assert person.collection_bounds() == (utc(2026, 3, 28, 23), utc(2026, 10, 25, 23))
    summer = Person(id="p", timezone="Europe/Berlin", collect_from=date(2026, 7, 1))
    assert summer.collection_bounds() == (utc(2026, 6, 30, 22), None)


def test_the_run_window_is_clipped_to_the_collection_window():
    person = Person(id="p", timezone="UTC", collect_from=date(2026, 5, 3), collect_until=date(2026, 5, 5))
    run = ExtractWindow(utc(2026, 5, 1), utc(2026, 5, 8))
    assert collection_window(person, run) == ExtractWindow(utc(2026, 5, 3), utc(2026, 5, 5))
    inside = ExtractWindow(utc(2026, 5, 3, 6), utc(2026, 5, 4))
    assert collection_window(person, inside) == inside
    assert collection_window(person, ExtractWindow(utc(2026, 5, 5), utc(2026, 5, 6))) is None   # until: exclusive
    assert collection_window(person, ExtractWindow(utc(2026, 5, 1), utc(2026, 5, 3))) is None   # ends at its start
    assert collection_window(Person(id="q", timezone="UTC"), run) == run


def test_extracts_run_per_clipped_window_and_skip_people_outside_with_one_line(caplog):
    calls = []

    def extract(conn, clients, config, window, run_id, **options):
        calls.append(([p.id for p in config.people], window, options))
        return []

    config = TrackerConfig(people=[
        Person(id="open", timezone="UTC"),
        Person(id="also_open", timezone="UTC", collect_from=date(2026, 1, 1)),
        Person(id="late", timezone="UTC", collect_from=date(2026, 5, 6)),
        Person(id="done", timezone="Europe/Berlin", collect_until=date(2026, 5, 1)),
    ])
    run = ExtractWindow(utc(2026, 5, 1), utc(2026, 5, 8))
    with caplog.at_level(logging.WARNING, logger="tracker.sources.contract"):
        within_collection_windows(extract)(None, None, config, run, "run-1", repull=3)
    assert calls == [(["open", "also_open"], run, {"repull": 3}),
                     (["late"], ExtractWindow(utc(2026, 5, 6), run.end), {"repull": 3})]
    assert [r.getMessage() for r in caplog.records] == [
        "done: skipped, the run's window [2026-05-01T00:00:00+00:00, 2026-05-08T00:00:00+00:00) is outside their "
        "collection window […, 2026-05-01) (Europe/Berlin)"]


def test_without_collection_windows_the_extract_is_the_one_call_it_was():
    calls = []

    def extract(conn, clients, config, window, run_id, **options):
        calls.append(config)
        return ["a load"]

    config = TrackerConfig(people=[Person(id="a", timezone="UTC"), Person(id="b", timezone="UTC")])
    run = ExtractWindow(utc(2026, 5, 1), utc(2026, 5, 2))
    assert within_collection_windows(extract)(None, None, config, run, "run-1") == ["a load"]
    assert calls == [config]


def test_the_catalogue_hands_out_clipped_extracts():
    from tracker.sources.catalogue import api_sources

    for src in api_sources():
        assert src.extract_function().__wrapped__.__name__ == "extract_and_load", src.id
