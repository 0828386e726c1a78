"""Google Health API v4 response shapes (pydantic v2), as far as Tracker reads them.

Wire conventions handled here: int64 fields arrive as JSON strings ("61") and are parsed to `int`; durations
and UTC offsets arrive as "1303s" / "-18000s" and are parsed to seconds; civil dates `{year, month, day}`
become `datetime.date`. Every model keeps unknown keys (`extra="allow"`), and enum-like fields are open
strings because values beyond the published enums were observed (exerciseType CARDIO_WORKOUT, MOTORCYCLE).
A DataPoint has no type field: its type is whichever single union key (`heartRate`, `sleep`, …) is present.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, PrivateAttr, model_validator
from pydantic.alias_generators import to_camel

from tracker.sources.validation import parse

SOURCE = "Google Health"
_DURATION = re.compile(r"^(-?\d+(?:\.\d+)?)s$")
_INT = re.compile(r"^-?\d+$")
ENVELOPE_KEYS = frozenset({"name", "dataPointName", "dataSource"})


def _int64(value: Any) -> Any:
    if isinstance(value, str) and _INT.match(value.strip()):
        return int(value)
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(f"not an int64: {value!r}")
    return value


def _seconds(value: Any) -> Any:
    if isinstance(value, str):
        match = _DURATION.match(value.strip())
        if not match:
            raise ValueError(f"not a duration like '123s': {value!r}")
        return float(match.group(1))
    return value


def _offset(value: Any) -> Any:
    seconds = _seconds(value)
    if isinstance(seconds, float):
        if not seconds.is_integer():
            raise ValueError(f"UTC offset must be whole seconds: {value!r}")
        return int(seconds)
    return seconds


def _civil_date(value: Any) -> Any:
    if isinstance(value, dict):
        return date(int(value["year"]), int(value["month"]), int(value["day"]))
    return value


Int64 = Annotated[int, BeforeValidator(_int64)]
Seconds = Annotated[float, BeforeValidator(_seconds)]
UtcOffset = Annotated[int, BeforeValidator(_offset)]
CivilDate = Annotated[date, BeforeValidator(_civil_date)]


def kebab(union_key: str) -> str:
    """`dailyRestingHeartRate` → `daily-resting-heart-rate` (the data type id used in URLs)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", union_key).lower()


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", alias_generator=to_camel, populate_by_name=True, frozen=True)


# ------------------------------------------------------------------------------------------ time containers
class TimeOfDay(_Model):
    hours: int = 0
    minutes: int = 0
    seconds: int = 0
    nanos: int = 0


