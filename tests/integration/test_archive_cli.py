# ruff: noqa: F401, F811 - pytest fixtures imported from archive_fixtures
"""`tracker archive / restore / fingerprint` (CliRunner on a fresh app) against real PostgreSQL and moto."""

from __future__ import annotations

import pytest
from archive_fixtures import adb, archive_dsn, bucket, moto_endpoint, s3

pytestmark = pytest.mark.integration


@pytest.fixture()
def cli(monkeypatch, archive_dsn, moto_endpoint, bucket):
    import typer
    from tracker.cli import archive as commands
    from typer.testing import CliRunner

    monkeypatch.setenv("TRACKER_WAREHOUSE_DSN", archive_dsn)
    monkeypatch.setenv("TRACKER_S3_ENDPOINT", moto_endpoint)
    monkeypatch.setenv("TRACKER_S3_SERVER", "moto")
    monkeypatch.setenv("TRACKER_ARCHIVE_BUCKET", bucket)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    app = typer.Typer()
    commands.register(app)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args), catch_exceptions=False)


def test_archive_dry_run_restore_and_fingerprint(adb, cli):
    adb.execute("insert into raw.trakt__history (person_id, history_id, watched_at, action, media_type, title, record,"
                " _run_id) select 'me', i, timestamptz '2026-10-20 00:00+00' + i * interval '1 day', 'watch', "
                "'movie', 'Film ' || i, '{}', 'r' from generate_series(1, 20) i")
    before = cli("fingerprint", "--table", "raw.trakt__history")
    assert before.exit_code == 0 and "raw.trakt__history" in before.output and " 20 " in before.output
    # WHEN archived (policy applied and read back first)
    done = cli("archive", "--table", "raw.trakt__history")
    assert done.exit_code == 0, done.output
    assert "policy applied and read back equal" in done.output and "2 uploaded (20 rows)" in done.output
    assert "0 uploaded" in cli("archive", "--table", "raw.trakt__history").output
    # THEN the dry run prints the plan and restores nothing
    adb.execute("truncate raw.trakt__history")
    plan = cli("restore", "--all", "--from", "2026-10", "--to", "2026-11", "--dry-run")
    assert plan.exit_code == 0, plan.output
    assert "restore plan: 2 partitions, 20 rows, 2 objects" in plan.output and "STANDARD: 2 objects" in plan.output
    assert adb.execute("select count(*) from raw.trakt__history").fetchone()[0] == 0
    # AND the restore gives back the same fingerprint
    restored = cli("restore", "--table", "raw.trakt__history", "--from", "2026-10", "--to", "2026-11")
    assert restored.exit_code == 0, restored.output
    assert "restored 20 rows into 2 partitions; 2 identical to the archive" in restored.output
    assert cli("fingerprint", "--table", "raw.trakt__history").output == before.output
    # AND prune says what it would delete, and deletes only with --delete
    dry = cli("prune", "--before", "2026-11", "--table", "raw.trakt__history")
    assert "raw.trakt__history 2026-10: kept (dry run: would delete 11 rows)" in dry.output, dry.output
    assert adb.execute("select count(*) from raw.trakt__history").fetchone()[0] == 20
    done = cli("prune", "--before", "2026-11", "--table", "raw.trakt__history", "--delete")
    assert "deleted 11 rows in 1 months" in done.output, done.output
    assert adb.execute("select count(*) from raw.trakt__history").fetchone()[0] == 9


@pytest.mark.parametrize(("args", "message"), [
    (("restore", "--from", "2026-10"), "give --table T (repeatable) or --all"),
    (("restore", "--all", "--from", "2026-13"), "--from '2026-13' is not a month (YYYY-MM)"),
    (("restore", "--all", "--from", "2026-11", "--to", "2026-10"), "--from 2026-11 is after --to 2026-10"),
    (("archive", "--table", "raw.nope"), "'raw.nope' is not an archivable table"),
    (("restore", "--all", "--tier", "Fast"), None),
])
def test_bad_options_fail_in_one_line(cli, args, message):
    result = cli(*args)
    assert result.exit_code in (1, 2)
    if message:
        assert result.output.startswith("error:") and message in result.output, result.output
        assert len(result.output.strip().splitlines()) <= 2
