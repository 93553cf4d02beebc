"""The one job model of scans and signatures: watchers see every change and the end; the table
forgets only finished jobs."""

from __future__ import annotations

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