class CivilDateTime(_Model):
    """Local wall-clock time; zero fields are omitted on the wire (`"time": {}` is midnight)."""

    date: CivilDate
    time: TimeOfDay = TimeOfDay()

    def to_datetime(self) -> datetime:
        t = self.time
        return datetime.combine(self.date, time(t.hours % 24, t.minutes, t.seconds, t.nanos // 1000))


class SampleTime(_Model):
    physical_time: datetime
    utc_offset: UtcOffset | None = None
    civil_time: CivilDateTime | None = None


class Interval(_Model):
    """ObservationTimeInterval / SessionTimeInterval (sleep and exercise come without the civil times)."""

    start_time: datetime
    end_time: datetime
    start_utc_offset: UtcOffset | None = None
    end_utc_offset: UtcOffset | None = None
    civil_start_time: CivilDateTime | None = None
    civil_end_time: CivilDateTime | None = None

    @property
    def seconds(self) -> float:
        return (self.end_time - self.start_time).total_seconds()


class Segment(_Model):
    """A timed piece of a session: sleep stage, short awakening, out-of-bed segment."""

    start_time: datetime
    end_time: datetime
    start_utc_offset: UtcOffset | None = None
    end_utc_offset: UtcOffset | None = None
    type: str | None = None
    create_time: datetime | None = None
    update_time: datetime | None = None


# ------------------------------------------------------------------------------------------ envelope
class Device(_Model):
    display_name: str | None = None
    form_factor: str | None = None
    manufacturer: str | None = None


class DataSource(_Model):
    recording_method: str | None = None
    device: Device | None = None
    platform: str | None = None
    application: dict[str, Any] | None = None


# ------------------------------------------------------------------------------------------ payloads
class HeartRateMetadata(_Model):
    motion_context: str | None = None
    sensor_location: str | None = None


class HeartRate(_Model):
    sample_time: SampleTime
    beats_per_minute: Int64
    metadata: HeartRateMetadata | None = None


class RestingHeartRateMetadata(_Model):
    calculation_method: str | None = None


class DailyRestingHeartRate(_Model):
    date: CivilDate
    beats_per_minute: Int64
    daily_resting_heart_rate_metadata: RestingHeartRateMetadata | None = None


class SleepMetadata(_Model):
    external_id: str | None = None
    manually_edited: bool | None = None
    nap: bool | None = None
    processed: bool | None = None
    stages_status: str | None = None
    main_sleep: bool | None = None  # observed, not in the discovery doc (revision 20260527)


class StageSummary(_Model):
    type: str
    minutes: Int64 = 0
    count: Int64 = 0


class SleepSummary(_Model):
    minutes_asleep: Int64 | None = None
    minutes_awake: Int64 | None = None
    minutes_in_sleep_period: Int64 | None = None
    minutes_to_fall_asleep: Int64 | None = None
    minutes_after_wake_up: Int64 | None = None
    stages_summary: list[StageSummary] = []


class Sleep(_Model):
    interval: Interval
    type: str | None = None
    stages: list[Segment] = []
    out_of_bed_segments: list[Segment] = []
    short_awakenings: list[Segment] = []  # observed, not in the discovery doc
    metadata: SleepMetadata | None = None
    summary: SleepSummary | None = None
    create_time: datetime | None = None
    update_time: datetime | None = None


class HeartRateZoneDurations(_Model):
    light_time: Seconds | None = None
    moderate_time: Seconds | None = None
    vigorous_time: Seconds | None = None
    peak_time: Seconds | None = None


class MetricsSummary(_Model):
    calories_kcal: float | None = None
    distance_millimeters: float | None = None
    steps: Int64 | None = None
    average_heart_rate_beats_per_minute: Int64 | None = None
    active_zone_minutes: Int64 | None = None
    average_pace_seconds_per_meter: float | None = None
    average_speed_millimeters_per_second: float | None = None
    elevation_gain_millimeters: float | None = None
    run_vo2_max: float | None = None
    total_swim_lengths: float | None = None
    heart_rate_zone_durations: HeartRateZoneDurations | None = None
    mobility_metrics: dict[str, Any] | None = None


class ExerciseEvent(_Model):
    event_time: datetime
    event_utc_offset: UtcOffset | None = None
    exercise_event_type: str | None = None


class ExerciseMetadata(_Model):
    has_gps: bool | None = None
    pool_length_millimeters: Int64 | None = None


class Exercise(_Model):
    interval: Interval
    exercise_type: str
    display_name: str | None = None
    active_duration: Seconds | None = None
    exercise_events: list[ExerciseEvent] = []
    exercise_metadata: ExerciseMetadata | None = None
    metrics_summary: MetricsSummary = MetricsSummary()
    splits: list[dict[str, Any]] = []
    split_summaries: list[dict[str, Any]] = []
    notes: str | None = None
    create_time: datetime | None = None
    update_time: datetime | None = None

    @property
    def duration_seconds(self) -> float:
        """Active duration (pauses excluded) when given, else the interval's length."""
        return self.active_duration if self.active_duration is not None else self.interval.seconds


class Steps(_Model):
    interval: Interval
    count: Int64 = 0  # proto3 omits zeros


class DailyHeartRateVariability(_Model):
    date: CivilDate
    average_heart_rate_variability_milliseconds: float | None = None
    non_rem_heart_rate_beats_per_minute: Int64 | None = None
    entropy: float | None = None
    deep_sleep_root_mean_square_of_successive_differences_milliseconds: float | None = None


class DailyOxygenSaturation(_Model):
    date: CivilDate
    average_percentage: float
    lower_bound_percentage: float | None = None
    upper_bound_percentage: float | None = None
    standard_deviation_percentage: float | None = None


class DailyRespiratoryRate(_Model):
    date: CivilDate
    breaths_per_minute: float


class TimeInHeartRateZone(_Model):
    interval: Interval
    heart_rate_zone_type: str


class HeartRateZone(_Model):
    heart_rate_zone_type: str
    min_beats_per_minute: Int64
    max_beats_per_minute: Int64


class DailyHeartRateZones(_Model):
    date: CivilDate
    heart_rate_zones: list[HeartRateZone] = []


class DataPoint(_Model):
    """One data point: envelope (`name`, `dataSource`) plus exactly one union payload.

    Payloads Tracker models are typed attributes; any other union key is kept as a dict in `model_extra`.
    `data_type` is the kebab-case type id, `value` the payload, `record` the original JSON object.
    """

    name: str | None = None  # only identifiable types (sleep, exercise, …); absent for heart-rate/steps
    data_point_name: str | None = None  # the id field of `:reconcile` answers
    data_source: DataSource | None = None
    heart_rate: HeartRate | None = None
    daily_resting_heart_rate: DailyRestingHeartRate | None = None
    sleep: Sleep | None = None
    exercise: Exercise | None = None
    steps: Steps | None = None
    daily_heart_rate_variability: DailyHeartRateVariability | None = None
    daily_oxygen_saturation: DailyOxygenSaturation | None = None
    daily_respiratory_rate: DailyRespiratoryRate | None = None
    time_in_heart_rate_zone: TimeInHeartRateZone | None = None
    daily_heart_rate_zones: DailyHeartRateZones | None = None

    _union_key: str = PrivateAttr(default="")
    _record: dict[str, Any] = PrivateAttr(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _exactly_one_payload(cls, data: Any) -> Any:
        if isinstance(data, dict):
            keys = [k for k, v in data.items() if k not in ENVELOPE_KEYS and isinstance(v, dict)]
            if len(keys) != 1:
                raise ValueError(f"expected exactly one data type key, got {sorted(keys) or 'none'}")
        return data

    def model_post_init(self, context: Any) -> None:
        present = [to_camel(n) for n in self.model_fields_set if n not in ("name", "data_point_name", "data_source")]
        present += [k for k, v in (self.model_extra or {}).items() if isinstance(v, dict)]
        self._union_key = present[0] if present else ""

    @property
    def union_key(self) -> str:
        return self._union_key

    @property
    def data_type(self) -> str:
        return kebab(self._union_key)

    @property
    def value(self) -> Any:
        """The payload: a typed model for the types above, else the raw dict."""
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", self._union_key).lower()
        return getattr(self, snake, None) if snake in type(self).model_fields else self.model_extra[self._union_key]

    @property
    def record(self) -> dict[str, Any]:
        """The JSON object exactly as received (int64 still as strings): what a raw table stores."""
        return self._record


def parse_data_point(raw: Any, *, where: str = "dataPoints[]", data_type: str | None = None) -> DataPoint:
    """Validate one DataPoint object; any problem becomes a MalformedResponseError naming the field.

    With `data_type` (the type that was asked for), its payload key is the point's payload and any other
    object field beside it is an unknown field: kept in `record`, never a reason to reject the point.
    """
    payload = to_camel(data_type.replace("-", "_")) if data_type else None
    validated = raw
    if isinstance(raw, dict) and payload in raw:
        validated = {k: v for k, v in raw.items()
                     if k == payload or k in ENVELOPE_KEYS or not isinstance(v, dict)}
    point = parse(DataPoint, validated, source=SOURCE, where=where)
    point._record = raw
    return point


def coerce_wire_values(value: Any) -> Any:
    """Rollup values: int64 strings → int, duration strings ("300s") → float seconds, recursively."""
    if isinstance(value, dict):
        return {k: coerce_wire_values(v) for k, v in value.items()}
    if isinstance(value, list):
        return [coerce_wire_values(v) for v in value]
    if isinstance(value, str):
        if _INT.match(value):
            return int(value)
        if match := _DURATION.match(value):
            return float(match.group(1))
    return value


class RollupDataPoint(_Model):
    """One window of `:rollUp` (physical time). `value` holds the type's rollup fields, coerced."""

    start_time: datetime
    end_time: datetime

    @property
    def union_key(self) -> str:
        return next(iter(self.model_extra or {}), "")

    @property
    def value(self) -> dict[str, Any]:
        return coerce_wire_values((self.model_extra or {}).get(self.union_key, {}))


class DailyRollupDataPoint(_Model):
    """One window of `:dailyRollUp` (civil days in the user's time zone)."""

    civil_start_time: CivilDateTime
    civil_end_time: CivilDateTime

    @property
    def date(self) -> date:
        return self.civil_start_time.date

    @property
    def union_key(self) -> str:
        return next(iter(self.model_extra or {}), "")

    @property
    def value(self) -> dict[str, Any]:
        return coerce_wire_values((self.model_extra or {}).get(self.union_key, {}))


def parse_rollup(raw: Any, model: type[RollupDataPoint] | type[DailyRollupDataPoint],
                 where: str = "rollupDataPoints[]") -> RollupDataPoint | DailyRollupDataPoint:
    return parse(model, raw, source=SOURCE, where=where)
