"""Static checks of the Docker deployment (docker-compose.yml, Dockerfile, .env.example, init.sh).

No Docker engine is needed: the files are parsed and compared with the names the Docker-free stack uses
(tracker.settings, tracker.stack.env), so a rename on either side fails here instead of at `compose up`.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from tracker import settings
from tracker.stack import env as stack_env_module

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
ENV_EXAMPLE = ROOT / ".env.example"
INIT_SH = ROOT / "docker" / "postgres" / "init.sh"
LOCK = ROOT / "requirements.lock"

AIRFLOW_VERSION = "3.3.2"
PYTHON_VERSION = "3.11"

AIRFLOW_COMPONENTS = {
    # service: (command, healthcheck must mention)
    "airflow-apiserver": ("api-server", "/api/v2/monitor/health"),
    "airflow-scheduler": ("scheduler", "SchedulerJob"),
    "airflow-dag-processor": ("dag-processor", "DagProcessorJob"),
    "airflow-triggerer": ("triggerer", "TriggererJob"),
}
AIRFLOW_SERVICES = {"airflow-init", *AIRFLOW_COMPONENTS}
REQUIRED_SERVICES = {"postgres", *AIRFLOW_SERVICES, "kafka", "minio", "minio-init", "metabase"}
ONE_SHOT_SERVICES = {"airflow-init", "minio-init", "metabase-sync"}

# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message}, ${VAR?message}, ${VAR:+alt}
VAR_REF = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}")
SECRET_NAME = re.compile(r"PASSWORD|PASS$|SECRET|TOKEN|_KEY$")

# Keys of tracker.stack.env.stack_env() that only make sense for the Docker-free stack on the host.
HOST_ONLY_ENV = {
    "TRACKER_DOCS_URL",  # dbt docs server of the local stack; in Docker the Cosmos plugin serves the docs
    "NO_PROXY",  # the local stack talks to 127.0.0.1 only
    # the CLI's dbt target/log folders; Airflow's dbt tasks run in Cosmos' temporary project copies (the local
    # stack's Airflow components do not get them either: stack.local.airflow_env)
    "DBT_TARGET_PATH", "DBT_LOG_PATH",
}
# API source connections: in the local stack they exist in demo mode (pointing at the demo APIs); compose sets
# them for the real APIs with optional credentials — a person may not use every source. Open-Meteo needs no
# connection (public API), so compose leaves it out.
SOURCE_CONNECTIONS = {"AIRFLOW_CONN_GITHUB", "AIRFLOW_CONN_LASTFM", "AIRFLOW_CONN_TRAKT", "AIRFLOW_CONN_GOOGLE_HEALTH"}
OMITTED_CONNECTIONS = {"AIRFLOW_CONN_OPEN_METEO"}
# Their secrets may be left empty (`${VAR:-}`, no other default); the DAG then fails naming the connection.
OPTIONAL_SECRETS = {"GITHUB_TOKEN", "LASTFM_API_KEY", "TRAKT_ACCESS_TOKEN", "GOOGLE_HEALTH_CLIENT_SECRET"}
# Settings that must be identical in both stacks.
SAME_VALUE_ENV = [
    "TRACKER_PG_USER",
    "TRACKER_PG_DB",
    "AIRFLOW__CORE__EXECUTOR",
    "AIRFLOW__CORE__PARALLELISM",
    "AIRFLOW__CORE__LOAD_EXAMPLES",
    "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION",
    "AIRFLOW__CORE__AUTH_MANAGER",
    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS",
    "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK",
    "AIRFLOW__COSMOS__ENABLE_TELEMETRY",
]


# ----------------------------------------------------------------------------------------------------
# helpers


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    assert COMPOSE.exists(), f"{COMPOSE} is missing"
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict) and isinstance(data.get("services"), dict), "compose file has no services"
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    assert ENV_EXAMPLE.exists(), f"{ENV_EXAMPLE} is missing"
    out: dict[str, str] = {}
    for no, raw in enumerate(ENV_EXAMPLE.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        assert "=" in line, f".env.example line {no} is not NAME=value: {raw!r}"
        name, value = line.split("=", 1)
        assert name not in out, f".env.example lists {name} twice"
        out[name.strip()] = value.strip()
    return out


@pytest.fixture(scope="module")
def init_names() -> dict[str, str]:
    """NAME=value assignments at the top of init.sh (role and database names)."""
    assert INIT_SH.exists(), f"{INIT_SH} is missing"
    return dict(re.findall(r"^([A-Z_]+)=([A-Za-z0-9_]+)\s*$", INIT_SH.read_text(), flags=re.M))


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def strings(node: Any):
    """Every string (keys and values) in a parsed YAML tree."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from strings(k)
            yield from strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from strings(v)


def var_refs(node: Any) -> list[re.Match[str]]:
    # "$$" is compose's escape for a literal "$" (expanded later by a shell in the container).
    return [m for s in strings(node) for m in VAR_REF.finditer(s.replace("$$", ""))]


