"""dbt_warehouse's model tasks without a worker process when their model built, and without a DAG parse each.

In Cosmos' watcher mode one `dbt build` (the producer) publishes each model's status to XCom and every model
(and every model's tests) has a task that reports it. Started on a worker, each of those ≈ 90 tasks is a process
that parses the DAG file to read one XCom value: under the real scheduler that cost more than the build
itself. Here they start *in the triggerer* (Airflow's `start_from_trigger`) together with the build, and
`ModelStatusTrigger` waits there until the build has ended, then reads the model's status (Cosmos'
`WatcherTrigger`) and, when dbt built the model (or passed its tests), ends the task as a success on the spot.

Why wait for the end of the build: Airflow queues a callback for every task the triggerer ends, and the DAG
processor parses the DAG file to run it (even with no callback defined). Ending ≈ 90 tasks while dbt builds
kept one of two cores parsing for the whole build; ending them together after it costs a parse or two. The
producer's log shows each model as dbt builds it; the model tasks show the outcome when the build is done.

Everything else — a failed or skipped model, a failed producer, a retry (which must run the model itself) —
resumes the task on a worker at Cosmos' own `execute`, which reads the same status and fails, skips or runs
the model exactly as Cosmos does (and the failure notifier runs there). Before that, `skip_below_unbuilt`
skips the task of a model whose upstream model dbt did not build or whose tests failed: dbt skipped it, and
Cosmos (which reports such a model "failed" so that its retry runs it) would rebuild it from stale parents.
`dag.test()` ignores `start_from_trigger` and runs `execute` as it always did (the same skip applies).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from airflow.sdk.exceptions import AirflowSkipException
from airflow.triggers.base import StartTriggerArgs, TaskSuccessEvent, TriggerEvent
from cosmos.listeners.dag_run_listener import EventStatus
from cosmos.operators._watcher.aggregation import get_tests_status_xcom_key
from cosmos.operators._watcher.state import (
    PRODUCER_FINAL_STATES,
    DbtTestStatus,
    get_status_xcom_key,
    is_dbt_node_status_success,
    is_dbt_node_status_terminal,
)
from cosmos.operators._watcher.triggerer import WatcherTrigger

TRIGGER = f"{__name__}.ModelStatusTrigger"

# (dag_id, run_id, producer) → (monotonic time read, producer state): the triggers of one run share one read of
# the producer's state per interval (they all run in the triggerer's one event loop)
_PRODUCER_STATES: dict[tuple[str, str, str], tuple[float, str | None]] = {}


class ModelStatusTrigger(WatcherTrigger):
    """`WatcherTrigger` for a task that starts in the triggerer: its run (dag, run id, map index, try) is the task
    instance the triggerer hands it, not an argument fixed when the DAG was parsed; it reports once the
    producer's build has ended."""

    def __init__(self, model_unique_id: str, producer_task_id: str, poke_interval: float = 2.0,
                 is_test_sensor: bool = False, **_: Any) -> None:
        super().__init__(model_unique_id=model_unique_id, producer_task_id=producer_task_id, dag_id="",
                         run_id="", map_index=-1, poke_interval=poke_interval, is_test_sensor=is_test_sensor)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return TRIGGER, {"model_unique_id": self.model_unique_id, "producer_task_id": self.producer_task_id,
                         "poke_interval": self.poke_interval, "is_test_sensor": self.is_test_sensor}

    async def _log_startup_events(self) -> None:
        """Cosmos' trigger first polls for dbt's version lines (to log them once per task): they are in the
        producer's log, and the polling doubled each task's requests to the API server while dbt builds."""

    async def _producer_state(self) -> str | None:
        key = (self.dag_id, self.run_id, self.producer_task_id)
        read_at, state = _PRODUCER_STATES.get(key, (float("-inf"), None))
        if time.monotonic() - read_at >= self.poke_interval:
            state = await self._get_producer_task_status()
            now = time.monotonic()
            for old in [k for k, (at, _) in _PRODUCER_STATES.items() if now - at > 3600]:
                del _PRODUCER_STATES[old]
            _PRODUCER_STATES[key] = (now, state)
        return state

    async def _build_ended(self) -> None:
        """Wait until the producer is done (succeeded, failed or skipped: its retry never builds again)."""
        while (state := await self._producer_state()) not in PRODUCER_FINAL_STATES and state is not None:
            await asyncio.sleep(self.poke_interval)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        ti = self.task_instance
        self.dag_id, self.run_id, self.map_index = ti.dag_id, ti.run_id, ti.map_index
        if ti.try_number > 1:
            # a retry or a cleared task: the worker's execute runs the model itself (Cosmos' fallback)
            yield TriggerEvent({"status": "retry"})
            return
        await self._build_ended()
        # the common case in one read (a status, not Cosmos' four: producer state, status, SQL, events)
        if self.is_test_sensor:
            status = await self.get_xcom_val(get_tests_status_xcom_key(self.model_unique_id))
        else:
            status = await self._get_node_status()
        if is_dbt_node_status_success(status):
            yield TaskSuccessEvent()
            return
        async for event in super().run():
            if isinstance(event.payload, dict) and event.payload.get("status") == EventStatus.SUCCESS:
                yield TaskSuccessEvent()
            else:
                yield event  # failed, skipped, producer failed: the worker decides, as Cosmos does
            return


