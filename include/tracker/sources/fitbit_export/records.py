"""Shared pieces of the Fitbit export parsers: the record error, JSON loading with the GC paused, and the
number and time readers every file's parser uses (numbers given as strings are accepted)."""

from __future__ import annotations

import gc
import math
from collections import Counter
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from tracker.sources.fitbit_export.timezones import (
    US,
    local_to_utc,
)
from tracker.warehouse.quarantine import Rejected

BPM_RANGE = (1, 300)
SPO2_SENTINEL = 50.0
STAGE_LEVELS = {"stages": {"wake", "light", "deep", "rem"}, "classic": {"asleep", "restless", "awake"}}
_EPOCH_DATE = date(1970, 1, 1)


class BadRecord(ValueError):
    """A record that cannot be loaded; the message is the quarantine reason."""


@contextmanager
def gc_paused() -> Generator[None, None, None]:
    """Parsing a large JSON array allocates ~10^5 containers: the cyclic GC would run dozens of times."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_BOM = b"\xef\xbb\xbf"


def load_json(data: bytes) -> Any:
    with gc_paused():
        return orjson.loads(data[3:] if data.startswith(_BOM) else data)


def _raw(record: Any) -> str:
    try:
        return orjson.dumps(record).decode()
    except TypeError:
        return repr(record)


# ---------------------------------------------------------------------------------------------- numbers
def as_float(value: Any, what: str) -> float | None:
    """A number, or a number given as a string; None for null/empty. NaN/inf and booleans are bad."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise BadRecord(f"{what} is a boolean")
    if isinstance(value, int | float):
        result = float(value)
    elif isinstance(value, str):
        try:
            result = float(value.strip())
        except ValueError:
            raise BadRecord(f"{what} is not a number: {value!r}") from None
    else:
        raise BadRecord(f"{what} is not a number: {value!r}")
    if not math.isfinite(result):
        raise BadRecord(f"{what} is not finite: {value!r}")
    return result


def as_int(value: Any, what: str) -> int | None:
    result = as_float(value, what)
    if result is None:
        return None
    if not result.is_integer():
        raise BadRecord(f"{what} is not an integer: {value!r}")
    return int(result)


def required(value: Any, what: str) -> Any:
    if value is None:
        raise BadRecord(f"{what} is missing")
    return value


# ---------------------------------------------------------------------------------------------- times
@lru_cache(maxsize=4096)
def _mdy_day_us(text: str) -> int:
    """'MM/DD/YY' → naive µs of that midnight (validated)."""
    if len(text) != 8 or text[2] != "/" or text[5] != "/" or not (text[:2] + text[3:5] + text[6:]).isdigit():
        raise BadRecord(f"bad date {text!r} (expected MM/DD/YY)")
    try:
        day = date(2000 + int(text[6:]), int(text[:2]), int(text[3:5]))
    except ValueError:
        raise BadRecord(f"bad date {text!r}") from None
    return (day - _EPOCH_DATE).days * 86_400 * US


def mdy_date(text: Any) -> date:
    if not isinstance(text, str):
        raise BadRecord(f"bad date {text!r} (expected MM/DD/YY)")
    return _EPOCH_DATE + timedelta(days=_mdy_day_us(text[:8]) // US // 86_400)


def mdy_naive_us(text: Any) -> int:
    """'MM/DD/YY HH:MM:SS' (fixed width) → naive µs, by slicing."""
    if not isinstance(text, str) or len(text) != 17 or text[8] != " " or text[11] != ":" or text[14] != ":":
        raise BadRecord(f"bad dateTime {text!r} (expected MM/DD/YY HH:MM:SS)")
    clock = text[9:11] + text[12:14] + text[15:17]
    if not clock.isdigit():
        raise BadRecord(f"bad dateTime {text!r}")
    h, m, s = int(clock[:2]), int(clock[2:4]), int(clock[4:])
    if h > 23 or m > 59 or s > 59:
        raise BadRecord(f"bad dateTime {text!r}")
    return _mdy_day_us(text[:8]) + ((h * 60 + m) * 60 + s) * US


def iso_naive(text: Any, what: str) -> datetime:
    """ISO local time without zone ('2024-02-22T07:41:30.000'); an explicit offset is kept (aware)."""
    if not isinstance(text, str):
        raise BadRecord(f"{what} is missing or not a string: {text!r}")
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadRecord(f"{what} is not an ISO time: {text!r}") from None


def iso_date(text: Any, what: str) -> date:
    if not isinstance(text, str) or len(text.strip()) < 10:
        raise BadRecord(f"{what} is not a date: {text!r}")
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise BadRecord(f"{what} is not a date: {text!r}") from None


def to_utc(value: datetime, zone: ZoneInfo) -> datetime:
    """One local time (no sequence context: fold=0, gap shifted forward); aware values just convert."""
    if value.tzinfo is not None:
        return value.astimezone(UTC)
    return local_to_utc([value], zone)[0]


# ---------------------------------------------------------------------------------------------- records
@dataclass
class Parsed:
    """Rows (dicts keyed by raw column names), rejected records and skipped-with-reason counts."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    extra: list[dict[str, Any]] = field(default_factory=list)   # second table (sleep stages)


def _json_array(data: bytes, name: str, out: Parsed) -> list[Any]:
    try:
        records = load_json(data)
    except orjson.JSONDecodeError as exc:
        out.rejected.append(Rejected(name, f"invalid JSON: {exc}", data[:2000].decode("utf-8", "replace")))
        return []
    if not isinstance(records, list):
        out.rejected.append(Rejected(name, "expected a JSON array", data[:2000].decode("utf-8", "replace")))
        return []
    return records


def _each(records: list[Any], name: str, out: Parsed) -> Iterator[tuple[int, dict[str, Any]]]:
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            out.rejected.append(Rejected(f"{name}[{i}]", "record is not an object", _raw(record)))
            continue
        yield i, record