def render(value: str) -> str:
    """Interpolate like compose would, with a recognisable dummy for every required variable."""

    def sub(m: re.Match[str]) -> str:
        if m["op"] in (":-", "-"):
            return m["arg"]
        return f"dummy-{m['name'].lower()}"

    return VAR_REF.sub(sub, value.replace("$$", "$"))


def dockerfile_lines() -> list[str]:
    """Dockerfile instructions with line continuations joined and comments dropped."""
    assert DOCKERFILE.exists(), f"{DOCKERFILE} is missing"
    lines, current = [], ""
    for raw in DOCKERFILE.read_text().splitlines():
        if raw.lstrip().startswith("#"):
            continue
        if raw.rstrip().endswith("\\"):
            current += raw.rstrip()[:-1] + " "
            continue
        current += raw
        if current.strip():
            lines.append(current.strip())
        current = ""
    return lines


def dockerfile_env() -> dict[str, str]:
    out: dict[str, str] = {}
    for line in dockerfile_lines():
        if line.upper().startswith("ENV "):
            for token in shlex.split(line[4:]):
                key, _, value = token.partition("=")
                out[key] = value
    return out


def airflow_env(services: dict[str, dict[str, Any]], name: str = "airflow-scheduler") -> dict[str, str]:
    return env_of(services[name])


def dummy_secrets() -> settings.Secrets:
    return settings.Secrets(
        loader_password="lp", airflow_db_password="ap", analyst_password="anp",
        airflow_admin_password="adm", jwt_secret="j" * 64, s3_access_key="ak", s3_secret_key="sk",
    )


# ----------------------------------------------------------------------------------------------------
# services, ports, volumes


def test_required_services_present(services):
    missing = REQUIRED_SERVICES - services.keys()
    assert not missing, f"docker-compose.yml lacks services: {sorted(missing)}"


def test_no_version_key(compose):
    assert "version" not in compose, "the compose spec has no top-level `version:` key; remove it"


def test_published_ports_bound_to_loopback(services):
    offenders = []
    for name, svc in services.items():
        assert svc.get("network_mode") != "host", f"{name}: network_mode host would bypass port bindings"
        for port in svc.get("ports") or []:
            if isinstance(port, dict):
                if port.get("host_ip") != "127.0.0.1":
                    offenders.append(f"{name}: {port}")
            elif not str(port).startswith("127.0.0.1:"):
                offenders.append(f"{name}: {port}")
    assert not offenders, f"ports published beyond 127.0.0.1: {offenders}"


def test_host_ports_mirror_local_stack(services):
    """Host ports use tracker.settings' variables and defaults, so host tools find either stack."""
    published = {
        m["name"]: m["arg"]
        for svc in services.values() for p in svc.get("ports") or [] if (m := VAR_REF.search(str(p)))
    }
    for var, default in settings.PORTS.values():
        if var in published:
            assert published[var] == str(default), (
                f"{var} defaults to {published[var]} in compose but {default} in tracker.settings.PORTS"
            )
    for service, var in {"postgres": "TRACKER_PG_PORT", "airflow-apiserver": "TRACKER_AIRFLOW_PORT",
                         "kafka": "TRACKER_KAFKA_PORT", "minio": "TRACKER_S3_PORT"}.items():
        ports = " ".join(str(p) for p in services[service].get("ports") or [])
        assert var in ports, f"{service} should publish its port on ${{{var}}}"


def test_named_volumes_declared(compose, services):
    declared = set(compose.get("volumes") or {})
    used: set[str] = set()
    for name, svc in services.items():
        for vol in svc.get("volumes") or []:
            if isinstance(vol, dict):
                if vol.get("type", "volume") == "volume" and vol.get("source"):
                    used.add(vol["source"])
                continue
            source = str(vol).split(":", 1)[0]
            if source.startswith((".", "/", "~", "$")):
                assert not source.startswith(("/", "~")), f"{name}: absolute host path mount {vol}"
                if source.startswith("."):
                    assert (ROOT / source).exists(), f"{name}: bind mount source {source} does not exist"
                continue
            if ":" in str(vol):
                used.add(source)
    assert used - declared == set(), f"named volumes used but not declared at top level: {used - declared}"
    assert declared - used == set(), f"volumes declared but never used: {declared - used}"
    for required in ("postgres-data", "minio-data", "kafka-data", "airflow-logs"):
        assert required in used, f"volume {required} is not used"


# ----------------------------------------------------------------------------------------------------
# variables and secrets


def test_every_variable_is_in_env_example(compose, env_example):
    names = {m["name"] for m in var_refs(compose)}
    missing = names - env_example.keys()
    assert not missing, f"variables used in docker-compose.yml but not listed in .env.example: {missing}"
    stale = env_example.keys() - names
    assert not stale, f".env.example lists variables docker-compose.yml never uses: {stale}"


