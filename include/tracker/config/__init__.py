"""People, locations and source accounts: the one config file (TRACKER_CONFIG, else the packaged default)."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, time
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

# account keys read by importers rather than by a source's `account` in the catalogue
IMPORT_ACCOUNT_KEYS = ("netflix_profile",)  # tracker.imports.consumption: the one Netflix profile to import


class ConfigError(ValueError):
    """The config cannot be used: `lines` holds one "where: what" line per problem (no traceback needed)."""

    def __init__(self, source: str, lines: list[str]) -> None:
        self.source, self.lines = source, lines
        super().__init__(f"invalid config ({source}):\n" + "\n".join(f"  {line}" for line in lines))


def known_account_keys() -> tuple[str, ...]:
    """Every key a person's `accounts:` may hold: the catalogue's Source.account values, plus the importers'."""
    from tracker.sources.catalogue import SOURCES  # the catalogue imports this module: late

    return (*sorted({s.account for s in SOURCES.values() if s.account}), *IMPORT_ACCOUNT_KEYS)


def _check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA zone {value!r}") from exc
    return value


class Location(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[a-z0-9_]+$")
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    timezone: str

    _zone = field_validator("timezone")(_check_zone)


class Person(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    timezone: str
    locations: list[Location] = []
    accounts: dict[str, str] = {}
    # personal heart-rate zones (Karvonen): the measured max heart rate, else 220 − age from the birth year
    max_heart_rate: int | None = Field(default=None, ge=100, le=230)
    birth_year: int | None = Field(default=None, ge=1900, le=2100)
    # a study participant's collection window, in local dates of `timezone`: from `collect_from` (inclusive) up
    # to `collect_until` (EXCLUSIVE: the first day not collected, like `tracker extract --end`); either may be
    # left out (open). Extracts are clipped to it (tracker.sources.contract), gold reports completeness in it.
    collect_from: date | None = None
    collect_until: date | None = None

    _zone = field_validator("timezone")(_check_zone)

    @model_validator(mode="after")
    def _window_order(self) -> Person:
        if self.collect_from and self.collect_until and self.collect_until <= self.collect_from:
            raise ValueError(f"collect_until {self.collect_until} must be after collect_from {self.collect_from}: "
                             "the window is [collect_from, collect_until), collect_until is the first day not "
                             "collected")
        return self

    def collection_bounds(self) -> tuple[datetime | None, datetime | None]:
        """The collection window as UTC instants: the local midnights of `collect_from` and `collect_until`
        in the person's zone (None: open on that side)."""
        zone = ZoneInfo(self.timezone)

        def midnight(day: date | None) -> datetime | None:
            return datetime.combine(day, time(), zone).astimezone(UTC) if day else None

        return midnight(self.collect_from), midnight(self.collect_until)

    @field_validator("accounts")
    @classmethod
    def _known_accounts(cls, accounts: dict[str, str]) -> dict[str, str]:
        """A typo (`githb:`) would silently skip the source for this person: name the known keys instead."""
        known = known_account_keys()
        unknown = [key for key in accounts if key not in known]
        if unknown:
            raise ValueError(f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
                             f"(known keys: {', '.join(known)})")
        return accounts


class TrackerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    people: list[Person] = Field(min_length=1)

    @field_validator("people")
    @classmethod
    def _unique_ids(cls, people: list[Person]) -> list[Person]:
        ids = [p.id for p in people]
        if len(ids) != len(set(ids)):
            raise ValueError(f"person ids must be unique: {ids}")
        return people

    def choose(self, person_id: str | None, *, only_one: bool = False) -> list[Person]:
        """Everyone (or, with `only_one`, the only configured person), or just `person_id`; a ValueError
        naming the configured ids otherwise. The one person picker of the CLI and the importers."""
        ids = ", ".join(p.id for p in self.people)
        if person_id is None:
            if only_one and len(self.people) != 1:
                raise ValueError(f"several people are configured ({ids}): choose one with --person")
            return list(self.people)
        chosen = [p for p in self.people if p.id == person_id]
        if not chosen:
            raise ValueError(f"no person {person_id!r} in the config (configured: {ids})")
        return chosen


def config_source() -> str:
    """Where `load_config()` reads from: TRACKER_CONFIG's path, else the packaged default."""
    return os.environ.get("TRACKER_CONFIG") or "the packaged default config, TRACKER_CONFIG unset"


def load_config(path: str | Path | None = None) -> TrackerConfig:
    """The config at `path`, TRACKER_CONFIG, else the packaged default. Raises OSError when the file cannot be
    read, ConfigError (a ValueError) with one line per problem when it is not valid YAML or not a valid config."""
    path = path or os.environ.get("TRACKER_CONFIG")
    if path:
        source, text = str(path), Path(path).read_text()
    else:
        source, text = "the packaged default config", resources.files(__package__).joinpath("default.yml").read_text()
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
        raise ConfigError(source, [f"{where}: {getattr(exc, 'problem', None) or exc}"]) from None
    try:
        return TrackerConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, error_lines(exc)) from None


def error_lines(exc: ValidationError) -> list[str]:
    """Pydantic's errors as "people[0].timezone: unknown IANA zone 'Mars/Base'", one line each."""
    lines = []
    for error in exc.errors():
        where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"]).lstrip(".")
        message = error["msg"].removeprefix("Value error, ")
        value = error.get("input")
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        elif error["type"] == "model_type" and not error["loc"]:
            message = "the config must be a mapping with a `people:` list"
        elif isinstance(value, str | int | float | bool) and repr(value) not in message:
            message = f"{message} (got {value!r})"
        lines.append(f"{where or '(top level)'}: {message}")
    return lines
