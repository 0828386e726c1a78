"""Helpers shared by the demo APIs: seeded randomness, the demo person's clock and local days.

Everything a demo API serves is a pure function of (local date, slot): repeated requests agree, and any
window can be answered by generating the local days around it and filtering.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

T = TypeVar("T")
ZONE = ZoneInfo("Europe/Berlin")  # the demo person lives here
FIRST_DAY = date(2020, 1, 1)  # nothing before this


def u(*key: object) -> float:
    """A uniform number in [0, 1) seeded by `key`."""
    digest = hashlib.blake2b(repr(key).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def pick(seq: Sequence[T], *key: object) -> T:
    return seq[int(u(*key) * len(seq))]


def between(low: float, high: float, *key: object) -> float:
    return low + (high - low) * u(*key)


def hexdigest(*key: object, size: int = 20) -> str:
    return hashlib.blake2b(repr(key).encode(), digest_size=size).hexdigest()


def now(today: date | None) -> datetime:
    """The demo's clock: the real time, or the start (00:00 UTC) of a pinned `today`."""
    return datetime.now(UTC) if today is None else datetime.combine(today, time(), UTC)


def local(day: date, minutes: float) -> datetime:
    """`minutes` after local midnight of `day` in the demo zone, as UTC (minutes may exceed a day)."""
    return (datetime.combine(day, time(), ZONE) + timedelta(minutes=minutes)).astimezone(UTC)


def local_days(start: datetime, end: datetime) -> Iterator[date]:
    """Local days whose activity can fall in [start, end) (one day of margin either side, from FIRST_DAY)."""
    day = max(FIRST_DAY, start.astimezone(ZONE).date() - timedelta(days=1))
    last = end.astimezone(ZONE).date() + timedelta(days=1)
    while day <= last:
        yield day
        day += timedelta(days=1)


def parse_time(value: str) -> datetime:
    """An ISO timestamp ('Z' allowed) or a date, as aware UTC (a date means its UTC midnight)."""
    value = value.strip()
    if len(value) == 10:
        return datetime.combine(date.fromisoformat(value), time(), UTC)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup on the demo request's plain dict."""
    return next((v for k, v in headers.items() if k.lower() == name.lower()), None)
