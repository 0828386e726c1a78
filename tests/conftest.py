"""Test harness: a throwaway PostgreSQL cluster, demo API server and Airflow home per test session.

Environment is fixed in pytest_configure, before any test module imports Airflow (it reads its config at
import time): ports are picked free, state lives in a temp folder, and the real stack env is reused.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from support import free_port as _free_port

ROOT = Path(__file__).resolve().parents[1]
_STATE = Path(tempfile.mkdtemp(prefix="tracker-test-"))


def pytest_configure(config: pytest.Config) -> None:
    os.environ["TRACKER_STATE_DIR"] = str(_STATE)
    os.environ["TRACKER_HOME"] = str(ROOT)
    for var in ("TRACKER_PG_PORT", "TRACKER_DEMO_PORT", "TRACKER_AIRFLOW_PORT", "TRACKER_S3_PORT",
                "TRACKER_KAFKA_PORT", "TRACKER_DOCS_PORT"):
        os.environ[var] = str(_free_port())
    from tracker.stack.env import stack_env

    os.environ.update(stack_env(demo=True))
    os.environ.pop("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", None)
    # in-process runs: keep Airflow quiet and local
    os.environ["AIRFLOW__CORE__EXECUTOR"] = "LocalExecutor"
    os.environ["AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT"] = "60"
    # tests build slices of the project: run a test only when every model it reads was selected too
    os.environ["DBT_INDIRECT_SELECTION"] = "cautious"


def pytest_unconfigure(config: pytest.Config) -> None:
    from tracker.stack import processes

    if "airflow.settings" in sys.modules:  # close Airflow's pool before its server goes away
        try:
            sys.modules["airflow.settings"].dispose_orm()
        except Exception as exc:  # noqa: BLE001 - pooled connections may predate the e2e test's restart
            print(f"disposing Airflow's pool: {exc}")
    processes.stop("postgres")
    shutil.rmtree(_STATE, ignore_errors=True)


@pytest.fixture(scope="session")
def pg():
    """The session's PostgreSQL cluster with Tracker's roles, databases and raw tables."""
    import psycopg
    from tracker import settings
    from tracker.stack.postgres import Cluster, bootstrap
    from tracker.warehouse.schema import ensure_warehouse

    cluster = Cluster(_STATE / "pg", settings.port("postgres"))
    cluster.initdb()
    cluster.start(durable=False)
    bootstrap(cluster, settings.Secrets.load_or_create())
    with psycopg.connect(settings.warehouse_dsn()) as conn:
        ensure_warehouse(conn)
    yield cluster


@pytest.fixture()
def warehouse(pg):
    """A loader-role connection to the warehouse."""
    import psycopg
    from tracker import settings

    # autocommit: a test must never sit idle in a transaction holding locks that dbt or a DAG waits on
    with psycopg.connect(settings.warehouse_dsn(), autocommit=True) as conn:
        yield conn


class Scratch:
    """A throwaway schema owned by the loader role, in which a test creates its raw-style tables."""

    def __init__(self, conn, schema: str) -> None:
        self.conn, self.schema = conn, schema

    def table(self, name: str, columns: dict[str, str], key: tuple[str, ...],
              window_column: str | None = None, not_null: tuple[str, ...] = ()):
        from psycopg import sql
        from tracker.warehouse.loader import RawTable

        table = RawTable(self.schema, name, dict(columns), key, window_column)
        defs = [sql.SQL("{} {}{}").format(sql.Identifier(c), sql.SQL(t),
                                          sql.SQL(" not null" if c in key or c in not_null else ""))
                for c, t in columns.items()]
        defs += [sql.SQL("_run_id text not null"), sql.SQL("_loaded_at timestamptz not null default now()"),
                 sql.SQL("primary key ({})").format(sql.SQL(", ").join(map(sql.Identifier, key)))]
        self.conn.execute(sql.SQL("create table {} ({})").format(table.ident, sql.SQL(", ").join(defs)))
        return table


@pytest.fixture()
def scratch(warehouse):
    """A schema of the test's own, dropped afterwards."""
    import uuid

    from psycopg import sql

    schema = f"t_loader_{uuid.uuid4().hex[:8]}"
    warehouse.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
    try:
        yield Scratch(warehouse, schema)
    finally:
        warehouse.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))


