"""`tracker env` and `tracker dbt …`: dbt by hand against the stack (the session's PostgreSQL), no secret in
the printed text unless --show-secrets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import typer
from tracker import settings
from typer.testing import CliRunner

TRACKER = str(Path(sys.executable).with_name("tracker"))
NAMES = ("AIRFLOW", "TRACKER_", "DBT_", "NO_PROXY")


def cli(*args: str):
    from tracker.cli import dev

    app = typer.Typer()
    dev.register(app)
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def secrets() -> list[str]:
    return [v for v in settings.Secrets.load_or_create().__dict__.values() if v]


def shell(script: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(NAMES) or k in (
        "TRACKER_STATE_DIR", "TRACKER_HOME") or k.endswith("_PORT")}
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=clean, timeout=300)


def exported(script: str) -> dict[str, str]:
    done = shell(f"{script}\nenv -0")
    assert done.returncode == 0, done.stderr
    pairs = (item.split("=", 1) for item in done.stdout.split("\0") if "=" in item)
    inherited = {k for k in os.environ if k.endswith("_PORT")} - {"TRACKER_PG_PORT", "AIRFLOW__API__PORT"}
    return {k: v for k, v in pairs if k.startswith(NAMES) and k not in inherited}


def test_env_prints_no_secret_and_evaluates_to_the_stack_env(pg):
    from tracker.cli.dev import shell_env

    # WHEN the exports are printed without and with --show-secrets
    hidden, shown = cli("env"), cli("env", "--show-secrets")
    assert hidden.exit_code == 0 and shown.exit_code == 0, hidden.output
    # THEN only the latter holds the passwords, keys and the JWT secret (or its first 32 characters)
    assert not [s for s in secrets() if s in hidden.output or s[:32] in hidden.output]
    assert settings.Secrets.load_or_create().loader_password in shown.output
    # AND both evaluate, in a shell, to exactly the stack's environment
    expected = shell_env(demo=True)
    assert exported(f'eval "$({TRACKER} env)"') == exported(f'eval "$({TRACKER} env --show-secrets)"') == expected
    # AND the helper variables holding the secrets are gone afterwards
    gone = shell(f'eval "$({TRACKER} env)"; [ -z "${{_tracker_loader_password+set}}" ] && echo unset')
    assert gone.stdout == "unset\n", gone.stderr


def test_value_of_a_secret_needs_show_secrets(pg):
    refused = cli("env", "--value", "TRACKER_PG_PASSWORD")
    assert refused.exit_code == 2
    assert refused.output == "error: TRACKER_PG_PASSWORD holds a secret: add --show-secrets\n"
    given = cli("env", "--value", "TRACKER_PG_PASSWORD", "--show-secrets")
    assert given.output == settings.Secrets.load_or_create().loader_password + "\n"
    assert cli("env", "--value", "TRACKER_PG_PORT").output == f"{settings.port('postgres')}\n"


def test_dbt_by_hand_reaches_the_stack(pg):
    # dbt from a shell with the printed env, from any folder
    done = shell(f'eval "$({TRACKER} env)" && cd /tmp && dbt debug --project-dir "$DBT_PROJECT_DIR"')
    assert done.returncode == 0, done.stdout[-2000:]
    assert "OK connection ok" in done.stdout and "All checks passed!" in done.stdout
    # and `tracker dbt …`, which exits with dbt's exit code
    ok = subprocess.run([TRACKER, "dbt", "debug"], capture_output=True, text=True, cwd="/tmp", timeout=300)
    assert ok.returncode == 0 and "All checks passed!" in ok.stdout, ok.stdout[-2000:]
    assert not [s for s in secrets() if s in ok.stdout + ok.stderr]
    bad = subprocess.run([TRACKER, "dbt", "debug", "--no-such-flag"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2
    assert "No such option '--no-such-flag'" in bad.stderr
