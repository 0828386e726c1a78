"""The model tasks of a dbt_warehouse run wait in the triggerer's one event loop: they share one read of the
producer's state per poke interval and one read of the build's statuses (tracker_airflow.dbt_watch), instead of
two or more API requests each, made one after the other through the triggerer's one sync thread."""

from __future__ import annotations

import asyncio

import pytest


@pytest.fixture()
def dbt_watch():
    import airflow  # noqa: F401 - puts plugins/ on sys.path
    from tracker_airflow import dbt_watch

    return dbt_watch


def test_the_tasks_of_a_run_share_one_read(dbt_watch):
    reads = []

    async def read():
        reads.append(1)
        await asyncio.sleep(0.05)  # an API request: every task asks while it is under way
        return {"model__tracker__fct_runs_status": {"status": "success"}}

    async def tasks_of_a_run(n):
        cache = {}
        return await asyncio.gather(*(dbt_watch.shared_read(cache, ("dbt_warehouse", "run1", "p"), read)
                                      for _ in range(n)))

    got = asyncio.run(tasks_of_a_run(45))
    assert len(reads) == 1 and all(g == got[0] for g in got) and got[0]["model__tracker__fct_runs_status"]


def test_a_state_is_read_again_after_max_age_and_runs_do_not_share(dbt_watch):
    reads = []

    async def read():
        reads.append(1)
        return len(reads)

    async def poll():
        cache = {}
        first = await dbt_watch.shared_read(cache, "run1", read, max_age=0.05)
        same = await dbt_watch.shared_read(cache, "run1", read, max_age=0.05)
        other = await dbt_watch.shared_read(cache, "run2", read, max_age=0.05)
        await asyncio.sleep(0.06)
        later = await dbt_watch.shared_read(cache, "run1", read, max_age=0.05)
        return first, same, other, later

    assert asyncio.run(poll()) == (1, 1, 2, 3)


def test_a_failed_read_fails_every_task_that_shared_it(dbt_watch):
    async def read():
        await asyncio.sleep(0.01)
        raise ConnectionError("API server went away")

    async def tasks_of_a_run():
        cache = {}
        return await asyncio.gather(*(dbt_watch.shared_read(cache, "run1", read) for _ in range(3)),
                                    return_exceptions=True)

    got = asyncio.run(tasks_of_a_run())
    assert all(isinstance(g, ConnectionError) for g in got)


def test_a_cached_read_of_a_closed_event_loop_is_read_again(dbt_watch):
    cache, reads = {}, []

    async def read():
        reads.append(1)
        return len(reads)

    assert asyncio.run(dbt_watch.shared_read(cache, "run1", read)) == 1
    assert asyncio.run(dbt_watch.shared_read(cache, "run1", read)) == 2  # a new loop: not the old future