@pytest.fixture()
def hourly(scratch):
    """A keyed scratch table (person_id, observed_at) with window column observed_at."""
    return scratch.table("hourly", {"person_id": "text", "observed_at": "timestamptz", "value": "int2",
                                    "note": "text"}, ("person_id", "observed_at"), window_column="observed_at")


@pytest.fixture()
def dst_sleep(warehouse):
    """The wall-clock DST sleep nights (tests/fixtures/fitbit_export/dst_sleep.py); its person leaves nothing
    behind in raw."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("fitbit_dst_sleep",
                                                  ROOT / "tests" / "fixtures" / "fitbit_export" / "dst_sleep.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.cleanup(warehouse)
    yield module
    module.cleanup(warehouse)


@pytest.fixture(scope="session")
def demo_api():
    """The demo API server on the port the stack env points Airflow's connections at."""
    import threading

    from tracker import settings
    from tracker.demo.server import make_server

    server = make_server(port=settings.port("demo"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield settings.demo_url()
    server.shutdown()


@pytest.fixture(scope="session")
def airflow_db(pg):
    """Airflow's metadata schema, migrated into the session cluster's `airflow` database."""
    subprocess.run([str(Path(sys.executable).with_name("airflow")), "db", "migrate"], check=True,
                   capture_output=True, env=os.environ.copy())


@pytest.fixture(scope="session")
def dbt_manifest(pg):
    """`dbt parse` + the published manifest Cosmos renders the dbt DAG from."""
    from tracker.stack.local import publish_manifest

    return publish_manifest()


# ---- the fault suite's table (cases in tests/faults/, and integration tests marked @pytest.mark.fault) ----


FAULT_ROWS = "tracker_fault_rows"  # a list on the pytest config, printed by pytest_terminal_summary
_ITEM_ROW = pytest.StashKey["FaultRow"]()


@dataclass
class FaultRow:
    case: str
    expected: str
    happened: str = "(test did not finish)"
    before: int | None = None
    after: int | None = None
    lost: int | None = None
    passed: bool = False


class FaultRecorder:
    """One test's row of the fault table; `record()` fills it in, the test's outcome marks it passed."""

    def __init__(self, row: FaultRow) -> None:
        self.row = row

    def record(self, happened: str, *, before: int | None = None, after: int | None = None,
               lost: int | None = None) -> None:
        self.row.happened, self.row.before, self.row.after, self.row.lost = happened, before, after, lost


@pytest.fixture()
def fault(request: pytest.FixtureRequest) -> FaultRecorder:
    """`fault.record(happened, before=, after=, lost=)` — case and expectation come from the test's marker
    `@pytest.mark.fault(case, expected)`."""
    marker = request.node.get_closest_marker("fault")
    if marker is None:
        raise pytest.UsageError(f"{request.node.nodeid}: add @pytest.mark.fault(case, expected)")
    case, expected = marker.args
    row = FaultRow(case=case, expected=expected)
    if not hasattr(request.config, FAULT_ROWS):
        setattr(request.config, FAULT_ROWS, [])
    getattr(request.config, FAULT_ROWS).append(row)
    request.node.stash[_ITEM_ROW] = row
    yield FaultRecorder(row)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and (row := item.stash.get(_ITEM_ROW, None)) is not None:
        row.passed = report.passed


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    """The fault suite's table (tests/faults): case, expected, what happened, good rows before/after, lost."""
    rows = getattr(config, FAULT_ROWS, [])
    if not rows:
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("case", "expected", "what happened", "rows before", "rows after", "lost", "ok",
                  title="fault suite", show_lines=False)
    for r in rows:
        table.add_row(r.case, r.expected, r.happened, *(("" if v is None else f"{v:,}") for v in
                                                        (r.before, r.after, r.lost)), "yes" if r.passed else "NO")
    console = Console(file=terminalreporter._tw, width=200, force_terminal=False)
    console.print(table)
    lost = sum(r.lost or 0 for r in rows)
    failed = sum(not r.passed for r in rows)
    terminalreporter.write_line(f"fault suite: {len(rows)} hostile cases, {lost} rows lost, {failed} failed")
