"""The dashboard definitions (dashboards/*.yml): they load, bad files fail in one line naming the field, the
generated dbt exposures are up to date, and the vendored chart JavaScript is what its README says."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

GOOD = """\
id: {id}
title: T
description: D
questions:
  - id: q1
    title: Q
    description: QD
    sql: select local_date, steps from gold.fct_daily_summary where person_id = {{{{person}}}}
    chart: {{type: line, x: local_date, y: [steps]}}
"""


def test_the_repos_dashboards_load_with_every_required_dashboard():
    from tracker.dashboards.definitions import load_dashboards

    dashboards = {d.id: d for d in load_dashboards()}
    assert {"daily_overview", "pipeline_health", "study_completeness"} <= dashboards.keys()
    for d in dashboards.values():
        for q in d.questions:
            # gold questions read gold only; raw needs the loader, dag_run needs Airflow's database
            schemas = {t.split(".")[0] for t in q.tables()}
            assert schemas <= ({"gold"} if q.connection == "analyst" else {"raw", "gold"}), (q.id, schemas)
            assert q.parameters in ([], ["person"])


@pytest.mark.parametrize(("text", "message"), [
    (GOOD.format(id="x").replace("type: line", "type: pie"),
     "x.yml: questions[0].chart.type: Input should be 'line', 'bar', 'area', 'point', 'table' or 'number'"),
    (GOOD.format(id="x").replace("y: [steps]", "y: []"), "x.yml: questions[0].chart: a line chart needs x and y"),
    (GOOD.format(id="x").replace("{{person}}", "{{day}}"),
     "x.yml: questions[0].sql: unknown parameter {{day}} (only {{person}} is supported)"),
    (GOOD.format(id="x").replace("title: Q", "title: Q\n    colour: red"),
     "x.yml: questions[0].colour: Extra inputs are not permitted"),
    (GOOD.format(id="x").replace("{{person}}", "{{person}}; drop table gold.x"),
     "x.yml: questions[0].sql: one statement only"),
    (GOOD.format(id="y"), "x.yml: id 'y' must match the file name ('x')"),
    ("id: x\n  title: [", "x.yml: cannot read: line 2: mapping values are not allowed here"),
    ("- a\n- b\n", "x.yml: expected a mapping with id, title, description and questions"),
    (GOOD.format(id="x") + GOOD.format(id="x").split("questions:\n")[1],
     "x.yml: (file): question id 'q1' appears twice"),
])
def test_a_bad_definition_fails_in_one_line_naming_file_and_field(tmp_path, text, message):
    from tracker.dashboards.definitions import DefinitionError, load_file

    path = tmp_path / "x.yml"
    path.write_text(text)
    with pytest.raises(DefinitionError) as err:
        load_file(path)
    assert str(err.value) == message
    assert "\n" not in str(err.value)


def test_exposures_yml_is_what_the_generator_makes_from_the_definitions():
    from tracker.dashboards import exposures
    from tracker.dashboards.definitions import load_dashboards

    path = exposures.exposures_path()
    assert path.read_text() == exposures.render(load_dashboards()), (
        "dbt_project/models/exposures.yml is stale: run `tracker dashboards exposures`")


def test_an_exposure_depends_on_every_gold_model_and_dbt_source_its_questions_read(tmp_path):
    import yaml
    from tracker.dashboards import exposures
    from tracker.dashboards.definitions import DefinitionError, load_dashboards, load_file

    made = yaml.safe_load(exposures.render(load_dashboards()))["exposures"]
    health = next(e for e in made if e["name"] == "pipeline_health")
    assert "ref('fct_daily_summary')" in health["depends_on"] and "ref('fct_pipeline_loads_daily')" in \
        health["depends_on"]
    assert "raw.quarantine" in health["description"]  # no dbt node: named, not dropped
    study = next(e for e in made if e["name"] == "study_completeness")
    assert {"ref('dim_person_sync')", "ref('fct_sync_completeness_daily')"} <= set(study["depends_on"])
    # a raw table that is a dbt source is a source() dependency
    raw = tmp_path / "r.yml"
    raw.write_text(GOOD.format(id="r").replace("gold.fct_daily_summary", "raw.fitbit__heart_rate")
                   .replace("    chart:", "    connection: loader\n    chart:"))
    assert "source('fitbit', 'fitbit__heart_rate')" in \
        yaml.safe_load(exposures.render([load_file(raw)]))["exposures"][0]["depends_on"]
    # a table that is no dbt model is refused rather than left out of the lineage
    path = tmp_path / "x.yml"
    path.write_text(GOOD.format(id="x").replace("gold.fct_daily_summary", "gold.fct_nothing"))
    with pytest.raises(DefinitionError, match=r"x.yml: q1: gold.fct_nothing is no dbt model"):
        exposures.render([load_file(path)])


def test_the_vendored_chart_javascript_matches_its_readme():
    static = ROOT / "include" / "tracker" / "dashboards" / "static"
    table = dict(re.findall(r"^\| (\S+\.js) \| .*? \| ([0-9a-f]{64}) \|$", (static / "README.md").read_text(), re.M))
    assert sorted(table) == ["vega-embed.min.js", "vega-lite.min.js", "vega.min.js"]
    for name, digest in table.items():
        assert hashlib.sha256((static / name).read_bytes()).hexdigest() == digest, name


def test_a_multi_series_chart_folds_its_columns_and_keeps_dates_in_utc():
    from tracker.dashboards.definitions import Chart, Question
    from tracker.dashboards.report import vega_lite

    q = Question(id="q", title="t", description="d", sql="select 1",
                 chart=Chart(type="bar", x="d", y=["a", "b"], stack=True))
    spec = vega_lite(q, [{"d": "2026-11-01", "a": 1, "b": 2}])
    assert spec["transform"] == [{"fold": ["a", "b"], "as": ["series", "value"]}]
    assert spec["encoding"]["y"] == {"field": "value", "type": "quantitative", "title": "", "stack": "zero"}
    assert spec["encoding"]["x"]["scale"] == {"type": "utc"} and spec["data"]["values"][0]["a"] == 1


def test_every_questions_sql_is_sqlfluff_clean_like_the_dbt_models():
    """The dbt project's rules (dbt_project/.sqlfluff: postgres, 120 columns, lower case), `{{person}}` bound."""
    import sqlfluff
    from sqlfluff.core import FluffConfig
    from tracker.dashboards.definitions import load_dashboards

    config = FluffConfig(overrides={"dialect": "postgres", "max_line_length": 120,
                                    "exclude_rules": "structure.column_order", "capitalisation_policy": "lower"})
    problems = [f"{d.id}/{q.id}:{v.get('start_line_no')}: {v['code']} {v['description']}"
                for d in load_dashboards() for q in d.questions
                for v in sqlfluff.lint(q.sql.replace("{{person}}", "'me'") + "\n", config=config)]
    assert problems == []


def test_metabase_layout_places_every_analyst_card_once_without_overlap_on_its_grid():
    from tracker.dashboards.definitions import load_dashboards
    from tracker.dashboards.metabase import GRID_WIDTH, dashcard_layout, visualization_settings

    for d in load_dashboards():
        ids = {q.id: n for n, q in enumerate(d.questions, start=1) if q.connection == "analyst"}
        layout = dashcard_layout(d, ids)
        assert sorted(c["card_id"] for c in layout) == sorted(ids.values())
        cells = [(r, c) for card in layout for r in range(card["row"], card["row"] + card["size_y"])
                 for c in range(card["col"], card["col"] + card["size_x"])]
        assert len(cells) == len(set(cells)), d.id  # no two cards share a grid cell
        assert all(0 <= card["col"] and card["col"] + card["size_x"] <= GRID_WIDTH for card in layout)
        for q in d.questions:  # every column a chart names reaches Metabase's settings
            settings = visualization_settings(q)
            if q.chart.type in ("line", "bar", "area", "point"):
                assert settings["graph.metrics"][:len(q.chart.y)] == q.chart.y
                assert settings["graph.dimensions"][0] == q.chart.x
