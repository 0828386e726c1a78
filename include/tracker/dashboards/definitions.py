"""The dashboards as code: `dashboards/*.yml` read into typed definitions (pydantic), one file per dashboard.

A dashboard is a list of questions; a question is SQL with a chart. Both the local report and the Metabase
sync render these definitions, and dbt's exposures are generated from them, so there is one place to change
a chart. The SQL may use one parameter, `{{person}}` (the person's id: a text template tag in Metabase, a
bound parameter locally); any other `{{…}}` is refused when the file is read.

Which database a question reads (`connection`):
- `analyst` (default): the warehouse as the read-only analyst role — gold only. Metabase connects this way.
- `loader`: the warehouse as the loader role, for pipeline-health questions over raw tables (`_loaded_at`,
  `raw.quarantine`) until gold pipeline-health tables exist; local report only (Metabase has no such login).
- `airflow`: Airflow's metadata database (run durations from `dag_run`); local report only.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

Slug = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)]
ChartType = Literal["line", "bar", "area", "point", "table", "number"]
FieldType = Literal["temporal", "quantitative", "ordinal", "nominal"]
Connection = Literal["analyst", "loader", "airflow"]
PARAMETER = re.compile(r"\{\{\s*([^}]*?)\s*\}\}")
PARAMETERS = ("person",)


class DefinitionError(ValueError):
    """A dashboards file that cannot be used; the message is one line naming the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Chart(_Strict):
    """How a question's rows are drawn. Columns are named as the SQL returns them."""

    type: ChartType
    x: str | None = None                    # the x column (line/bar/area/point)
    x_type: FieldType = "temporal"
    y: list[str] = []                       # one or more y columns; several become coloured series
    y_title: str | None = None
    y_zero: bool = True                     # false: the y axis fits the data instead of starting at 0
    color: str | None = None                # a series column (long format), with exactly one y
    stack: bool = False                     # bar/area: stack the series
    highlight: str | None = None            # point marks where this column is not null (e.g. anomalies)
    value: str | None = None                # number: the column of the first row shown
    columns: list[str] = []                 # table: the columns shown (default: all)
    width: Literal[1, 2] = 1                # grid columns taken in the report and in Metabase (half / full)

    @model_validator(mode="after")
    def _fields_for_type(self) -> Chart:
        if self.type in ("line", "bar", "area", "point"):
            if not self.x or not self.y:
                raise ValueError(f"a {self.type} chart needs x and y")
        if self.type == "point" and len(self.y) != 1:
            raise ValueError("a point chart has exactly one y")
        if self.color and len(self.y) != 1:
            raise ValueError("color (a series column) goes with exactly one y")
        if self.type == "number" and not self.value:
            raise ValueError("a number chart needs value")
        if self.stack and self.type not in ("bar", "area"):
            raise ValueError("stack applies to bar and area charts only")
        if self.highlight and self.type != "line":
            raise ValueError("highlight applies to line charts only")
        return self

    def used_columns(self) -> list[str]:
        named = [self.x, *self.y, self.color, self.highlight, self.value, *self.columns]
        return list(dict.fromkeys(c for c in named if c))


class Question(_Strict):
    id: Slug
    title: str = Field(min_length=1, max_length=100)
    description: str = Field(min_length=1)
    sql: str = Field(min_length=1)
    chart: Chart
    connection: Connection = "analyst"

    @field_validator("sql")
    @classmethod
    def _only_known_parameters(cls, sql: str) -> str:
        unknown = sorted({p for p in PARAMETER.findall(sql) if p not in PARAMETERS})
        if unknown:
            raise ValueError(f"unknown parameter {{{{{unknown[0]}}}}} (only {{{{person}}}} is supported)")
        if ";" in sql.strip().rstrip(";"):
            raise ValueError("one statement only")
        return sql.strip().rstrip(";").strip()

    @property
    def parameters(self) -> list[str]:
        return list(dict.fromkeys(PARAMETER.findall(self.sql)))

    def tables(self) -> list[str]:
        """Schema-qualified tables the SQL reads (`gold.x`, `raw.y`), in order of first mention."""
        return list(dict.fromkeys(m.lower() for m in re.findall(r"\b(?:gold|raw|silver)\.[A-Za-z_][A-Za-z0-9_]*",
                                                                 self.sql)))


class Dashboard(_Strict):
    id: Slug
    title: str = Field(min_length=1, max_length=100)
    description: str = Field(min_length=1)
    owner: str = "Tracker"
    maturity: Literal["low", "medium", "high"] = "medium"
    questions: list[Question] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_question_ids(self) -> Dashboard:
        seen: set[str] = set()
        for q in self.questions:
            if q.id in seen:
                raise ValueError(f"question id {q.id!r} appears twice")
            seen.add(q.id)
        return self

    def question(self, question_id: str) -> Question:
        return next(q for q in self.questions if q.id == question_id)


def default_folder() -> Path:
    from tracker import settings

    return settings.repo_root() / "dashboards"


def _location(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(file)"


def load_file(path: Path) -> Dashboard:
    """One dashboard file, or DefinitionError with one line: `file: questions[2].chart: reason`."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as exc:
        where = f"line {exc.problem_mark.line + 1}: " if exc.problem_mark else ""
        raise DefinitionError(f"{path.name}: cannot read: {where}{exc.problem}") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DefinitionError(f"{path.name}: cannot read: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise DefinitionError(f"{path.name}: expected a mapping with id, title, description and questions")
    try:
        dashboard = Dashboard.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        message = err["msg"].removeprefix("Value error, ")
        raise DefinitionError(f"{path.name}: {_location(err['loc'])}: {message}") from None
    if dashboard.id != path.stem:
        raise DefinitionError(f"{path.name}: id {dashboard.id!r} must match the file name ({path.stem!r})")
    return dashboard


def load_dashboards(folder: Path | None = None) -> list[Dashboard]:
    """Every `*.yml` in the folder (default: the repo's `dashboards/`), sorted by file name."""
    folder = folder or default_folder()
    files = sorted(folder.glob("*.yml"))
    if not files:
        raise DefinitionError(f"{folder}: no dashboard definitions (*.yml)")
    return [load_file(f) for f in files]
