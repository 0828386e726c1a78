"""Local-stack settings: ports, state folder and DSNs, all overridable by environment variables.

One place defines every name the local stack, the DAGs, dbt and docker-compose agree on.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

# (environment variable, default port); a clash names the variable that moves it.
PORTS: dict[str, tuple[str, int]] = {
    "postgres": ("TRACKER_PG_PORT", 25432),
    "airflow": ("TRACKER_AIRFLOW_PORT", 28080),
    "kafka": ("TRACKER_KAFKA_PORT", 29092),
    "s3": ("TRACKER_S3_PORT", 29000),
    "docs": ("TRACKER_DOCS_PORT", 28081),
    "demo": ("TRACKER_DEMO_PORT", 28090),
}

HOST = "127.0.0.1"
WAREHOUSE_DB = "warehouse"
AIRFLOW_DB = "airflow"
LOADER_ROLE = "tracker_loader"
AIRFLOW_ROLE = "airflow"
ANALYST_ROLE = "analyst"
AIRFLOW_USER = "tracker"
BUCKET = "tracker-archive"
WAREHOUSE_CONN_ID = "tracker_warehouse"


def repo_root() -> Path:
    """The checkout this package is installed from (editable install), or TRACKER_HOME."""
    if home := os.environ.get("TRACKER_HOME"):
        return Path(home).resolve()
    return Path(__file__).resolve().parents[2]


def state_dir() -> Path:
    return Path(os.environ.get("TRACKER_STATE_DIR", repo_root() / ".state")).resolve()


def port(name: str) -> int:
    var, default = PORTS[name]
    return int(os.environ.get(var, default))


@dataclass(frozen=True)
class Secrets:
    """Generated once per state folder (a value missing from an older file is added); never a default password."""

    loader_password: str
    airflow_db_password: str
    analyst_password: str
    airflow_admin_password: str
    jwt_secret: str
    s3_access_key: str
    s3_secret_key: str
    postgres_password: str = ""  # the local cluster's superuser (scram-sha-256 on socket and TCP)

    @classmethod
    def generate(cls) -> Secrets:
        return cls(
            loader_password=secrets.token_urlsafe(18),
            airflow_db_password=secrets.token_urlsafe(18),
            analyst_password=secrets.token_urlsafe(18),
            airflow_admin_password=secrets.token_urlsafe(18),
            jwt_secret=secrets.token_urlsafe(64),
            s3_access_key="tracker" + secrets.token_hex(4),
            s3_secret_key=secrets.token_urlsafe(24),
            postgres_password=secrets.token_urlsafe(24),
        )

    @classmethod
    def load_or_create(cls, folder: Path | None = None) -> Secrets:
        path = (folder or state_dir()) / "secrets.json"
        stored = json.loads(path.read_text()) if path.exists() else {}
        fresh = cls.generate().__dict__
        missing = [k for k in fresh if not stored.get(k)]
        if not missing:
            return cls(**{k: stored[k] for k in fresh})
        made = cls(**(fresh | {k: v for k, v in stored.items() if k in fresh and v}))
        from tracker.private_files import write_private

        write_private(path, json.dumps(made.__dict__, indent=2))
        return made


def warehouse_dsn(role: str = LOADER_ROLE, password: str | None = None, db: str = WAREHOUSE_DB) -> str:
    if password is None:
        s = Secrets.load_or_create()
        password = {LOADER_ROLE: s.loader_password, ANALYST_ROLE: s.analyst_password,
                    AIRFLOW_ROLE: s.airflow_db_password}[role]
    return f"postgresql://{role}:{password}@{HOST}:{port('postgres')}/{db}"


def loader_dsn() -> str:
    """The one lookup of the warehouse (loader role) for the CLI and tasks: TRACKER_WAREHOUSE_DSN when set (any
    warehouse), else TRACKER_PG_* (dbt's variables; docker-compose sets them in every Airflow container), else
    the local stack's."""
    env = os.environ
    if env.get("TRACKER_WAREHOUSE_DSN"):
        return env["TRACKER_WAREHOUSE_DSN"]
    if env.get("TRACKER_PG_HOST") and env.get("TRACKER_PG_PASSWORD"):
        return psycopg_conninfo(host=env["TRACKER_PG_HOST"], port=env.get("TRACKER_PG_PORT", "5432"),
                                user=env.get("TRACKER_PG_USER", LOADER_ROLE), password=env["TRACKER_PG_PASSWORD"],
                                dbname=env.get("TRACKER_PG_DB", WAREHOUSE_DB))
    return warehouse_dsn()


def psycopg_conninfo(**parts: str) -> str:
    from psycopg.conninfo import make_conninfo

    return make_conninfo(**parts)


def airflow_url() -> str:
    return f"http://{HOST}:{port('airflow')}"


def s3_endpoint() -> str:
    return f"http://{HOST}:{port('s3')}"


def kafka_bootstrap() -> str:
    return f"{HOST}:{port('kafka')}"


def docs_url() -> str:
    return f"http://{HOST}:{port('docs')}"


def demo_url() -> str:
    return f"http://{HOST}:{port('demo')}"