def test_secrets_are_required_and_have_no_defaults(compose, env_example):
    bad = []
    for m in var_refs(compose):
        if m["name"] in OPTIONAL_SECRETS:
            if (m["op"], m["arg"]) != (":-", ""):
                bad.append(m[0])
        elif SECRET_NAME.search(m["name"]) and (m["op"] != ":?" or not m["arg"].strip()):
            bad.append(m[0])
    assert not bad, ("secrets must use the ${VAR:?message} form (no default, not empty), optional source "
                     f"credentials ${{VAR:-}} (empty, nothing else): {bad}")
    assert OPTIONAL_SECRETS <= {m["name"] for m in var_refs(compose)}, "an optional source secret is unused"
    secrets_in_example = {k: v for k, v in env_example.items() if SECRET_NAME.search(k)}
    assert secrets_in_example, "no secrets found in .env.example?"
    filled = [k for k, v in secrets_in_example.items() if v]
    assert not filled, f".env.example must leave secrets empty: {filled}"
    assert "secrets.token_urlsafe" in ENV_EXAMPLE.read_text(), ".env.example: say how to make secrets"


def test_non_secret_defaults_match_env_example(compose, env_example):
    for m in var_refs(compose):
        if m["op"] in (":-", "-"):
            assert env_example.get(m["name"]) == m["arg"], (
                f"{m['name']} defaults to {m['arg']!r} in compose but {env_example.get(m['name'])!r} "
                "in .env.example"
            )


def test_no_literal_secret_values(services):
    """Every secret-looking environment entry gets its value from .env."""
    bad = []
    for name, svc in services.items():
        for key, value in env_of(svc).items():
            if SECRET_NAME.search(key) and not key.endswith("_FILE"):
                if not re.search(r"\$\{[A-Z0-9_]+:\?", value):
                    bad.append(f"{name}.{key}")
    assert not bad, f"secret values baked into docker-compose.yml: {bad}"


# ----------------------------------------------------------------------------------------------------
# Airflow


def test_airflow_services_share_the_common_image_and_env(services):
    scheduler_env = airflow_env(services)
    for name in AIRFLOW_SERVICES:
        svc = services[name]
        assert svc.get("build") in (".", {"context": "."}), f"{name} must be built from the Dockerfile"
        env = env_of(svc)
        missing = scheduler_env.keys() - env.keys()
        assert not missing, f"{name} lacks the common Airflow environment: {sorted(missing)}"
        differing = [k for k in scheduler_env if env[k] != scheduler_env[k]]
        assert not differing, f"{name} differs from the other components in {differing}"


def test_airflow_settings(services):
    env = airflow_env(services)
    required = {
        "AIRFLOW__CORE__EXECUTOR", "AIRFLOW__CORE__PARALLELISM", "AIRFLOW__CORE__AUTH_MANAGER",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "AIRFLOW__API_AUTH__JWT_SECRET",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "TRACKER_PG_HOST", "TRACKER_PG_USER", "TRACKER_PG_DB",
    }
    assert not required - env.keys(), f"x-airflow-common environment lacks {sorted(required - env.keys())}"
    # without the scale-out settings (docs/scale-out.md) the stack is the single-machine one
    assert render(env["AIRFLOW__CORE__EXECUTOR"]) == "LocalExecutor"
    assert render(env["AIRFLOW__CORE__PARALLELISM"]) == "4"
    assert env["AIRFLOW__CORE__AUTH_MANAGER"].endswith("SimpleAuthManager")
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] == f"{settings.AIRFLOW_USER}:admin"
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"], "no passwords file configured"
    assert "SIMPLE_AUTH_MANAGER_ALL_ADMINS" not in " ".join(env), "login must not be disabled"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"

    url = urlsplit(render(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]))
    assert (url.username, url.hostname, url.path.lstrip("/")) == (
        settings.AIRFLOW_ROLE, "postgres", settings.AIRFLOW_DB
    ), f"Airflow metadata DB URL does not use role {settings.AIRFLOW_ROLE} / db {settings.AIRFLOW_DB}"
    assert env["TRACKER_PG_HOST"] == "postgres"
    assert env["TRACKER_PG_USER"] == settings.LOADER_ROLE
    assert env["TRACKER_PG_DB"] == settings.WAREHOUSE_DB

    init = services["airflow-init"]
    command = " ".join(init["command"]) if isinstance(init["command"], list) else init["command"]
    assert "airflow db migrate" in command, "airflow-init must run `airflow db migrate`"
    assert "TRACKER_AIRFLOW_ADMIN_PASSWORD" in env_of(init), "airflow-init must get the admin password"
    assert init.get("restart") == "no"


