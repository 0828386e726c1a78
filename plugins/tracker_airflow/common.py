"""What every Tracker DAG shares: default args, typed retry rules, the warehouse-ready task."""

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
