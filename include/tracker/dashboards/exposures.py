"""dbt exposures generated from the dashboard definitions: the docs lineage ends at each dashboard.

`dbt_project/models/exposures.yml` is written by `tracker dashboards exposures` and checked by a test to be
exactly what `render()` makes. Each dashboard depends on the gold models (`ref`) and dbt sources (`source`)
its questions' SQL names; tables that are no dbt node (raw.quarantine, Airflow's dag_run) are listed in the
description instead.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from tracker.dashboards.definitions import Dashboard, DefinitionError

HEADER = ("# Generated from dashboards/*.yml by `tracker dashboards exposures` — do not edit by hand\n"
          "# (tests/unit/test_dashboard_definitions.py checks this file is what the generator makes).\n")


def project_dir() -> Path:
    from tracker import settings

    return settings.repo_root() / "dbt_project"


def exposures_path(project: Path | None = None) -> Path:
    return (project or project_dir()) / "models" / "exposures.yml"


def dbt_sources(project: Path) -> dict[str, tuple[str, str]]:
    """`schema.table` → (dbt source name, table name) for every source table declared in the project."""
    found: dict[str, tuple[str, str]] = {}
    for path in sorted((project / "models").rglob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for src in doc.get("sources") or []:
            schema = src.get("schema", src["name"])
            for table in src.get("tables") or []:
                found[f"{schema}.{table.get('identifier', table['name'])}".lower()] = (src["name"], table["name"])
    return found


def dbt_models(project: Path) -> set[str]:
    return {p.stem for p in (project / "models").rglob("*.sql")}


def report_url(dashboard: Dashboard) -> str:
    """The local report page on the stack's default docs port (the file must not depend on the environment)."""
    from tracker import settings

    return f"http://{settings.HOST}:{settings.PORTS['docs'][1]}/report/{dashboard.id}.html"


def exposure(dashboard: Dashboard, sources: dict[str, tuple[str, str]], models: set[str]) -> dict:
    depends, others = [], []
    for q in dashboard.questions:
        for table in q.tables():
            schema, name = table.split(".", 1)
            if schema in ("gold", "silver"):
                if name not in models:
                    raise DefinitionError(f"{dashboard.id}.yml: {q.id}: {table} is no dbt model")
                node = f"ref('{name}')"
            elif table in sources:
                node = "source('{}', '{}')".format(*sources[table])
            else:
                others.append(table)
                continue
            if node not in depends:
                depends.append(node)
        if q.connection == "airflow" and "airflow.dag_run" not in others:
            others.append("airflow.dag_run")
    description = dashboard.description
    if others:
        description += " Also reads " + ", ".join(dict.fromkeys(others)) + " (not dbt nodes)."
    questions = "; ".join(q.title for q in dashboard.questions)
    return {
        "name": dashboard.id,
        "label": dashboard.title,
        "type": "dashboard",
        "maturity": dashboard.maturity,
        "url": report_url(dashboard),
        "description": f"{description}\n\nQuestions: {questions}.",
        "depends_on": depends,
        "owner": {"name": dashboard.owner},
        "config": {"meta": {"definition": f"dashboards/{dashboard.id}.yml",
                            "questions": [q.id for q in dashboard.questions]}},
    }


def render(dashboards: list[Dashboard], project: Path | None = None) -> str:
    project = project or project_dir()
    sources, models = dbt_sources(project), dbt_models(project)
    body = {"version": 2, "exposures": [exposure(d, sources, models) for d in dashboards]}
    return HEADER + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=110)


def write(dashboards: list[Dashboard], project: Path | None = None) -> tuple[Path, bool]:
    """Write exposures.yml; returns (path, changed)."""
    path = exposures_path(project)
    text = render(dashboards, project)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return path, False
    path.write_text(text, encoding="utf-8")
    return path, True
