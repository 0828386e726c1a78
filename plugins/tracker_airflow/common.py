"""What every Tracker DAG shares: default args, typed retry rules, the warehouse-ready and extract tasks."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import ExceptionRetryPolicy, RetryAction, RetryRule, task
from tracker.http import AuthError, PermanentSourceError, TransientSourceError

DEFAULT_ARGS = {
    "owner": "tracker",
    "retries": 3,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=30),
    "execution_timeout": timedelta(hours=1),
}

# Rate limits, 5xx and timeouts retry (the client already backed off); bad credentials and bad requests fail
# at once: retrying them only hammers the API and hides the message that says what to fix.
SOURCE_RETRY_POLICY = ExceptionRetryPolicy(rules=[
    RetryRule(exception=AuthError, action=RetryAction.FAIL, reason="bad credentials: fix the connection"),
    RetryRule(exception=PermanentSourceError, action=RetryAction.FAIL, reason="the API rejected the request"),
    RetryRule(exception=TransientSourceError, action=RetryAction.RETRY, retry_delay=timedelta(minutes=5),
              reason="rate limit, server error or timeout"),
])


@task(retries=3)
def warehouse_ready(run_id=None) -> bool:
    """Create schemas and raw tables if this is the warehouse's very first run (idempotent otherwise), and
    sync the configured people (their time zones drive every local date in silver and gold)."""
    from tracker.config import load_config
    from tracker.warehouse.people import sync_people
    from tracker.warehouse.schema import ensure_warehouse, is_first_run

    from tracker_airflow.hooks import WarehouseHook

    with WarehouseHook().connect() as conn:
        first = is_first_run(conn)
        applied = ensure_warehouse(conn)
        sync_people(conn, load_config(), run_id or "manual")
    print(f"first run: {first}; newly applied: {applied or 'nothing'}")
    return first


@task(retry_policy=SOURCE_RETRY_POLICY)
def extract_load(source: str, options: dict | None = None, data_interval_start=None, data_interval_end=None,
                 dag_run=None, run_id=None) -> list[dict]:
    """Run catalogue source `source`'s extract for the run's data interval with the clients of its
    connection (`options`: the extract's keyword options); returns one summary per Load."""
    from tracker.config import load_config
    from tracker.sources.catalogue import source as catalogue_source
    from tracker.windows import window_for_run

    from tracker_airflow.hooks import HOOKS, WarehouseHook

    window = window_for_run(data_interval_start, data_interval_end, dag_run.run_after)
    extract = catalogue_source(source).extract_function()
    with WarehouseHook().connect() as conn:
        loads = extract(conn, HOOKS[source]().clients(), load_config(), window, run_id, **(options or {}))
    return [load.as_dict() for load in loads]
