"""dbt_warehouse's model tasks without a worker process when their model built, and without a DAG parse each.

In Cosmos' watcher mode one `dbt build` (the producer) publishes each model's status, and its tests' verdict, to
XCom, and every model has a task that reports it: here a model's task reports that dbt built the model *and* that
its tests passed (one task per model, as `dbt build` sees a model; a task per model's tests doubled the tasks
and the triggerer's work, below). Started on a worker, each of those tasks is a process that parses the DAG file
to read one XCom value: under the real scheduler that cost more than the build itself. Here they start *in the
triggerer* (Airflow's `start_from_trigger`) together with the build, and `ModelStatusTrigger` waits there until
the build has ended, then reads the model's status and its tests' verdict and, when both are good, ends the task
as a success on the spot.

When the build ends the producer publishes every model's status and tests' verdict in one XCom
(`publish_build_statuses`), and the model tasks of a run read it once between them: per model, Cosmos' trigger
reads two or more XComs, one API request each, through one thread of the triggerer — 90 requests after each
build, most of the seconds between its end and the last model task's.
Why wait for the end of the build: Airflow queues a callback for every task the triggerer ends, and the DAG
processor parses the DAG file to run it (even with no callback defined). Ending the tasks while dbt builds kept
one of two cores parsing for the whole build; ending them together after it costs a parse or two. The
producer's log shows each model as dbt builds it; the model tasks show the outcome when the build is done.
Why one task per model: the triggerer deserializes the whole DAG twice for every task it starts (Airflow 3.3),
so its work grows with tasks × DAG size; with a task per model's tests as well it was the largest CPU cost
beside dbt's own (bench/bench_dbt_scheduler.py prints it).

Everything else — a failed or skipped model, failed tests, a failed producer, a retry (which must build the
model itself) — resumes the task on a worker at Cosmos' own `execute`, which reads the same status and fails,
skips or runs the model as Cosmos does (and the failure notifier runs there). Before that, `report_on_worker`
skips the task of a model whose upstream model dbt did not build or whose tests failed (dbt skipped it, and
Cosmos, which reports such a model "failed" so that its retry runs it, would rebuild it from stale parents),
and fails the task of a model dbt built whose tests failed. A retry runs `dbt build --select <model>`: the model
and every test of it, so it succeeds only when the model builds and its tests pass.
`dag.test()` ignores `start_from_trigger` and runs `execute` as it always did (the same rules apply).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from airflow.sdk.exceptions import AirflowException, AirflowSkipException
from airflow.triggers.base import StartTriggerArgs, TaskSuccessEvent, TriggerEvent
from cosmos.constants import PRODUCER_WATCHER_TASK_ID
from cosmos.operators._watcher.aggregation import get_tests_status_xcom_key
from cosmos.operators._watcher.state import (
    PRODUCER_FINAL_STATES,
    DbtTestStatus,
    get_status_xcom_key,
    is_dbt_node_status_success,
    is_dbt_node_status_terminal,
    safe_xcom_push,
)
from cosmos.operators._watcher.triggerer import WatcherTrigger

TRIGGER = f"{__name__}.ModelStatusTrigger"

# (dag_id, run_id, producer) → (monotonic time asked, the read): the triggers of one run share one read of the
# producer's state per interval, and one of the build's statuses (they all run in the triggerer's event loop)
_PRODUCER_STATES: dict[tuple[str, str, str], tuple[float, asyncio.Future]] = {}
_BUILD_STATUSES: dict[tuple[str, str, str], tuple[float, asyncio.Future]] = {}
# the producer's XCom with every model's status and tests' verdict, pushed once when its build has ended
BUILD_STATUSES_KEY = "tracker_build_statuses"


def _forget_old(cache: dict, now: float, age: float = 3600) -> None:
    for old in [k for k, (at, _) in cache.items() if now - at > age]:
        del cache[old]


async def shared_read(cache: dict, key: Any, read: Callable[[], Any], max_age: float = float("inf")) -> Any:
    """One `read()` per key (and per `max_age` seconds) for all the triggers of the triggerer's event loop that
    ask: the first to ask reads, the others await the same read (and its exception, if it fails)."""
    now = time.monotonic()
    entry = cache.get(key)
    if entry is None or now - entry[0] >= max_age or entry[1].get_loop() is not asyncio.get_running_loop():
        _forget_old(cache, now)
        entry = cache[key] = (now, asyncio.ensure_future(read()))
    return await asyncio.shield(entry[1])


class ModelStatusTrigger(WatcherTrigger):
    """`WatcherTrigger` for a task that starts in the triggerer: its run (dag, run id, map index, try) is the task
    instance the triggerer hands it, not an argument fixed when the DAG was parsed; it reports once the
    producer's build has ended."""

    def __init__(self, model_unique_id: str, producer_task_id: str, poke_interval: float = 2.0,
                 has_tests: bool = False, **_: Any) -> None:
        super().__init__(model_unique_id=model_unique_id, producer_task_id=producer_task_id, dag_id="",
                         run_id="", map_index=-1, poke_interval=poke_interval, is_test_sensor=False)
        self.has_tests = has_tests

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return TRIGGER, {"model_unique_id": self.model_unique_id, "producer_task_id": self.producer_task_id,
                         "poke_interval": self.poke_interval, "has_tests": self.has_tests}

    async def _log_startup_events(self) -> None:
        """Cosmos' trigger first polls for dbt's version lines (to log them once per task): they are in the
        producer's log, and the polling doubled each task's requests to the API server while dbt builds."""

    async def _producer_state(self) -> str | None:
        return await shared_read(_PRODUCER_STATES, (self.dag_id, self.run_id, self.producer_task_id),
                                 self._get_producer_task_status, max_age=self.poke_interval)

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
        # the common case from the build's statuses, one read for the run's model tasks (not Cosmos' four reads
        # per task: producer state, status, SQL, events); without them (the producer was killed), two reads
        try:
            statuses = await shared_read(_BUILD_STATUSES, (self.dag_id, self.run_id, self.producer_task_id),
                                         lambda: self.get_xcom_val(BUILD_STATUSES_KEY))
        except Exception:  # noqa: BLE001 - the shared read failed: this task reads its own XComs
            statuses = None
        tests_key = get_tests_status_xcom_key(self.model_unique_id)
        if isinstance(statuses, dict):
            own = statuses.get(get_status_xcom_key(self.model_unique_id))
            status, tests = (own.get("status") if isinstance(own, dict) else own), statuses.get(tests_key)
        else:
            status = await self._get_node_status()
            tests = await self.get_xcom_val(tests_key) if self.has_tests and is_dbt_node_status_success(status) \
                else None
        if is_dbt_node_status_success(status):
            if not self.has_tests or tests == DbtTestStatus.PASS:
                yield TaskSuccessEvent()
            else:  # built, its tests failed or did not all report: the worker fails the task or runs them
                yield TriggerEvent({"status": "tests", "reason": "tests_not_passed"})
            return
        async for event in super().run():
            yield event  # failed, skipped, producer failed: the worker decides, as Cosmos does
            return


