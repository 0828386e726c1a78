"""What the dbt DAGs share: the project, its published manifest, the warehouse profile, the DAG class."""

from __future__ import annotations

import os
from pathlib import Path

from cosmos import DbtDag, ProfileConfig
from cosmos.profiles import PostgresUserPasswordProfileMapping


def project_dir() -> Path:
    """The dbt project (DBT_PROJECT_DIR), read at each parse of a DAG file."""
    return Path(os.environ.get("DBT_PROJECT_DIR", Path(__file__).parents[2] / "dbt_project"))


def manifest_path() -> Path:
    """The manifest `tracker up` publishes (stack.local.publish_manifest), apart from the target folder dbt runs
    write into."""
    return Path(os.environ.get("TRACKER_DBT_MANIFEST")
                or Path(os.environ.get("DBT_TARGET_PATH", project_dir() / "target")) / "manifest.json")


def warehouse_profile() -> ProfileConfig:
    """The warehouse connection as dbt's profile; profiles.yml's 4 threads (the producer's one `dbt build` runs
    independent models side by side)."""
    return ProfileConfig(
        profile_name="tracker", target_name="airflow",
        profile_mapping=PostgresUserPasswordProfileMapping(conn_id="tracker_warehouse",
                                                           profile_args={"schema": "silver", "threads": 4}))


def partial_parse_cache(dag_id: str = "dbt_warehouse") -> Path:
    """The Cosmos cache folder of a DbtDag, where its tasks keep dbt's partial-parse file between runs (another
    dbt task given it parses only what changed since the last build, not the whole project)."""
    from cosmos.cache import _obtain_cache_dir_path

    return _obtain_cache_dir_path(dag_id)


class DbtDagHashedById(DbtDag):
    """Cosmos' `DbtDag`, hashed by its DAG id alone.

    Airflow hashes a task's DAG on every dependency it sets (`a >> b` checks that both share one DAG), and
    `DAG.__hash__` hashes the schedule with it: for dbt_warehouse the Assets of 25 raw tables, each by a JSON dump
    of its fields. Cosmos and our wiring set ≈ 300 dependencies, so a parse of the file hashed ≈ 15,000 Assets —
    a third of its time, paid by the dag processor and by every task process that parses the file.
    Equal DAGs have the same id (`DAG.__eq__` compares it among others), so the id alone is a valid hash."""

    def __hash__(self) -> int:
        return hash((type(self), self.dag_id))
