"""Environment shared by every process of the local stack (and mirrored by docker-compose.yml)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from tracker import settings as s
from tracker.sources.catalogue import api_sources


def connections(secrets: s.Secrets, *, demo: bool) -> dict[str, str]:
    """Airflow connections as AIRFLOW_CONN_* values (JSON form)."""
    pg = s.port("postgres")
    conns = {
        "AIRFLOW_CONN_TRACKER_WAREHOUSE": json.dumps({
            "conn_type": "postgres", "host": s.HOST, "port": pg, "schema": s.WAREHOUSE_DB,
            "login": s.LOADER_ROLE, "password": secrets.loader_password,
        }),
        "AIRFLOW_CONN_TRACKER_S3": json.dumps({
            "conn_type": "aws", "login": secrets.s3_access_key, "password": secrets.s3_secret_key,
            "extra": {"endpoint_url": s.s3_endpoint(), "region_name": "us-east-1"},
        }),
        "AIRFLOW_CONN_TRACKER_KAFKA": json.dumps({
            "conn_type": "kafka", "extra": {"bootstrap.servers": s.kafka_bootstrap()},
        }),
    }
    if demo:
        # every API source's connection, pointing at the demo server (see the source catalogue); the demo APIs
        # accept any credentials except `bad`; logins/user names come from the config
        for source in api_sources():
            if source.connection and source.demo:
                conns[f"AIRFLOW_CONN_{source.connection.upper()}"] = json.dumps(source.demo_connection(s.demo_url()))
    return conns


def stack_env(*, demo: bool = True) -> dict[str, str]:
    """Everything the Airflow components, dbt and the CLI need, on top of os.environ."""
    secrets = s.Secrets.load_or_create()
    root = s.repo_root()
    state = s.state_dir()
    api = s.airflow_url()
    env = {
        "TRACKER_HOME": str(root),
        "TRACKER_STATE_DIR": str(state),
        "TRACKER_DEMO": "1" if demo else "0",
        # dbt (profiles.yml reads these; Cosmos uses the warehouse connection instead)
        "TRACKER_PG_HOST": s.HOST,
        "TRACKER_PG_PORT": str(s.port("postgres")),
        "TRACKER_PG_USER": s.LOADER_ROLE,
        "TRACKER_PG_PASSWORD": secrets.loader_password,
        "TRACKER_PG_DB": s.WAREHOUSE_DB,
        "DBT_PROFILES_DIR": str(root / "dbt_project"),
        "DBT_PROJECT_DIR": str(root / "dbt_project"),
        "DBT_TARGET_PATH": str(state / "dbt" / "target"),
        "DBT_LOG_PATH": str(state / "dbt" / "logs"),
        # the manifest the dbt DAG is rendered from: a published copy, never the target folder dbt writes into
        "TRACKER_DBT_MANIFEST": str(state / "dbt" / "manifest" / "manifest.json"),
        "DBT_EXECUTABLE": str(Path(sys.executable).with_name("dbt")),
        # Airflow
        "AIRFLOW_HOME": str(state / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(root / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(root / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__AUTH_MANAGER":
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{s.AIRFLOW_USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(state / "airflow" / "passwords.json"),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api}/execution/",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql+psycopg2://"
            f"{s.AIRFLOW_ROLE}:{secrets.airflow_db_password}@{s.HOST}:{s.port('postgres')}/{s.AIRFLOW_DB}",
        "AIRFLOW__API__HOST": s.HOST,
        "AIRFLOW__API__PORT": str(s.port("airflow")),
        "AIRFLOW__API__BASE_URL": api,
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.jwt_secret,
        "AIRFLOW__API__SECRET_KEY": secrets.jwt_secret[:32],
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(state / "airflow" / "logs"),
        # logs are the stack user's only (Airflow's defaults are group-writable 0o775 / 0o664)
        "AIRFLOW__LOGGING__FILE_TASK_HANDLER_NEW_FOLDER_PERMISSIONS": "0o700",
        "AIRFLOW__LOGGING__FILE_TASK_HANDLER_NEW_FILE_PERMISSIONS": "0o600",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        # dbt_warehouse's watcher producer: keep the statuses it publishes in memory and save them for its retry
        # only when it fails (Cosmos' default rewrites all of them to a Variable at every status: ~2× the build)
        "AIRFLOW__COSMOS__ENABLE_WATCHER_RELIABLE_RETRY": "False",
        "AIRFLOW__COSMOS__DBT_DOCS_DIR": str(state / "dbt" / "target"),
        # Cosmos' cache (dbt's partial-parse file, generated profiles) in this stack's state folder: its default,
        # /tmp/cosmos, is one folder for every stack on the machine (a test's or a benchmark's and a person's)
        "AIRFLOW__COSMOS__CACHE_DIR": str(state / "cosmos"),
        "TRACKER_DOCS_URL": s.docs_url(),
        "TRACKER_METABASE_URL": os.environ.get("TRACKER_METABASE_URL", "http://127.0.0.1:3000"),
        "NO_PROXY": "*",
    }
    env.update(connections(secrets, demo=demo))
    return env


def private_stack_env(state: Path, free_port: Callable[[], int]) -> dict[str, str]:
    """os.environ without any stack's settings (TRACKER_*, AIRFLOW*, DBT_*), plus a state folder of its own and a
    free port for every service: `tracker up|demo|down` in this env never touch a person's running stack (what
    benchmarks and end-to-end tests run in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKER_", "AIRFLOW", "DBT_"))}
    env.update({"TRACKER_STATE_DIR": str(state), "TRACKER_HOME": str(s.repo_root())})
    env.update({var: str(free_port()) for var, _ in s.PORTS.values()})
    return env
