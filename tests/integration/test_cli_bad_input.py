"""Bad input answers with one clear line, never a traceback, and never prints a secret.

The real commands through typer's CliRunner (registered into a fresh app), the session's PostgreSQL, real dbt.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
import typer
from support import free_port as _free_port
from tracker import settings
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
NETFLIX = ROOT / "tests" / "fixtures" / "netflix" / "ViewingActivity.csv"


def tracker_app() -> typer.Typer:
    from tracker.cli import extract, imports, stack

    app = typer.Typer()
    for module in (stack, imports, extract):
        module.register(app)
    return app


def invoke(args: list[str], **env: str):
    result = CliRunner().invoke(tracker_app(), args, env={"COLUMNS": "200", **env})
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def config_file(tmp_path: Path, person: str) -> str:
    path = tmp_path / "people.yml"
    path.write_text("people:\n" + person)
    return str(path)


def test_invalid_config_is_one_line_per_problem(tmp_path, pg):
    # GIVEN a config with an unknown zone and a misspelt key
    config = config_file(tmp_path, "  - id: me\n    timezone: Mars/Base\n    acounts: {}\n")
    # WHEN an import and an extract read it
    for args in (["import", "netflix", str(NETFLIX)],
                 ["extract", "weather", "--start", "2026-11-01", "--end", "2026-11-02"]):
        result = invoke(args, TRACKER_CONFIG=config)
        # THEN each says where and what, one line per problem, and exits 2
        assert result.exit_code == 2, result.output
        assert result.output.splitlines() == [
            f"error: invalid config ({config}):",
            "  people[0].timezone: unknown IANA zone 'Mars/Base'",
            "  people[0].acounts: unknown key",
        ]


def test_unknown_account_key_is_an_error_naming_the_known_keys(tmp_path, pg):
    # GIVEN a person whose GitHub account key is misspelt (today that silently skipped GitHub for them)
    config = config_file(tmp_path, "  - id: me\n    timezone: Europe/Berlin\n    accounts:\n      githb: me\n")
    # WHEN the extract reads it
    result = invoke(["extract", "github", "--start", "2026-11-01", "--end", "2026-11-02"], TRACKER_CONFIG=config)
    # THEN it fails naming the key and every known one
    assert result.exit_code == 2, result.output
    assert "people[0].accounts: unknown key 'githb' (known keys: github, google_health, lastfm, trakt, " \
           "netflix_profile)" in result.output


@pytest.mark.parametrize("command", ["netflix", "fitbit-export"])
def test_a_failing_command_never_prints_the_password(tmp_path, pg, command):
    # GIVEN a warehouse DSN whose password libpq echoes back in its parse error
    password = "s3cret%zzpw"
    dsn = f"postgresql://{settings.LOADER_ROLE}:{password}@127.0.0.1:{settings.port('postgres')}/warehouse"
    config = config_file(tmp_path, "  - id: me\n    timezone: Europe/Berlin\n")
    path = NETFLIX if command == "netflix" else ROOT / "tests" / "fixtures" / "fitbit_export"
    # WHEN an import tries to connect with it
    result = invoke(["import", command, str(path)], TRACKER_WAREHOUSE_DSN=dsn, TRACKER_CONFIG=config)
    # THEN one line says the warehouse cannot be reached, and no part of the password is in the output
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: cannot reach the warehouse (")
    assert "invalid percent-encoded token" in result.output  # libpq's reason is kept …
    assert "s3cret" not in result.output and "zzpw" not in result.output  # … its echo of the password is not


def test_redact_masks_stack_secrets_and_dsn_passwords(pg, monkeypatch):
    from tracker.cli.common import redact

    secrets = settings.Secrets.load_or_create()
    monkeypatch.setenv("TRACKER_WAREHOUSE_DSN", "host=db user=u password='p@ss word' dbname=w")
    text = f"{secrets.loader_password} {secrets.jwt_secret} p@ss word {settings.warehouse_dsn()}"
    masked = redact(text)
    assert secrets.loader_password not in masked and secrets.jwt_secret not in masked
    assert "p@ss word" not in masked
    assert masked.count("***") == 4


def test_dbt_failing_under_up_shows_dbt_error_not_a_traceback():
    # GIVEN a checkout whose dbt project has a model referring to a model that does not exist, and a state
    # folder and ports of its own
    home = Path(tempfile.mkdtemp(prefix="tracker-up-home-"))
    state = Path(tempfile.mkdtemp(prefix="tracker-up-state-"))
    shutil.copytree(ROOT / "dbt_project", home / "dbt_project", ignore=shutil.ignore_patterns("target", "logs"))
    (home / "dbt_project" / "models" / "broken_on_purpose.sql").write_text("select * from {{ ref('no_such') }}\n")
    env = {"TRACKER_HOME": str(home), "TRACKER_STATE_DIR": str(state),
           **{var: str(_free_port()) for var in ("TRACKER_PG_PORT", "TRACKER_DEMO_PORT", "TRACKER_AIRFLOW_PORT",
                                                 "TRACKER_S3_PORT", "TRACKER_KAFKA_PORT", "TRACKER_DOCS_PORT")}}
    try:
        # WHEN the stack comes up
        result = invoke(["up"], **env)
        # THEN the steps before dbt are done, dbt's step fails with dbt's own error lines, nothing else
        assert result.exit_code == 2, result.output
        lines = result.output.splitlines()
        assert "✓ PostgreSQL (cluster, roles, raw tables)" in "\n".join(lines)
        assert any(line.startswith("✗ dbt parse") for line in lines), result.output
        assert "error: dbt parse failed (exit 2); its last output:" in result.output, result.output
        assert ("Model 'model.tracker.broken_on_purpose' (models/broken_on_purpose.sql) depends on a node named "
                "'no_such' which was not found") in result.output
        assert "\x1b[" not in result.output
        assert "CalledProcessError" not in result.output
        assert "tracker down" in result.output
        secrets = settings.Secrets.load_or_create(state)
        assert secrets.loader_password not in result.output
    finally:
        stopped = invoke(["down"], **env)
        assert "postgres" in stopped.output
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(state, ignore_errors=True)
