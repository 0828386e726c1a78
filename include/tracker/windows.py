"""Extract windows: every extract is bounded by a half-open UTC interval [start, end)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class ExtractWindow:
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("window bounds must be timezone-aware")
        if self.end <= self.start:
            raise ValueError(f"empty window: {self.start.isoformat()} .. {self.end.isoformat()}")

    def __str__(self) -> str:
        return f"[{self.start.isoformat()}, {self.end.isoformat()})"


def window_for_run(data_interval_start: datetime | None, data_interval_end: datetime | None,
                   run_after: datetime | None = None, default: timedelta = timedelta(days=1)) -> ExtractWindow:
    """The run's data interval; a run without one (manual, asset-triggered) gets the last full UTC day(s)."""
    if data_interval_start is not None and data_interval_end is not None \
            and data_interval_end > data_interval_start:
        return ExtractWindow(data_interval_start.astimezone(UTC), data_interval_end.astimezone(UTC))
    anchor = (run_after or datetime.now(UTC)).astimezone(UTC)
    end = anchor.replace(hour=0, minute=0, second=0, microsecond=0)
    return ExtractWindow(end - default, end)


def plain_utc(window: ExtractWindow) -> ExtractWindow:
    """The window with stdlib UTC datetimes: Airflow hands over pendulum DateTimes, whose arithmetic with a
    fixed-offset tzinfo can come back naive (pendulum + timedelta(days=365) did), breaking comparisons."""
    def plain(moment: datetime) -> datetime:
        m = moment.astimezone(UTC)
        return datetime(m.year, m.month, m.day, m.hour, m.minute, m.second, m.microsecond, tzinfo=UTC)

    return ExtractWindow(plain(window.start), plain(window.end))
