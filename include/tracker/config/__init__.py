"""People, locations and source accounts: the one config file (TRACKER_CONFIG, else the packaged default)."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator


def _check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {value!r}") from exc
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

    _zone = field_validator("timezone")(_check_zone)


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
    path = path or os.environ.get("TRACKER_CONFIG")
    if path:
        text = Path(path).read_text()
    else:
        text = resources.files(__package__).joinpath("default.yml").read_text()
    return TrackerConfig.model_validate(yaml.safe_load(text))