def not_built(status: Any, tests_status: Any) -> str | None:
    """Why a model counts as not built for the models below it (None when it built and its tests did not fail:
    dbt skips the models below a failed test)."""
    status = status.get("status") if isinstance(status, dict) else status
    if is_dbt_node_status_terminal(status) and not is_dbt_node_status_success(status):
        return f"dbt reported it {status}"
    if tests_status == DbtTestStatus.FAIL:
        return "its tests failed"
    return None


def report_on_worker(sensor: Any, parents: Iterable[str], has_tests: bool, partners: Iterable[str] = ()) -> None:
    """Before each of `sensor`'s pokes (a model's task on a worker, and in `dag.test()`):
    - when dbt did not build its model (the model's status is there and not a success), skip it if a model it is
      built from (`parents`) was not built or failed its tests — dbt skipped this one, and Cosmos (which reports
      it "failed") would let its retry build it from stale parents;
    - when dbt built it and it `has_tests`, fail it if its tests failed (naming the model: the producer's log
      names the tests), or build and test it here if the build ended before all its tests reported, or if a
      model it shares a test with (`partners`, e.g. a relationships test) was not built: dbt skipped that test,
      and Cosmos' verdict counts a skipped test as failed.
    A retry (try 2+) whose model's tests did not pass waits for the producer to end, then goes to Cosmos' poke,
    which runs `dbt build --select <model>` (`start_in_triggerer`): Cosmos alone would pass it on the status.
    """
    parents, partners = tuple(parents), tuple(partners)

    def poke_reporting_the_model_and_its_tests(context: Any) -> bool:
        # the task Airflow runs is its copy of `sensor` (templates rendered), in the context: act on that one
        ti, task = context["ti"], context["task"]

        def pulled(key: str) -> Any:
            return ti.xcom_pull(task_ids=task.producer_task_id, key=key)

        def status_of(uid: str) -> Any:
            value = pulled(get_status_xcom_key(uid))
            return value.get("status") if isinstance(value, dict) else value

        def poke(context: Any) -> bool:  # Cosmos' own
            return type(task).poke(task, context)

        own = status_of(task.model_unique_id)
        if is_dbt_node_status_terminal(own) and not is_dbt_node_status_success(own):
            for uid in parents:
                if why := not_built(status_of(uid), pulled(get_tests_status_xcom_key(uid))):
                    raise AirflowSkipException(
                        f"{task.model_unique_id} was not built by dbt: upstream {uid} — {why}")
        elif is_dbt_node_status_success(own) and has_tests:
            tests = pulled(get_tests_status_xcom_key(task.model_unique_id))
            if tests != DbtTestStatus.PASS:
                if task._get_producer_task_status(context) not in PRODUCER_FINAL_STATES:
                    return False  # the build (or the producer's retry, which skips) goes on: look again later
                if ti.try_number > 1:
                    return poke(context)  # Cosmos' retry: `dbt build` of the model, its tests with it
                unbuilt = [uid for uid in partners if not_built(status_of(uid), None)]
                if tests == DbtTestStatus.FAIL and not unbuilt:
                    raise AirflowException(f"{task.model_unique_id} was built, but its tests failed (the FAIL "
                                           f"lines in {task.producer_task_id}'s log name them)")
                # its tests did not all report (the build ended first), or some were skipped (shared with a
                # model dbt did not build; Cosmos counts them failed): build and test the model here
                task.log.info("Testing %s here: %s", task.model_unique_id,
                              f"tests shared with {', '.join(unbuilt)} (not built) were skipped by dbt" if unbuilt
                              else "the build ended before all its tests reported")
                return task._fallback_to_non_watcher_run(ti.try_number, context)
        return poke(context)

    sensor.poke = poke_reporting_the_model_and_its_tests