def test_connection_ids_match_local_stack(services):
    expected = stack_env_module.connections(dummy_secrets(), demo=False)
    demo = stack_env_module.connections(dummy_secrets(), demo=True)
    assert SOURCE_CONNECTIONS | OMITTED_CONNECTIONS == demo.keys() - expected.keys(), (
        "the local stack's demo connections changed: list the new one in SOURCE_CONNECTIONS (compose sets it) "
        "or OMITTED_CONNECTIONS"
    )
    expected |= {k: demo[k] for k in SOURCE_CONNECTIONS}
    env = airflow_env(services)
    got = {k: v for k, v in env.items() if k.startswith("AIRFLOW_CONN_")}
    assert set(got) == set(expected), (
        f"AIRFLOW_CONN_* in compose {sorted(got)} != tracker.stack.env.connections() {sorted(expected)}"
    )
    for key, value in got.items():
        try:
            conn = json.loads(render(value))
        except json.JSONDecodeError as exc:  # pragma: no cover - message only
            pytest.fail(f"{key} is not valid JSON after interpolation: {exc}")
        ref = json.loads(expected[key])
        assert conn["conn_type"] == ref["conn_type"], f"{key}: conn_type differs from env.py's"
        assert set(conn) == set(ref), f"{key}: fields {sorted(conn)} != env.py's {sorted(ref)}"
        assert set(conn.get("extra", {})) == set(ref.get("extra", {})), f"{key}: extra keys differ"

    warehouse = json.loads(render(got["AIRFLOW_CONN_TRACKER_WAREHOUSE"]))
    assert (warehouse["host"], warehouse["login"], warehouse["schema"]) == (
        "postgres", settings.LOADER_ROLE, settings.WAREHOUSE_DB
    )
    assert "${TRACKER_LOADER_PASSWORD:?" in got["AIRFLOW_CONN_TRACKER_WAREHOUSE"]
    s3 = json.loads(render(got["AIRFLOW_CONN_TRACKER_S3"]))
    assert urlsplit(s3["extra"]["endpoint_url"]).hostname == "minio"
    kafka = json.loads(render(got["AIRFLOW_CONN_TRACKER_KAFKA"]))
    assert kafka["extra"]["bootstrap.servers"] == "kafka:9092"
    assert settings.WAREHOUSE_CONN_ID.upper() in "".join(got), "warehouse connection id drifted"


def test_source_connections_default_to_the_public_apis(services):
    """Each source connection has the hook's fields, its secret from .env, and the clients' own default URLs."""
    import inspect

    from tracker.sources.github.client import GitHubClient
    from tracker.sources.google_health import oauth
    from tracker.sources.google_health.client import GoogleHealthClient
    from tracker.sources.lastfm.client import LastfmClient
    from tracker.sources.trakt.client import TraktClient

    def default(cls: type, arg: str) -> str:
        return inspect.signature(cls).parameters[arg].default

    def marked(value: str) -> str:  # like render(), but an empty default becomes a recognisable dummy
        return VAR_REF.sub(lambda m: m["arg"] or f"dummy-{m['name'].lower()}", value.replace("$$", "$"))

    env = airflow_env(services)
    conns = {k: json.loads(marked(env[k])) for k in SOURCE_CONNECTIONS}
    assert conns["AIRFLOW_CONN_GITHUB"]["password"] == "dummy-github_token"
    assert conns["AIRFLOW_CONN_GITHUB"]["extra"] == {"rest_url": default(GitHubClient, "rest_url"),
                                                     "graphql_url": default(GitHubClient, "graphql_url")}
    assert conns["AIRFLOW_CONN_LASTFM"]["password"] == "dummy-lastfm_api_key"
    assert conns["AIRFLOW_CONN_LASTFM"]["extra"] == {"base_url": default(LastfmClient, "base_url")}
    trakt = conns["AIRFLOW_CONN_TRAKT"]
    assert (trakt["login"], trakt["password"]) == ("dummy-trakt_client_id", "dummy-trakt_access_token")
    assert trakt["extra"] == {"base_url": default(TraktClient, "base_url")}
    google = conns["AIRFLOW_CONN_GOOGLE_HEALTH"]
    assert (google["login"], google["password"]) == ("dummy-google_health_client_id",
                                                     "dummy-google_health_client_secret")
    assert google["extra"]["base_url"] == default(GoogleHealthClient, "base_url")
    assert google["extra"]["token_url"] == oauth.TOKEN_URL
    # the tokens `tracker auth google-health` writes live in the warehouse (auth.oauth_tokens), which the
    # CLI reaches in a container through the TRACKER_PG_* variables every Airflow service has
    assert set(google["extra"]) == {"base_url", "token_url"}
    assert {"TRACKER_PG_HOST", "TRACKER_PG_PASSWORD"} <= set(env)
    # credentials left empty in .env stay valid JSON with empty strings (the hook then fails with AuthError)
    for key in SOURCE_CONNECTIONS:
        blank = json.loads(render(env[key]))
        assert blank["password"] == "" and blank.get("login", "") == "", key


