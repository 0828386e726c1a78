"""The source catalogue names real tables: every entry's raw tables (with their columns and keys) exist in the
migrated warehouse, and every raw Asset the DAGs emit or the dbt DAG waits on is one of them."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def warehouse_columns(conn) -> dict[str, set[str]]:
    rows = conn.execute("select table_schema || '.' || table_name, column_name from information_schema.columns"
                        " where table_schema = 'raw'").fetchall()
    found: dict[str, set[str]] = {}
    for table, column in rows:
        found.setdefault(table, set()).add(column)
    return found


def test_every_catalogue_table_exists_with_its_columns(warehouse):
    from tracker.sources.catalogue import SOURCES

    found = warehouse_columns(warehouse)
    for src in SOURCES.values():
        assert src.tables, src.id
        for table in src.tables:
            assert table.qualified in found, (src.id, table.qualified)
            missing = set(table.columns) - found[table.qualified]
            assert not missing, (src.id, table.qualified, missing)
            assert set(table.key) <= set(table.columns), (src.id, table.qualified)


def test_every_raw_asset_names_a_real_table_and_every_source_table_has_one(warehouse):
    """Imports' tables too: `tracker import` posts their Asset events so the dbt DAG runs after an import."""
    import airflow  # noqa: F401 - initialising Airflow puts the plugins folder (tracker_airflow) on sys.path
    from tracker.sources.catalogue import raw_tables
    from tracker_airflow.assets import RAW_ASSETS, RAW_GITHUB

    found = warehouse_columns(warehouse)
    names = [a.name for a in RAW_ASSETS]
    assert len(names) == len(set(names))
    assert [n for n in names if n not in found] == []
    assert {t.qualified for t in raw_tables()} == set(names)
    assert {"raw.netflix__viewing_activity", "raw.spotify__streams", "raw.fitbit__spo2_minute"} <= set(names)
    assert {a.name for a in RAW_GITHUB.values()} <= set(names)


def test_the_catalogue_lists_every_dag_and_every_api_source_has_what_it_runs_on():
    from pathlib import Path

    from support import PLATFORM_DAGS
    from tracker.sources.catalogue import api_sources

    dags = {p.stem for p in Path("dags").glob("*.py")} - PLATFORM_DAGS
    assert {s.dag_id for s in api_sources()} == dags
    for s in api_sources():
        assert callable(s.extract_function()) and callable(s.client) and s.connection and s.demo, s.id