def not_built(status: Any, tests_status: Any) -> str | None:
    """Why a model counts as not built for the models below it (None when it built and its tests passed);
    `tests_status` None: its tests do not count (a model's own tests task reports them, it is not below them)."""
    status = status.get("status") if isinstance(status, dict) else status
    if is_dbt_node_status_terminal(status) and not is_dbt_node_status_success(status):
        return f"dbt reported it {status}"
    if tests_status == DbtTestStatus.FAIL:
        return "its tests failed"
    return None


def skip_below_unbuilt(sensor: Any, parents: Iterable[str]) -> None:
    """Before each of `sensor`'s pokes: when dbt did not build its model (the model's status is there and not a
    success), skip it if a model it is built from (`parents`) was not built or failed its tests — dbt skipped
    this one, and Cosmos (which reports it "failed") would let its retry build it from stale parents. A tests
    task's parent is its own model: skipped when that model was not built, never for its own tests' result (it
    reports it). A model dbt built is never skipped (a test of several models may fail after it was built)."""
    parents = tuple(parents)
    poke: Callable[[Any], bool] = sensor.poke

    def status_of(ti: Any, uid: str) -> Any:
        value = ti.xcom_pull(task_ids=sensor.producer_task_id, key=get_status_xcom_key(uid))
        return value.get("status") if isinstance(value, dict) else value

    def poke_unless_a_parent_was_not_built(context: Any) -> bool:
        ti = context["ti"]
        own = status_of(ti, sensor.model_unique_id)
        if is_dbt_node_status_terminal(own) and not is_dbt_node_status_success(own):
            for uid in parents:
                mine = sensor.is_test_sensor and uid == sensor.model_unique_id  # a tests task: its model only
                why = not_built(own if mine else status_of(ti, uid),
                                None if mine else ti.xcom_pull(task_ids=sensor.producer_task_id,
                                                               key=get_tests_status_xcom_key(uid)))
                if why:
                    raise AirflowSkipException(
                        f"{sensor.model_unique_id} was not built by dbt: upstream {uid} — {why}")
        return poke(context)

    sensor.poke = poke_unless_a_parent_was_not_built


def start_in_triggerer(consumer: Any, poke_interval: float, parents: Iterable[str] = ()) -> None:
    """Make one Cosmos consumer task (a `<model>.run` or `<model>.test` sensor) start in the triggerer.

    Its `execute` stays Cosmos' own and runs only when the trigger hands the task back (and in `dag.test()`):
    in reschedule mode, so a sensor that finds the producer not done yet gives its slot back instead of
    waiting in the triggerer for a build that `dag.test()` (one task at a time) has not started. `parents`:
    the models it is built from (see `skip_below_unbuilt`)."""
    consumer.start_from_trigger = True
    consumer.start_trigger_args = StartTriggerArgs(
        trigger_cls=TRIGGER,
        trigger_kwargs={"model_unique_id": consumer.model_unique_id, "producer_task_id": consumer.producer_task_id,
                        "poke_interval": poke_interval, "is_test_sensor": consumer.is_test_sensor},
        next_method="execute", next_kwargs=None, timeout=None)
    consumer.deferrable = False
    consumer.mode = "reschedule"
    skip_below_unbuilt(consumer, parents)