def test_compose_covers_local_stack_env(services, monkeypatch, tmp_path):
    """Every variable the local stack gives Airflow/dbt is set in the image or compose (or is host-only)."""
    monkeypatch.setenv("TRACKER_STATE_DIR", str(tmp_path))
    local = stack_env_module.stack_env(demo=False)
    docker = {**dockerfile_env(), **airflow_env(services)}
    missing = set(local) - set(docker) - HOST_ONLY_ENV
    assert not missing, (
        f"tracker.stack.env.stack_env() sets {sorted(missing)} but neither the Dockerfile nor "
        "docker-compose.yml does (add them, or list them in HOST_ONLY_ENV with a reason)"
    )
    for key in SAME_VALUE_ENV:
        assert render(docker[key]) == local[key], f"{key}: {docker[key]!r} in Docker, {local[key]!r} locally"


def test_airflow_components_have_healthchecks(services):
    for name, (command, probe) in AIRFLOW_COMPONENTS.items():
        svc = services[name]
        cmd = svc.get("command")
        cmd = " ".join(cmd) if isinstance(cmd, list) else str(cmd)
        assert cmd.split()[0] == command, f"{name} should run `airflow {command}`, runs {cmd!r}"
        test = (svc.get("healthcheck") or {}).get("test")
        assert test, f"{name} has no healthcheck"
        text = " ".join(test) if isinstance(test, list) else test
        assert probe in text, f"{name}'s healthcheck should check {probe}: {text!r}"
        if probe.endswith("Job"):
            assert "airflow jobs check" in text and "--local" in text, f"{name}: use `jobs check --local`"
    api_ports = [str(p) for p in services["airflow-apiserver"].get("ports") or []]
    assert any(p.endswith(":8080") for p in api_ports), f"api-server must publish port 8080: {api_ports}"


def test_long_running_services_have_healthchecks(services):
    for name, svc in services.items():
        if name in ONE_SHOT_SERVICES:
            continue
        assert (svc.get("healthcheck") or {}).get("test"), f"{name} has no healthcheck"
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])


def test_depends_on_uses_conditions(services):
    for name, svc in services.items():
        deps = svc.get("depends_on") or {}
        assert isinstance(deps, dict), f"{name}: depends_on must use the long form with conditions"
        for dep, spec in deps.items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            condition = (spec or {}).get("condition")
            want = "service_completed_successfully" if dep in ONE_SHOT_SERVICES else "service_healthy"
            assert condition == want, f"{name} -> {dep}: condition {condition!r}, expected {want!r}"
    for name in AIRFLOW_SERVICES:
        assert "postgres" in (services[name].get("depends_on") or {}), f"{name} must wait for postgres"
    for name in AIRFLOW_COMPONENTS:
        assert "airflow-init" in services[name]["depends_on"], f"{name} must wait for airflow-init"
    assert "minio" in services["minio-init"]["depends_on"]


# ----------------------------------------------------------------------------------------------------
# PostgreSQL init script, Kafka, MinIO, Metabase


def test_init_sh_names_match_settings(init_names):
    expected = {
        "WAREHOUSE_DB": settings.WAREHOUSE_DB,
        "AIRFLOW_DB": settings.AIRFLOW_DB,
        "LOADER_ROLE": settings.LOADER_ROLE,
        "AIRFLOW_ROLE": settings.AIRFLOW_ROLE,
        "ANALYST_ROLE": settings.ANALYST_ROLE,
    }
    got = {k: init_names.get(k) for k in expected}
    assert got == expected, f"init.sh names {got} != tracker.settings {expected}"


def test_init_sh_creates_schemas_and_grants():
    sql = re.sub(r"\s+", " ", INIT_SH.read_text())
    for schema in ("raw", "silver", "gold"):
        statement = f'CREATE SCHEMA {schema} AUTHORIZATION :"loader_role"'
        assert statement in sql, f"init.sh lacks: {statement}"
    for statement in (
        'GRANT USAGE ON SCHEMA gold TO :"analyst_role"',
        'GRANT SELECT ON ALL TABLES IN SCHEMA gold TO :"analyst_role"',
        'ALTER DEFAULT PRIVILEGES FOR ROLE :"loader_role" IN SCHEMA gold '
        'GRANT SELECT ON TABLES TO :"analyst_role"',
        'CREATE DATABASE :"airflow_db" OWNER :"airflow_role"',
        'CREATE DATABASE :"warehouse_db"',
    ):
        assert statement in sql, f"init.sh lacks: {statement}"
    assert "ON_ERROR_STOP=1" in sql, "init.sh must stop at the first SQL error"


def test_init_sh_passwords_come_from_postgres_env(services, init_names):
    text = INIT_SH.read_text()
    wanted = set(re.findall(r"\\getenv \w+ (\w+)", text))
    assert len(wanted) >= 4, "init.sh should read every role password with \\getenv"
    env = env_of(services["postgres"])
    assert wanted <= env.keys(), f"postgres service does not pass {wanted - env.keys()} to init.sh"
    mounts = " ".join(map(str, services["postgres"].get("volumes") or []))
    assert "./docker/postgres/init.sh:/docker-entrypoint-initdb.d/" in mounts, "init.sh is not mounted"
    # Metabase's own database is the one init.sh creates.
    mb = env_of(services["metabase"])
    assert mb.get("MB_DB_TYPE") == "postgres"
    assert (mb["MB_DB_DBNAME"], mb["MB_DB_USER"]) == (init_names["METABASE_DB"], init_names["METABASE_ROLE"])
    assert mb["MB_DB_HOST"] == "postgres"


