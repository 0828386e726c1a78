"""The event model (version 1): what happens in a person's day, as it travels through Kafka.

One JSON object per Kafka message, on topic `tracker.events.v1` (topics.py), message key = person_id:

    {"kind": "event", "v": 1, "person_id": "me", "source": "fitbit", "entity": "heart_rate",
     "key": "api|export.json|2026-12-01 10:00:00+00", "event_time": "2026-12-01T10:00:00+00:00",
     "payload": {"bpm": 71, "confidence": 2, "data_source": "api"}}

- identity: person_id + source + entity + key (the raw table's natural key without the person, '|'-joined
  as PostgreSQL renders it in UTC). The same row produced twice is the same event: the consumer keeps the
  latest version per identity, so duplicates never count twice.
- value: event_time (an aware instant) + payload (typed per stream, `PAYLOADS`).
- control message `{"kind": "reset", "v": 1, "person_id", "source", "entity", "start", "end", "replay_id"}`:
  a replay's first message per person and stream — "the events of this person and stream with
  start <= event_time < end are exactly what follows". It shares the person's partition, so it is ordered
  with the person's events; deleted raw rows leave realtime this way.

A new field may be added to a payload without a new version (consumers ignore unknown payload fields); a
change of meaning or type is `v: 2` on a new topic (`tracker.events.v2`), the two run side by side.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal, NotRequired, Union

from pydantic import AwareDatetime, Field, TypeAdapter
from typing_extensions import TypedDict

VERSION = 1


# ----------------------------------------------------------------------------------------------- payloads
class HeartRate(TypedDict):
    bpm: int
    confidence: NotRequired[int | None]
    data_source: str


class StepsMinute(TypedDict):
    steps: int
    data_source: str


class StepsDaily(TypedDict):
    date: date
    steps: int
    data_source: str


class SleepSession(TypedDict):
    start_at: AwareDatetime | None
    end_at: AwareDatetime | None
    minutes_asleep: int | None
    is_main_sleep: NotRequired[bool | None]
    data_source: str


class Workout(TypedDict):
    exercise_type: str | None
    start_at: AwareDatetime
    end_at: AwareDatetime | None
    active_seconds: int | None
    steps: NotRequired[int | None]


class Commit(TypedDict):
    repo: str
    sha: str
    parent_count: int | None
    additions: NotRequired[int | None]
    deletions: NotRequired[int | None]


class PullRequest(TypedDict):
    repo: str
    number: int
    state: NotRequired[str | None]


class Review(TypedDict):
    repo: str
    pr_number: int | None
    state: NotRequired[str | None]


class Scrobble(TypedDict):
    artist: str
    track: str


class SpotifyStream(TypedDict):
    ms_played: int
    content_type: str | None


class NetflixViewing(TypedDict):
    title: str
    duration_seconds: int | None
    is_supplemental: bool | None


class YoutubeWatch(TypedDict):
    title: str | None
    is_ad: bool | None


class TraktWatch(TypedDict):
    media_type: str
    title: str | None
    runtime_minutes: int | None


class WeatherObservation(TypedDict):
    location_name: str
    temperature_2m: float | None
    precipitation: NotRequired[float | None]


# ------------------------------------------------------------------------------------------------ streams
@dataclass(frozen=True)
class Stream:
    """One raw table as a stream of events: where its rows come from and what an event carries.

    `time` is the SQL expression of the event time over the raw row, `payload` maps payload field → SQL
    expression. The key is the raw table's primary key without person_id (from the catalogue).
    """

    source: str
    entity: str
    raw_table: str
    time: str
    payload: dict[str, str]
    payload_type: type

    @property
    def name(self) -> str:
        return f"{self.source}.{self.entity}"


def _cols(*names: str, **renamed: str) -> dict[str, str]:
    return {**{n: n for n in names}, **renamed}


STREAMS: dict[str, Stream] = {s.name: s for s in (
    Stream("fitbit", "heart_rate", "raw.fitbit__heart_rate", "observed_at",
           _cols("bpm", "confidence", data_source="source"), HeartRate),
    Stream("fitbit", "steps_minute", "raw.fitbit__steps_minute", "observed_at",
           _cols("steps", data_source="source"), StepsMinute),
    Stream("fitbit", "steps_daily", "raw.fitbit__steps_daily", "(date::timestamp at time zone 'UTC')",
           _cols("date", "steps", data_source="source"), StepsDaily),
    Stream("fitbit", "sleep_session", "raw.fitbit__sleep_sessions", "coalesce(end_at, start_at)",
           _cols("start_at", "end_at", "minutes_asleep", "is_main_sleep", data_source="source"), SleepSession),
    Stream("fitbit", "workout", "raw.fitbit__exercises", "start_at",
           _cols("exercise_type", "start_at", "end_at", "active_seconds", "steps"), Workout),
    Stream("github", "commit", "raw.github__commits", "authored_at",
           _cols("repo", "sha", "parent_count", "additions", "deletions"), Commit),
    Stream("github", "pull_request", "raw.github__pull_requests", "created_at",
           _cols("repo", "number", "state"), PullRequest),
    Stream("github", "review", "raw.github__reviews", "submitted_at",
           _cols("repo", "pr_number", "state"), Review),
    Stream("lastfm", "scrobble", "raw.lastfm__scrobbles", "played_at", _cols("artist", "track"), Scrobble),
    Stream("spotify", "stream", "raw.spotify__streams", "started_at", _cols("ms_played", "content_type"),
           SpotifyStream),
    Stream("netflix", "viewing", "raw.netflix__viewing_activity", "started_at",
           _cols("title", "duration_seconds", "is_supplemental"), NetflixViewing),
    Stream("youtube", "watch", "raw.youtube__watch_history", "watched_at", _cols("title", "is_ad"),
           YoutubeWatch),
    Stream("trakt", "history", "raw.trakt__history", "watched_at", _cols("media_type", "title", "runtime_minutes"),
           TraktWatch),
    Stream("open_meteo", "weather", "raw.open_meteo__hourly", "observed_at",
           _cols("location_name", "temperature_2m", "precipitation"), WeatherObservation),
)}

# Raw tables of the catalogue that are deliberately not streamed, and why (tests/ check every table is one
# or the other, so a new raw table is a decision, not an omission).
NOT_STREAMED: dict[str, str] = {
    "raw.github__issues": "no realtime metric yet",
    "raw.github__contributions_daily": "GitHub's own calendar count: a daily summary, not an event",
    "raw.fitbit__heart_rate_zones_daily": "daily rollup computed by Fitbit from heart rate (streamed itself)",
    "raw.fitbit__resting_heart_rate": "daily rollup computed by Fitbit",
    "raw.fitbit__hrv_daily": "daily rollup",
    "raw.fitbit__spo2_daily": "daily rollup",
    "raw.fitbit__respiratory_rate_daily": "daily rollup",
    "raw.fitbit__heart_rate_zone_limits": "settings, not events",
    "raw.fitbit__sleep_stages": "parts of a sleep session (streamed as fitbit.sleep_session)",
    "raw.fitbit__spo2_minute": "no realtime metric yet",
    "raw.fitbit__sleep_scores": "scored after the night; no realtime metric",
}


# ----------------------------------------------------------------------------------------------- messages
class Event(TypedDict):
    kind: Literal["event"]
    v: Literal[1]
    person_id: str
    source: str
    entity: str
    key: str
    event_time: AwareDatetime
    payload: dict[str, Any]


class Reset(TypedDict):
    kind: Literal["reset"]
    v: Literal[1]
    person_id: str
    source: str
    entity: str
    start: AwareDatetime
    end: AwareDatetime
    replay_id: str


def _typed_event(stream: Stream) -> Any:
    """The event TypedDict of one stream: its source and entity as literals, its payload typed."""
    return TypedDict(f"{stream.payload_type.__name__}Event", {  # type: ignore[misc]
        "kind": Literal["event"], "v": Literal[1], "person_id": str, "source": Literal[stream.source],
        "entity": Literal[stream.entity], "key": str, "event_time": AwareDatetime,
        "payload": stream.payload_type})


# entity names are unique across sources: the entity picks the event type (a string discriminator, checked in
# pydantic-core without a Python call per message), the kind picks event or reset
assert len({s.entity for s in STREAMS.values()}) == len(STREAMS)
_EVENTS = tuple(_typed_event(s) for s in STREAMS.values())
AnyEvent = Annotated[Union[_EVENTS], Field(discriminator="entity")]  # noqa: UP007 - a runtime tuple of types
Message = Annotated[Union[Reset, AnyEvent], Field(discriminator="kind")]  # noqa: UP007

MESSAGE = TypeAdapter(Message)
MESSAGES = TypeAdapter(list[Message])

_TAGS = {"reset", "event", *(s.entity for s in STREAMS.values())}


class Malformed(ValueError):
    """A message that is not a valid version-1 event or reset; str() is the reason for the dead letter."""


def decode(value: bytes | None) -> dict[str, Any]:
    """One message value → a validated Event or Reset dict, or Malformed with a one-line reason."""
    from pydantic import ValidationError

    if value is None:
        raise Malformed("empty message (no value)")
    try:
        return MESSAGE.validate_json(value)
    except ValidationError as exc:
        raise Malformed(_reason(exc)) from None


def decode_many(values: list[bytes | None]) -> list[dict[str, Any] | Malformed]:
    """Validate a batch in one pass (fast path); when any is bad, each one alone to find which."""
    from pydantic import ValidationError

    if values and all(v for v in values):
        try:
            return MESSAGES.validate_json(b"[" + b",".join(values) + b"]")  # type: ignore[arg-type]
        except ValidationError:
            pass
    out: list[dict[str, Any] | Malformed] = []
    for v in values:
        try:
            out.append(decode(v))
        except Malformed as exc:
            out.append(exc)
    return out


def _reason(exc: Any) -> str:
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc = ".".join(str(p) for p in first["loc"] if not (isinstance(p, str) and (p in _TAGS or "." in p)))
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{loc or 'message'}: {first['msg']}{more}"


def event(person_id: str, stream: str, key: str, event_time: datetime, payload: dict[str, Any]) -> dict[str, Any]:
    """A version-1 event as a dict (what `encode` writes)."""
    s = STREAMS[stream]
    return {"kind": "event", "v": VERSION, "person_id": person_id, "source": s.source, "entity": s.entity,
            "key": key, "event_time": event_time, "payload": payload}


def encode(message: dict[str, Any]) -> bytes:
    """A message dict → its JSON bytes (instants in ISO 8601)."""
    return MESSAGE.dump_json(message)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a version-1 message (for other producers)."""
    return MESSAGE.json_schema()
