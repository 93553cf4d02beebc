"""The one job model of scans and signatures: watchers see every change and the end; the table
forgets only finished jobs."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from dataclasses import dataclass, field

import pytest

from edge_agent.errors import InvalidInput
from edge_agent.jobs import JobTable, Progress


@dataclass
class _Job:
    job_id: str
    created: float = field(default_factory=time.time)
    state: str = "running"
    progress: Progress = field(default_factory=Progress)

    @property
    def finished(self) -> bool:
        return self.state == "done"

    def started_at(self) -> float:
        return self.created


def _missing(job_id: str) -> InvalidInput:
    return InvalidInput(f"no job {job_id}", code="unknown_job")


def test_a_watcher_sees_the_changes_and_stops_at_the_end() -> None:
    progress = Progress()
    seen: list[int] = []
    watcher = threading.Thread(target=lambda: seen.extend(progress.watch(timeout_s=10)))
    watcher.start()
    for _ in range(3):
        time.sleep(0.05)
        progress.changed()
    progress.changed(ended=True)
    watcher.join(5)
    assert not watcher.is_alive()
    assert seen and seen[-1] == 4 and seen == sorted(set(seen))  # in order, ending at the end
    assert progress.wait_end(0) is True


def test_waiting_for_a_change_times_out_without_one() -> None:
    progress = Progress()
    started = time.monotonic()
    assert progress.wait_change(0, 0.1) == 0
    assert time.monotonic() - started >= 0.1
    assert progress.wait_end(0.05) is False


def test_the_table_answers_an_unknown_id_with_the_capability_error() -> None:
    table: JobTable[_Job] = JobTable(_missing)
    with pytest.raises(InvalidInput) as refused:
        table.get("nope")
    assert refused.value.code == "unknown_job"


def test_the_table_keeps_every_running_job_beyond_its_size() -> None:
    table: JobTable[_Job] = JobTable(_missing, keep=2)
    jobs = [_Job(f"j{i}") for i in range(3)]
    for job in jobs:
        table.add(job)
    assert len(table) == 3  # the oldest still runs: nothing is forgotten
    jobs[0].state = "done"
    table.add(_Job("j3"))
    assert [j.job_id for j in table.values()] == ["j1", "j2", "j3"]


def test_finished_jobs_are_forgotten_after_their_time() -> None:
    table: JobTable[_Job] = JobTable(_missing, keep_finished_s=60)
    old_done = _Job("old", created=time.time() - 120, state="done")
    old_running = _Job("running", created=time.time() - 120)
    recent_done = _Job("recent", state="done")
    for job in (old_done, old_running, recent_done):
        table.add(job)
    assert table.prune() == ["old"]
    assert {j.job_id for j in table.values()} == {"running", "recent"}


def test_a_coroutine_is_woken_by_a_change_made_in_another_thread() -> None:
    progress = Progress()

    async def main() -> tuple[int, bool, bool]:
        threading.Timer(0.2, progress.changed).start()
        version = await progress.wait_change_async(0, 10)
        ended_early = await progress.wait_end_async(0.05)  # not ended: the timeout answers
        threading.Timer(0.1, lambda: progress.changed(ended=True)).start()
        ended = await progress.wait_end_async(10)
        return version, ended_early, ended

    assert asyncio.run(main()) == (1, False, True)
    assert progress._async_waiters == []  # nothing left registered


def test_an_async_wait_times_out_and_a_cancelled_one_leaves_no_waiter() -> None:
    progress = Progress()

    async def main() -> int:
        assert await progress.wait_change_async(0, 0.05) == 0  # nothing changed: as it is
        task = asyncio.ensure_future(progress.wait_end_async(30))
        await asyncio.sleep(0.05)
        assert len(progress._async_waiters) == 1
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return len(progress._async_waiters)

    assert asyncio.run(main()) == 0
    progress.changed(ended=True)  # no waiter, no loop: nothing to wake, no error


def test_waiters_on_two_event_loops_are_each_woken_on_their_own_loop() -> None:
    progress = Progress()
    woken: dict[str, int] = {}
    ready = threading.Barrier(3)

    def loop_thread(name: str) -> None:
        async def main() -> None:
            wait = asyncio.ensure_future(progress.wait_change_async(0, 10))
            await asyncio.sleep(0)
            ready.wait()
            woken[name] = await wait

        asyncio.run(main())

    threads = [threading.Thread(target=loop_thread, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    ready.wait()
    progress.changed()
    for t in threads:
        t.join(10)
    assert woken == {"a": 1, "b": 1}


def test_a_change_after_the_waiting_loop_closed_is_harmless() -> None:
    progress = Progress()

    async def main() -> None:
        task = asyncio.ensure_future(progress.wait_change_async(0, 30))
        await asyncio.sleep(0.01)
        task.cancel()  # asyncio.run cancels leftovers this way too

    loop = asyncio.new_event_loop()
    loop.run_until_complete(main())
    progress._async_waiters.append((loop, loop.create_future()))  # a waiter left behind
    loop.close()
    progress.changed(ended=True)  # its loop is closed: skipped, no RuntimeError
    assert progress.ended
