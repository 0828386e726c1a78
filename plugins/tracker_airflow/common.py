"""What every Tracker DAG shares: default args (with the failure notifier), owner links, typed retry rules,
the run params of the source DAGs, and the tasks: warehouse ready, choose the people, one extract per person."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from airflow.sdk import ExceptionRetryPolicy, Param, RetryAction, RetryRule, task
from tracker.http import AuthError, PermanentSourceError, TransientSourceError
from tracker.sources.quota import pool_name

from tracker_airflow.notify import notify_failure

# the owner's page in the UI's DAG list: TRACKER_OWNER_LINK (a URL or mailto:), else the dbt docs (lineage)
OWNER_LINKS = {"tracker": os.environ.get("TRACKER_OWNER_LINK")
               or os.environ.get("TRACKER_DOCS_URL", "http://127.0.0.1:28081")}

DEFAULT_ARGS = {
    "owner": "tracker",
    "retries": 3,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=30),
    "execution_timeout": timedelta(hours=1),
    "on_failure_callback": [notify_failure],
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


# Google's cap on the users of an OAuth app that has not been verified (its "Testing" apps also expire
# refresh tokens after 7 days: gold.dim_person_sync shows each sign-in's expiry)
GOOGLE_UNVERIFIED_USER_CAP = 100

# A bad param or config is fixed by the person who triggered the run, not by retrying.
PLAN_RETRY_POLICY = ExceptionRetryPolicy(rules=[
    RetryRule(exception=ValueError, action=RetryAction.FAIL, reason="bad run params or config: fix and trigger again"),
])


def source_params(source: str) -> dict[str, Param]:
    """The params of a source DAG's manual runs (Trigger → with config): the window's first day and the day
    after its last (default: the run's data interval), and the people (default: everyone the source serves).
    The people's ids are offered from the config as parsed; the run checks them against the config it reads."""
    from tracker.config import load_config
    from tracker.sources.catalogue import source as catalogue_source
    from tracker.sources.contract import people_served

    try:
        ids = people_served(load_config(), catalogue_source(source).account)
    except Exception:  # noqa: BLE001 - a broken config must not hide the DAG; its run names the error
        ids = []
    people: dict[str, Any] = {"type": "string", "pattern": "^[a-z0-9_]+$"}
    offered: dict[str, Any] = {}
    if ids:
        people["enum"] = ids
        offered["examples"] = ids   # the UI's multi-select
    return {
        "start": Param(None, type=["null", "string"], format="date", title="Window start",
                       description="First day (UTC) to extract; empty: the run's data interval."),
        "end": Param(None, type=["null", "string"], format="date", title="Window end",
                     description="The day after the last (UTC): the window is [start, end). Empty: the data "
                                 "interval's end."),
        "people": Param([], type="array", items=people, uniqueItems=True, title="People",
                        description="Person ids from the config; empty: everyone with this source's account.",
                        **offered),
    }


def freshness_exclusions() -> list[str]:
    """dbt selectors of the raw tables that only API sources nobody in the config uses write: an empty table
    is "stale" to `dbt source freshness`, and a household without Last.fm must not fail every dbt run on it.
    Tables an export also writes (Fitbit) stay checked. dbt source name = the table name's prefix."""
    from tracker.config import load_config
    from tracker.sources.catalogue import SOURCES
    from tracker.sources.contract import people_served

    try:
        config = load_config()
    except Exception:  # noqa: BLE001 - the dbt DAG must parse with a broken config; its runs then check all
        return []
    used = {t.name for s in SOURCES.values() if s.kind != "api" or people_served(config, s.account)
            for t in s.tables}
    unused = sorted({t.name for s in SOURCES.values() for t in s.tables} - used)
    return [f"source:{name.split('__')[0]}.{name}" for name in unused]


def _run_window(params: dict | None, data_interval_start, data_interval_end, dag_run):
    from tracker.sources.contract import requested_window
    from tracker.windows import window_for_run

    params = params or {}
    default = window_for_run(data_interval_start, data_interval_end, getattr(dag_run, "run_after", None))
    return requested_window(params.get("start"), params.get("end"), default)


@task(retry_policy=PLAN_RETRY_POLICY)
def choose_people(source: str, params=None, data_interval_start=None, data_interval_end=None,
                  dag_run=None) -> list[str]:
    """The ids of the people this run extracts (param `people`, else everyone the source serves), after
    checking the params: one extract task is mapped per id."""
    from tracker.config import load_config
    from tracker.sources.catalogue import source as catalogue_source
    from tracker.sources.contract import choose_people as choose
    from tracker.sources.contract import people_served

    window = _run_window(params, data_interval_start, data_interval_end, dag_run)
    config, account = load_config(), catalogue_source(source).account
    ids = choose(config, account, list((params or {}).get("people") or []))
    if source == "trakt" and len(people_served(config, account)) > 1:
        # the `trakt` connection holds one user's token: a second person would load the first one's history
        raise ValueError(f"{len(people_served(config, account))} people have a trakt account "
                         f"({', '.join(people_served(config, account))}), but one Trakt connection holds one "
                         "user's token")
    served = len(people_served(config, account))
    if source == "google_health" and served > GOOGLE_UNVERIFIED_USER_CAP:
        # not an error (a verified app has no cap), but the sign-ins past the cap fail: say why before they do
        print(f"warning: {served} people have a google_health account; Google caps an OAuth app that is not "
              f"verified at {GOOGLE_UNVERIFIED_USER_CAP} users — verify the app (OAuth consent screen) or split "
              "the study over several OAuth clients")
    print(f"{source}: window {window}; people: {', '.join(ids) or 'nobody'}")
    return ids


@task(retry_policy=SOURCE_RETRY_POLICY, map_index_template="{{ task.op_kwargs['person'] }}")
def extract_load(source: str, person: str, options: dict | None = None, params=None, data_interval_start=None,
                 data_interval_end=None, dag_run=None, run_id=None) -> list[dict]:
    """Run catalogue source `source`'s extract for one person (mapped: one task per person, so a failure is
    that person's alone) over the run's window with the clients of its connection (`options`: the extract's
    keyword options); returns one summary per Load."""
    from tracker.config import load_config
    from tracker.sources.catalogue import source as catalogue_source
    from tracker.sources.contract import config_for

    from tracker_airflow.hooks import HOOKS, WarehouseHook

    window = _run_window(params, data_interval_start, data_interval_end, dag_run)
    extract = catalogue_source(source).extract_function()
    config = config_for(load_config(), person)
    options = {**(options or {}), **backfill_options(extract, dag_run)}
    with WarehouseHook().connect() as conn:
        loads = extract(conn, HOOKS[source]().clients(), config, window, run_id, **options)
    for load in loads:
        print(f"{person}: {load.as_dict()}")
    return [load.as_dict() for load in loads]


def backfill_options(extract, dag_run) -> dict:  # noqa: ANN001 - an extract function, Airflow's dag run
    """A backfill's run reads exactly its data interval: an extract's trailing re-pull (Google Health re-reads
    the 3 days before, which sync late) is for the daily schedule — in a backfill those days are the backfill's
    own runs, and re-reading them would spend 4× the requests (18 a day instead of ~12 for one person)."""
    import inspect
    from datetime import timedelta

    if getattr(dag_run, "run_type", None) == "backfill" and "repull" in inspect.signature(extract).parameters:
        return {"repull": timedelta(0)}
    return {}


def extract_per_person(source: str, people, *, task_id: str, outlets: list, options: dict | None = None):
    """The mapped extract: one `task_id` instance per person id `people` yields, in the source's API pool,
    each updating `outlets` (the raw tables' Assets) when it loads."""
    return extract_load.override(task_id=task_id, outlets=outlets, pool=pool_name(source)).partial(
        source=source, options=options).expand(person=people)