def start_in_triggerer(consumer: Any, poke_interval: float, parents: Iterable[str] = (),
                       has_tests: bool = False, partners: Iterable[str] = (), shared_tests: Iterable[str] = ()) -> None:
    """Make one Cosmos model task (a `<model>_run` sensor) start in the triggerer, and report its model's tests.

    Its `execute` stays Cosmos' own and runs only when the trigger hands the task back (and in `dag.test()`):
    in reschedule mode, so a sensor that finds the producer not done yet gives its slot back instead of
    waiting in the triggerer for a build that `dag.test()` (one task at a time) has not started. `parents`:
    the models it is built from; `has_tests`: whether dbt has tests of the model; `partners`: the models it
    shares a test with (see `report_on_worker`).
    Its retry runs `dbt build` of the model (Cosmos' fallback would `dbt run` it, and pass without its tests),
    with its tests: those of it alone (dbt's indirect selection) and `shared_tests`, the names of the tests of
    several models it owns (`tests_by_owner`), selected by name (the stack's `cautious` selection leaves them out,
    `eager` would add those of other models, on tables this run did not build)."""
    consumer.start_from_trigger = True
    consumer.start_trigger_args = StartTriggerArgs(
        trigger_cls=TRIGGER,
        trigger_kwargs={"model_unique_id": consumer.model_unique_id, "producer_task_id": consumer.producer_task_id,
                        "poke_interval": poke_interval, "has_tests": has_tests},
        next_method="execute", next_kwargs=None, timeout=None)
    consumer.deferrable = False
    consumer.mode = "reschedule"
    consumer.base_cmd = ["build"]
    if shared := sorted(shared_tests):  # with the model: dbt takes the union of the --select flags
        model = consumer.model_unique_id.rpartition(".")[2]
        consumer.dbt_cmd_flags = [*(consumer.dbt_cmd_flags or []), "--select", " ".join([model, *shared])]
    report_on_worker(consumer, parents, has_tests, partners)


def tests_by_owner(tests_per_model: dict[str, list[str]], depends_on: dict[str, list[str]],
                   attached: dict[str, str | None]) -> dict[str, list[str]]:
    """Each test of several models counted for one of them, not for each (Cosmos): the model it is defined on
    (`attached`: dbt's attached_node, e.g. fct_daily_summary for its relationships test to dim_person), else the
    one below all the others (a singular test of a model and its parents), else each of them. A model's task then
    fails only for its own tests, and a model above one that dbt did not build is not failed for the tests that
    dbt skipped. `depends_on`: each node's parents."""
    def ancestors(uid: str, seen: set[str]) -> set[str]:
        for parent in depends_on.get(uid, ()):
            if parent not in seen:
                seen.add(parent)
                ancestors(parent, seen)
        return seen

    above = {uid: ancestors(uid, set()) for uid in tests_per_model}
    models_of: dict[str, set[str]] = {}
    for uid, tests in tests_per_model.items():
        for test in tests:
            models_of.setdefault(test, set()).add(uid)
    owned: dict[str, list[str]] = {uid: [] for uid in tests_per_model}
    for test, models in models_of.items():
        if attached.get(test) in models:
            owners = [attached[test]]
        else:
            owners = [uid for uid in models if models - {uid} <= above[uid]] or sorted(models)
        for uid in owners:
            owned[uid].append(test)
    return {uid: tests for uid, tests in owned.items() if tests}


