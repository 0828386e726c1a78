"""dbt_warehouse's model tasks without a worker process when their model built.

In Cosmos' watcher mode one `dbt build` (the producer) publishes each model's status to XCom and every model
(and every model's tests) has a task that reports it. Started on a worker, each of those ≈ 90 tasks is a process
that parses the DAG file to read one XCom value: under the real scheduler that cost more than the build
itself. Here they start *in the triggerer* (Airflow's `start_from_trigger`): the scheduler hands each task
straight to the triggerer when it becomes ready, `ModelStatusTrigger` polls the status there (Cosmos'
`WatcherTrigger`) and, when dbt built the model (or passed its tests), ends the task as a success on the spot.
Everything else — a failed or skipped model, a failed producer, a retry (which must run the model itself) —
resumes the task on a worker at Cosmos' own `execute`, which reads the same status and fails, skips or runs
the model exactly as before (and the failure notifier runs there). `dag.test()` ignores `start_from_trigger`
and runs `execute` as it always did.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import StartTriggerArgs, TaskSuccessEvent, TriggerEvent
from cosmos.listeners.dag_run_listener import EventStatus
from cosmos.operators._watcher.triggerer import WatcherTrigger

TRIGGER = f"{__name__}.ModelStatusTrigger"


class ModelStatusTrigger(WatcherTrigger):
    """`WatcherTrigger` for a task that starts in the triggerer: its run (dag, run id, map index, try) is the task
    instance the triggerer hands it, not an argument fixed when the DAG was parsed."""

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

    async def run(self) -> AsyncIterator[TriggerEvent]:
        ti = self.task_instance
        self.dag_id, self.run_id, self.map_index = ti.dag_id, ti.run_id, ti.map_index
        if ti.try_number > 1:
            # a retry or a cleared task: the worker's execute runs the model itself (Cosmos' fallback)
            yield TriggerEvent({"status": "retry"})
            return
        async for event in super().run():
            if isinstance(event.payload, dict) and event.payload.get("status") == EventStatus.SUCCESS:
                yield TaskSuccessEvent()
            else:
                yield event  # failed, skipped, producer failed: the worker decides, as Cosmos does
            return


def start_in_triggerer(consumer: Any, poke_interval: float) -> None:
    """Make one Cosmos consumer task (a `<model>.run` or `<model>.test` sensor) start in the triggerer.

    Its `execute` stays Cosmos' own and runs only when the trigger hands the task back (and in `dag.test()`):
    in reschedule mode, so a sensor that finds the producer not done yet gives its slot back instead of
    waiting in the triggerer for a build that `dag.test()` (one task at a time) has not started."""
    consumer.start_from_trigger = True
    consumer.start_trigger_args = StartTriggerArgs(
        trigger_cls=TRIGGER,
        trigger_kwargs={"model_unique_id": consumer.model_unique_id, "producer_task_id": consumer.producer_task_id,
                        "poke_interval": poke_interval, "is_test_sensor": consumer.is_test_sensor},
        next_method="execute", next_kwargs=None, timeout=None)
    consumer.deferrable = False
    consumer.mode = "reschedule"
