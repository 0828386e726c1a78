"""dbt parses the generated exposures: the docs lineage of a gold model ends at the dashboards reading it."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.integration


def test_dbt_lineage_ends_at_every_dashboard(dbt_manifest):
    from tracker.dashboards.definitions import load_dashboards

    manifest = json.loads(dbt_manifest.read_text())
    for d in load_dashboards():
        node = manifest["exposures"][f"exposure.tracker.{d.id}"]
        assert node["type"] == "dashboard" and node["label"] == d.title
        wanted = {f"model.tracker.{t.split('.', 1)[1]}" for q in d.questions for t in q.tables()
                  if t.startswith("gold.")}
        assert wanted and wanted <= set(node["depends_on"]["nodes"]), d.id
        # AND each gold model's children include the exposure (what the docs lineage graph draws)
        for model in wanted:
            assert f"exposure.tracker.{d.id}" in manifest["child_map"][model]
    raw = manifest["exposures"]["exposure.tracker.pipeline_health"]["depends_on"]["nodes"]
    assert "model.tracker.fct_pipeline_loads_daily" in raw