def publish_build_statuses(producer: Any) -> None:
    """When the producer's build has ended (built, failed or stopped), push every model's status and tests'
    verdict as one XCom (`BUILD_STATUSES_KEY`), before the producer's state is final — the model tasks read it
    once they see that state. From what Cosmos pushed during the build (its backup buffer of the producer's
    XComs, kept for its retry; pushed like them, so a retry of the producer restores it too)."""
    def execute_then_publish(context: Any, **kwargs: Any) -> Any:
        # the task Airflow runs is its copy of `producer` (templates rendered), in the context: run that one
        task = context["task"]
        try:
            return type(task).execute(task, context, **kwargs)
        finally:
            ti = context["ti"]
            pushed = getattr(ti, "_cosmos_xcom_backup_buffer", None)
            if pushed is not None:  # None: a retry, which Cosmos skips (it restores the first try's XComs)
                try:
                    safe_xcom_push(task_instance=ti, key=BUILD_STATUSES_KEY,
                                   value={k: v for k, v in pushed.items()
                                          if k.startswith("model__") and k.endswith("_status")})
                except Exception:  # noqa: BLE001 - never hide the build's own error; the tasks read each XCom
                    task.log.exception("The build's statuses were not published in one XCom")

    producer.execute = execute_then_publish


def build_with_tests(producer: Any) -> None:
    """Cosmos renders no test tasks with TestBehavior.NONE and then leaves the tests out of the producer's build
    (`--resource-type` flags); here the build keeps them: the model tasks report their verdict."""
    flags, kept = list(producer.dbt_cmd_flags or []), []
    while flags:
        flag = flags.pop(0)
        if flag == "--resource-type":
            flags.pop(0)
        else:
            kept.append(flag)
    producer.dbt_cmd_flags = kept


def report_each_model(dag: Any, manifest: dict[str, Any], poke_interval: float) -> None:
    """Rewire a watcher-mode DbtDag's model tasks (`manifest`: the one it was rendered from): every model task
    starts with the build in the triggerer and reports its model and its tests (`start_in_triggerer`); none waits
    for another (dbt orders the models; a chain would start each only after its upstream task ended, level by
    level after the build); the producer's build keeps the tests, and each test of several models counts for one
    of them (`tests_by_owner`)."""
    producer = dag.task_dict[PRODUCER_WATCHER_TASK_ID]
    build_with_tests(producer)
    publish_build_statuses(producer)
    consumers = [t for t in dag.tasks if hasattr(t, "producer_task_id")]
    consumer_ids = {c.task_id for c in consumers}
    parents = {c.task_id: sorted({dag.task_dict[u].model_unique_id for u in c.upstream_task_ids & consumer_ids})
               for c in consumers}
    for consumer in consumers:
        for upstream in consumer.upstream_task_ids & consumer_ids:
            consumer.upstream_task_ids.discard(upstream)
            dag.task_dict[upstream].downstream_task_ids.discard(consumer.task_id)
    nodes = dag.dbt_graph.nodes
    attached = {uid: node.get("attached_node") for uid, node in manifest["nodes"].items() if uid.startswith("test.")}
    producer.tests_per_model = tests_by_owner(producer.tests_per_model,
                                              {uid: node.depends_on for uid, node in nodes.items()}, attached)
    tests_of = {uid: set(tests) for uid, tests in producer.tests_per_model.items()}
    for consumer in consumers:
        mine = tests_of.get(consumer.model_unique_id, set())
        start_in_triggerer(consumer, poke_interval=poke_interval, parents=parents[consumer.task_id],
                           has_tests=bool(mine),
                           partners=sorted(uid for uid, tests in tests_of.items()
                                           if uid != consumer.model_unique_id and tests & mine),
                           shared_tests=[test.split(".")[2] for test in mine
                                         if test in nodes and len(nodes[test].depends_on) > 1])
        producer >> consumer
        consumer.trigger_rule = "always"