@pytest.mark.parametrize(
    ("service", "prefix"),
    [("postgres", "postgres:16"), ("kafka", "apache/kafka:4.1.0"), ("minio", "minio/minio"),
     ("minio-init", "minio/mc"), ("metabase", "metabase/metabase"), ("redis", "redis:7")],
)
def test_service_images(services, service, prefix):
    image = services[service].get("image", "")
    assert image.startswith(prefix), f"{service} image {image!r} should be {prefix}"
    assert ":" in image and not image.endswith(":latest"), f"{service} image should be pinned: {image!r}"


def test_kafka_kraft_single_node(services):
    env = env_of(services["kafka"])
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"], "containers reach kafka:9092"
    # The host-facing listener advertises exactly the port published on the host.
    (port,) = services["kafka"]["ports"]
    host_side, container_side = str(port).removeprefix("127.0.0.1:").rsplit(":", 1)
    assert f"EXTERNAL://127.0.0.1:{host_side}" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert f"EXTERNAL://:{container_side}" in env["KAFKA_LISTENERS"]
    assert "kafka-data:/var/lib/kafka/data" in services["kafka"]["volumes"]
    assert env["KAFKA_LOG_DIRS"] == "/var/lib/kafka/data"


def test_minio_bucket_matches_settings(services):
    script = " ".join(map(str, services["minio-init"].get("entrypoint") or []))
    script += " ".join(map(str, services["minio-init"].get("command") or []))
    assert f"mc mb --ignore-existing tracker/{settings.BUCKET}" in script, (
        f"minio-init must create bucket {settings.BUCKET}"
    )
    minio_env, init_env = env_of(services["minio"]), env_of(services["minio-init"])
    assert minio_env["MINIO_ROOT_USER"] == init_env["MINIO_ROOT_USER"]
    assert minio_env["MINIO_ROOT_PASSWORD"] == init_env["MINIO_ROOT_PASSWORD"]
    s3 = json.loads(render(airflow_env(services)["AIRFLOW_CONN_TRACKER_S3"]))
    assert render(minio_env["MINIO_ROOT_USER"]) == s3["login"], "Airflow's S3 login is not MinIO's user"
    assert render(minio_env["MINIO_ROOT_PASSWORD"]) == s3["password"], "Airflow's S3 secret is not MinIO's"


# ----------------------------------------------------------------------------------------------------
# Dockerfile, lock


def test_dockerfile_base_image():
    froms = [line for line in dockerfile_lines() if line.upper().startswith("FROM ")]
    assert froms == [f"FROM apache/airflow:{AIRFLOW_VERSION}-python{PYTHON_VERSION}"], froms


def test_lock_pins_same_airflow():
    pins = dict(re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+)", LOCK.read_text(), flags=re.M))
    assert pins.get("apache-airflow") == AIRFLOW_VERSION, (
        f"requirements.lock pins apache-airflow {pins.get('apache-airflow')}, the image is {AIRFLOW_VERSION}"
    )
    assert pins.get("apache-airflow-core") == AIRFLOW_VERSION
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert f'"apache-airflow=={AIRFLOW_VERSION}"' in pyproject, "pyproject's stack extra pins another Airflow"
    assert f">={PYTHON_VERSION}" in pyproject, "pyproject's requires-python no longer matches the image"


def test_dockerfile_installs_with_lock_and_copies_project():
    lines = dockerfile_lines()
    text = "\n".join(lines)
    installs = [line for line in lines if "pip install" in line]
    assert any("-c requirements.lock" in line and f'"apache-airflow=={AIRFLOW_VERSION}"' in line
               for line in installs), "the dependency install must use requirements.lock as constraints"
    assert any("-e ." in line for line in installs), "the tracker package should be installed (editable)"
    assert all("--no-cache-dir" in line for line in installs)
    assert "USER root" not in text, "pip must run as the airflow user"
    for src in ("requirements.lock", "pyproject.toml", "include/", "dags/", "plugins/", "dbt_project/"):
        assert re.search(rf"^COPY .*\b{re.escape(src)}", text, flags=re.M), f"Dockerfile does not copy {src}"
    env = dockerfile_env()
    assert env.get("TRACKER_HOME") == "/opt/airflow"
    assert env.get("DBT_PROJECT_DIR") == "/opt/airflow/dbt_project"
    assert env.get("DBT_PROFILES_DIR") == "/opt/airflow/dbt_project"
    assert env.get("AIRFLOW__COSMOS__ENABLE_TELEMETRY") == "False"


