"""ruff (with the Airflow AIR3 rules) and sqlfluff (postgres dialect, dbt templater) stay clean."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def test_ruff_is_clean():
    result = subprocess.run([str(BIN / "ruff"), "check", "--output-format", "concise", "."], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_sqlfluff_is_clean(pg):
    # the dbt templater compiles the project, which needs the warehouse: the session cluster's env is set
    result = subprocess.run([str(BIN / "sqlfluff"), "lint", "models", "tests"], cwd=ROOT / "dbt_project",
                            capture_output=True, text=True, env=os.environ.copy())
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
