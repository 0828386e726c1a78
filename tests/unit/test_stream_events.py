"""The event model and the stream catalogue, without a broker: every raw table is streamed or deliberately
not, every stream has a metric, messages round-trip, malformed ones get a one-line reason."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tracker.sources.catalogue import raw_tables
from tracker.stream import aggregates
from tracker.stream import events as ev


def test_every_raw_table_of_the_catalogue_is_streamed_or_listed_as_not_streamed():
    catalogue = {t.qualified for t in raw_tables()}
    streamed = {s.raw_table for s in ev.STREAMS.values()}
    assert streamed <= catalogue
    assert set(ev.NOT_STREAMED) <= catalogue
    assert not streamed & set(ev.NOT_STREAMED)
    assert catalogue == streamed | set(ev.NOT_STREAMED), "decide: stream the new raw table or say why not"


def test_every_stream_has_one_metric_and_its_payload_columns_exist():
    assert set(aggregates.METRICS) == set(ev.STREAMS)
    tables = {t.qualified: t for t in raw_tables()}
    for stream in ev.STREAMS.values():
        columns = set(tables[stream.raw_table].columns)
        for expr in stream.payload.values():
            assert expr in columns, f"{stream.name}: {expr} is not a column of {stream.raw_table}"


def test_an_event_and_a_reset_round_trip():
    t = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    event = ev.event("me", "fitbit.heart_rate", "api||2026-11-20 10:00:00+00", t, {"bpm": 71, "data_source": "api"})
    assert ev.decode(ev.encode(event)) == event
    reset = {"kind": "reset", "v": 1, "person_id": "me", "source": "github", "entity": "commit", "start": t,
             "end": t, "replay_id": "r"}
    assert ev.decode(ev.encode(reset)) == reset
    assert "oneOf" in str(ev.json_schema()) or "anyOf" in str(ev.json_schema())


@pytest.mark.parametrize(("value", "says"), [
    (b"{", "Invalid JSON"),
    (b'{"kind": "event", "v": 1, "source": "fitbit", "entity": "heart_rate"}', "person_id"),
    (b'{"kind": "event", "v": 1, "person_id": "me", "source": "fitbit", "entity": "heart_rate", "key": "k", '
     b'"event_time": "2026-11-20T10:00:00Z", "payload": {"bpm": "many", "data_source": "api"}}', "bpm"),
    (b'{"kind": "event", "v": 1, "person_id": "me", "source": "github", "entity": "heart_rate", "key": "k", '
     b'"event_time": "2026-11-20T10:00:00Z", "payload": {"bpm": 60, "data_source": "api"}}', "source"),
    (b'{"kind": "event", "v": 2}', "message"),
    (None, "empty message"),
])
def test_malformed_messages_have_a_one_line_reason(value, says):
    with pytest.raises(ev.Malformed) as caught:
        ev.decode(value)
    assert says in str(caught.value) and "\n" not in str(caught.value)


def test_a_bad_message_in_a_batch_does_not_hide_the_good_ones():
    t = datetime(2026, 11, 20, tzinfo=UTC)
    good = ev.encode(ev.event("me", "github.commit", "o/r|abc", t, {"repo": "o/r", "sha": "abc", "parent_count": 1}))
    out = ev.decode_many([good, b"nonsense", good])
    assert isinstance(out[1], ev.Malformed) and out[0] == out[2] and out[0]["entity"] == "commit"