def test_dockerignore():
    patterns = {line.strip() for line in DOCKERIGNORE.read_text().splitlines() if line.strip()}
    for pattern in (".venv", ".state", "dbt_project/target", "dbt_project/logs", ".git", ".env"):
        assert pattern in patterns, f".dockerignore should exclude {pattern}"
    assert any("__pycache__" in p for p in patterns), ".dockerignore should exclude __pycache__"


def test_dockerfile_builds_the_manifest_the_dbt_dag_reads():
    """The dbt DAG renders from TRACKER_DBT_MANIFEST: the image must contain it (built by `dbt parse`)."""
    manifest = dockerfile_env()["TRACKER_DBT_MANIFEST"]
    parse = next(line for line in dockerfile_lines() if line.startswith("RUN ") and "dbt parse" in line)
    assert f"--target-path {manifest.rsplit('/', 1)[0]}" in parse and "--project-dir dbt_project" in parse
    # dbt parse never connects: it works from placeholder credentials at build time (checked for real here)
    target = Path(tempfile.mkdtemp(prefix="tracker-manifest-"))
    result = subprocess.run([str(Path(sys.executable).with_name("dbt")), "parse", "--project-dir", "dbt_project",
                             "--profiles-dir", "dbt_project", "--target-path", str(target), "--log-path",
                             str(target / "logs")], cwd=ROOT, capture_output=True, text=True,
                            env=os.environ | {"TRACKER_PG_HOST": "build", "TRACKER_PG_PASSWORD": "build",
                                              "TRACKER_PG_PORT": "5432"})
    assert result.returncode == 0 and (target / "manifest.json").stat().st_size > 0, result.stdout[-2000:]


def test_metabase_sync_runs_once_metabase_is_healthy_with_what_the_command_reads(services):
    """The one-shot `tracker metabase sync` service: after Metabase is healthy, with the environment variables
    the command reads (include/tracker/cli/report.py), the warehouse as Metabase's container sees it."""
    import re

    svc = services["metabase-sync"]
    assert svc["depends_on"]["metabase"]["condition"] == "service_healthy"
    assert svc.get("restart") == "no"
    command = " ".join(svc["command"])
    assert command.startswith("bash -c") and "tracker metabase sync --url http://metabase:3000" in command
    read = set(re.findall(r'envvar="(TRACKER_METABASE_\w+)"', (ROOT / "include/tracker/cli/report.py").read_text()))
    env = svc["environment"]
    missing = read - {"TRACKER_METABASE_URL"} - set(env)  # the URL is the --url option
    assert not missing, f"metabase-sync lacks {missing}"
    assert env["TRACKER_METABASE_DB_HOST"] == "postgres" and "TRACKER_METABASE_PASSWORD" in env
    assert "TRACKER_ANALYST_PASSWORD" in env


def test_airflow_init_imports_the_api_pools_every_extract_task_runs_in(services):
    """Without its pool a task never leaves the queue: compose creates the same pools as `tracker up`."""

    script = " ".join(services["airflow-init"]["command"])
    assert "pools_json" in script and "airflow pools import" in script
    assert script.index("airflow db migrate") < script.index("airflow pools import")
    from tracker.sources.catalogue import api_sources
    from tracker.sources.quota import pool_name, pool_specs

    assert {pool_name(s.id) for s in api_sources()} <= {p.name for p in pool_specs()}


# ----------------------------------------------------------------------------------------------------
# scale-out profile (docs/scale-out.md): Redis + CeleryExecutor + N workers, only when asked for

SCALE_OUT = {"redis": ["scale-out"], "airflow-worker": ["scale-out"], "flower": ["flower"]}


def render_with(value: str, given: dict[str, str]) -> str:
    """Interpolate like compose would with `given` set in the environment (.env), dummies for the rest."""

    def sub(m: re.Match[str]) -> str:
        if m["name"] in given:
            return given[m["name"]]
        return m["arg"] if m["op"] in (":-", "-") else f"dummy-{m['name'].lower()}"

    return VAR_REF.sub(sub, value.replace("$$", "$"))


def test_scale_out_services_start_only_with_their_profile(services):
    """`docker compose up` without a profile starts exactly the single-machine services, as before."""
    assert {name: svc.get("profiles") for name, svc in services.items() if svc.get("profiles")} == SCALE_OUT
    assert set(services) - set(SCALE_OUT) == REQUIRED_SERVICES | {"metabase-sync"}
    # a default service may wait for a profile's service only as optional (else compose refuses to start)
    for name, svc in services.items():
        if svc.get("profiles"):
            continue
        for dep, spec in (svc.get("depends_on") or {}).items():
            if dep in SCALE_OUT:
                assert spec.get("required") is False, f"{name} -> {dep} must be `required: false`"
    assert services["airflow-scheduler"]["depends_on"]["redis"] == {"condition": "service_healthy",
                                                                    "required": False}


def test_the_executor_is_local_by_default_and_celery_when_asked(services):
    env = airflow_env(services)
    given = {"TRACKER_AIRFLOW_EXECUTOR": "CeleryExecutor", "TRACKER_AIRFLOW_PARALLELISM": "16"}
    assert (render(env["AIRFLOW__CORE__EXECUTOR"]), render(env["AIRFLOW__CORE__PARALLELISM"])) == \
        ("LocalExecutor", "4")
    assert (render_with(env["AIRFLOW__CORE__EXECUTOR"], given), render_with(env["AIRFLOW__CORE__PARALLELISM"],
                                                                            given)) == ("CeleryExecutor", "16")
    # every Airflow component reads the same executor, broker and result backend (checked for the
    # components above; the worker and flower here)
    for name in ("airflow-worker", "flower"):
        worker = env_of(services[name])
        for key in ("AIRFLOW__CORE__EXECUTOR", "AIRFLOW__CORE__PARALLELISM", "AIRFLOW__CELERY__BROKER_URL",
                    "AIRFLOW__CELERY__RESULT_BACKEND", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
                    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "AIRFLOW__API_AUTH__JWT_SECRET",
                    "AIRFLOW__CORE__FERNET_KEY", "AIRFLOW_CONN_TRACKER_WAREHOUSE"):
            assert worker.get(key) == env[key], f"{name}.{key} differs from the scheduler's"
        assert services[name].get("build") == "." and services[name]["image"] == services["airflow-scheduler"]["image"]
    # the queue is the redis service; task states go to the Airflow metadata database, as role airflow
    broker = urlsplit(env["AIRFLOW__CELERY__BROKER_URL"])
    assert (broker.scheme, broker.hostname, broker.port) == ("redis", "redis", 6379)
    backend = urlsplit(render(env["AIRFLOW__CELERY__RESULT_BACKEND"]).removeprefix("db+"))
    metadata = urlsplit(render(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]))
    assert (backend.username, backend.password, backend.hostname, backend.path) == \
        (metadata.username, metadata.password, metadata.hostname, metadata.path) == \
        (settings.AIRFLOW_ROLE, "dummy-tracker_airflow_db_password", "postgres", f"/{settings.AIRFLOW_DB}")


def test_workers_scale_and_run_what_the_scheduler_ran(services):
    worker = services["airflow-worker"]
    command = worker["command"] if isinstance(worker["command"], str) else " ".join(worker["command"])
    assert command == "celery worker"
    # `--scale airflow-worker=N` needs replicas that can coexist: no fixed name, no host port
    assert "container_name" not in worker and not worker.get("ports"), "a scaled service cannot pin these"
    assert int(env_of(worker)["AIRFLOW__CELERY__WORKER_CONCURRENCY"]) >= 1
    assert "inspect ping" in " ".join(worker["healthcheck"]["test"]) and "celery@$${HOSTNAME}" in \
        " ".join(worker["healthcheck"]["test"])
    # with CeleryExecutor the workers run the tasks: they need what the LocalExecutor scheduler needs
    scheduler_needs = set(services["airflow-scheduler"]["depends_on"])
    assert scheduler_needs <= set(worker["depends_on"]), scheduler_needs - set(worker["depends_on"])
    assert worker["depends_on"]["redis"] == {"condition": "service_healthy"}
    assert set(worker["volumes"]) == set(services["airflow-scheduler"]["volumes"]), "logs and state are shared"
    redis = services["redis"]
    assert not redis.get("ports"), "Redis has no password: it must stay inside the compose network"
    assert "redis-cli" in " ".join(redis["healthcheck"]["test"])
    flower = services["flower"]
    assert flower["command"] == "celery flower" and flower["ports"] == ["127.0.0.1:${TRACKER_FLOWER_PORT:-25555}:5555"]


def test_the_image_has_the_celery_provider_pinned():
    pins = dict(re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+)", LOCK.read_text(), flags=re.M))
    assert pins.get("apache-airflow-providers-celery") == "3.26.0" and pins["celery"].split(".")[:2] != ["5", "7"]
    assert {"celery", "kombu", "redis", "flower"} <= pins.keys(), "the provider's dependencies are not locked"
    assert '"apache-airflow-providers-celery==3.26.0"' in (ROOT / "pyproject.toml").read_text(), \
        "the stack extra (what the image installs, constrained by the lock) lacks the provider"
    runs = [line for line in dockerfile_lines() if line.startswith("RUN ")]
    assert any("import airflow.providers.celery.executors.celery_executor" in line for line in runs)


def test_docs_name_the_profile_and_separate_measured_from_designed():
    text = (ROOT / "docs" / "scale-out.md").read_text()
    for phrase in ("--profile scale-out", "--scale airflow-worker=", "TRACKER_AIRFLOW_EXECUTOR=CeleryExecutor",
                   "create_distributed_table('raw.fitbit__heart_rate', 'person_id')", "Measured here",
                   "Designed, not run here", "bench/bench_partitioned_heart_rate.py"):
        assert phrase in text, f"docs/scale-out.md does not say {phrase!r}"
