"""The outbox under many callers: leaders and followers never lose, repeat or reorder a seq,
and nobody is answered before the fsync that makes its event durable."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
import threading
import time
from collections import deque
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_agent.errors import OutboxClosed, OutboxError
from edge_agent.outbox import Outbox
from protos import events_pb2
from tests.agent.test_outbox import vitals_event

FULL = 2  # PRAGMA synchronous: FULL fsyncs the WAL at every commit


class WatchedOutbox(Outbox):
    """Records every append commit: its thread and synchronous level, and, once COMMIT has
    returned (the fsync), the highest seq it made durable. ``pause_s`` before the COMMIT
    widens the window in which a caller answered too early would be seen."""

    def __init__(self, path: Path, pause_s: float = 0.0, **kw: Any) -> None:
        kw.setdefault("limit_bytes", 1 << 30)
        kw.setdefault("hard_limit_bytes", 1 << 31)
        super().__init__(path, **kw)
        self.pause_s = pause_s
        self.durable_seq = 0
        self.commit_threads: list[int] = []
        self.delete_threads: list[int] = []
        self.sync_levels: list[int] = []
        self.fail_next_commit = False
        self.in_commit = threading.Event()
        self.hold: threading.Event | None = None  # when set: commits wait for it

    def _commit(self, conn: sqlite3.Connection) -> None:
        top = int(conn.execute("SELECT COALESCE(MAX(seq), 0) FROM outbox").fetchone()[0])
        self.sync_levels.append(int(conn.execute("PRAGMA synchronous").fetchone()[0]))
        self.commit_threads.append(threading.get_ident())
        self.in_commit.set()
        if self.hold is not None:
            assert self.hold.wait(30)
        if self.pause_s:
            time.sleep(self.pause_s)
        if self.fail_next_commit:
            self.fail_next_commit = False
            raise RuntimeError("a bug in the leader")
        super()._commit(conn)
        self.durable_seq = max(self.durable_seq, top)

    def _delete_once(self, deletes: Any) -> tuple[list[int], int]:
        self.delete_threads.append(threading.get_ident())
        return super()._delete_once(deletes)


class Run:
    """What the callers of one run were answered, checked as they are answered."""

    def __init__(self, box: WatchedOutbox) -> None:
        self.box = box
        self.lock = threading.Lock()
        self.by_caller: dict[int, list[tuple[str, int]]] = {}
        self.early: list[int] = []  # seqs answered before their commit had returned
        self.to_delete: deque[str] = deque()

    def answered(self, caller: int, event_id: str, seq: int) -> None:
        durable = self.box.durable_seq
        with self.lock:
            if seq > durable:
                self.early.append(seq)
            self.by_caller.setdefault(caller, []).append((event_id, seq))
            if seq % 2:
                self.to_delete.append(event_id)


def _append_caller(run: Run, caller: int, how: str, n: int) -> None:
    box = run.box
    if how == "append":
        for _ in range(n):
            run.answered(caller, *box.append(vitals_event()))
    elif how == "submit":  # futures answered in the writer thread; waited in order
        futures = [box.submit(vitals_event()) for _ in range(n)]
        for future in futures:
            run.answered(caller, *future.result())
    else:

        async def one_by_one() -> None:
            for _ in range(n):
                run.answered(caller, *(await box.append_async(vitals_event())))

        asyncio.run(one_by_one())


def _deleter(run: Run, k: int, appenders_done: threading.Event, asked: list[str]) -> list[int]:
    counts: list[int] = []
    later: list[Future[int]] = []
    turn = 0
    while True:
        with run.lock:
            ids = [run.to_delete.popleft() for _ in range(min(5, len(run.to_delete)))]
        if not ids:
            if appenders_done.is_set() and not run.to_delete:
                break
            time.sleep(0.001)
            continue
        asked.extend(ids)
        turn += 1
        if (turn + k) % 2:
            counts.append(run.box.delete(ids))
        else:
            later.append(run.box.delete_later(ids))
    return counts + [f.result() for f in later]


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    callers=st.lists(st.sampled_from(["append", "submit", "async"]), min_size=1, max_size=10),
    per_caller=st.integers(1, 15),
    deleters=st.integers(0, 2),
    group_commit_max=st.sampled_from([1, 3, 256]),
    gather_max_s=st.sampled_from([0.0, 0.002]),
    pause_s=st.sampled_from([0.0, 0.0005]),
)
def test_many_callers_and_deleters_never_lose_repeat_or_reorder_and_wait_for_the_fsync(
    tmp_path_factory: pytest.TempPathFactory,
    callers: list[str],
    per_caller: int,
    deleters: int,
    group_commit_max: int,
    gather_max_s: float,
    pause_s: float,
) -> None:
    path = tmp_path_factory.mktemp("outbox") / "o.db"
    box = WatchedOutbox(
        path, pause_s=pause_s, group_commit_max=group_commit_max, gather_max_s=gather_max_s
    ).open()
    run = Run(box)
    done = threading.Event()
    asked: list[list[str]] = [[] for _ in range(deleters)]
    deleted: list[list[int]] = [[] for _ in range(deleters)]

    def deleter(k: int) -> None:
        deleted[k] = _deleter(run, k, done, asked[k])

    appenders = [
        threading.Thread(target=_append_caller, args=(run, i, how, per_caller))
        for i, how in enumerate(callers)
    ]
    removers = [threading.Thread(target=deleter, args=(k,)) for k in range(deleters)]
    for t in appenders + removers:
        t.start()
    for t in appenders:
        t.join()
    done.set()
    for t in removers:
        t.join()

    total = len(callers) * per_caller
    answers = [a for mine in run.by_caller.values() for a in mine]
    assert sorted(seq for _, seq in answers) == list(range(1, total + 1))  # none lost or twice
    assert len({event_id for event_id, _ in answers}) == total
    for mine in run.by_caller.values():  # each caller's events keep its order
        seqs = [seq for _, seq in mine]
        assert seqs == sorted(seqs)
    assert run.early == [], "answered before the commit (fsync) had returned"
    assert box.sync_levels and set(box.sync_levels) == {FULL}
    gone = {event_id for mine in asked for event_id in mine}
    assert sum(n for mine in deleted for n in mine) == len(gone)  # each row deleted once
    box.close()

    box = WatchedOutbox(path).open()  # what a restart finds: the undeleted rows, in order
    expected = sorted((seq, event_id) for event_id, seq in answers if event_id not in gone)
    rows = box.pending(0, total + 1)
    assert [(seq, event_id) for seq, event_id, _ in rows] == expected
    for seq, event_id, body in rows:
        event = events_pb2.Event.FromString(body)
        assert (event.station_seq, event.event_id) == (seq, event_id)
    assert box.append(vitals_event())[1] == total + 1
    box.close()


def test_one_caller_alone_commits_in_its_own_thread(tmp_path: Path) -> None:
    """No hand-over to a writer thread: the caller leads its own commit."""
    box = WatchedOutbox(tmp_path / "o.db").open()
    seqs = [box.append(vitals_event())[1] for _ in range(5)]
    assert seqs == [1, 2, 3, 4, 5]
    assert box.commit_threads == [threading.get_ident()] * 5
    box.close()


def test_async_appends_and_delete_later_never_write_in_their_callers_thread(
    tmp_path: Path,
) -> None:
    """The event loop and the uplink's delete_later never hold the writer role (an fsync
    there would block the loop or the next publish)."""
    box = WatchedOutbox(tmp_path / "o.db", pause_s=0.001).open()

    async def many() -> tuple[int, list[tuple[str, int]]]:
        loop_thread = threading.get_ident()
        answers = await asyncio.gather(*(box.append_async(vitals_event()) for _ in range(20)))
        return loop_thread, list(answers)

    loop_thread, answers = asyncio.run(many())
    assert sorted(seq for _, seq in answers) == list(range(1, 21))
    assert box.commit_threads and loop_thread not in box.commit_threads
    future = box.delete_later([event_id for event_id, _ in answers])
    assert future.result() == 20
    assert box.delete_threads and threading.get_ident() not in box.delete_threads
    box.close()


def test_a_failed_leader_answers_its_whole_batch_and_passes_the_lead(tmp_path: Path) -> None:
    box = WatchedOutbox(tmp_path / "o.db").open()
    assert box.append(vitals_event())[1] == 1
    box.fail_next_commit = True
    gate = threading.Barrier(8)
    outcomes: list[object] = []

    def caller() -> None:
        gate.wait()
        try:
            outcomes.append(box.append(vitals_event())[1])
        except OutboxError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=caller) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert "outbox_write_failed" in outcomes  # the failed batch was told, nobody hangs
    seqs = sorted(o for o in outcomes if isinstance(o, int))
    assert seqs == list(range(2, 2 + len(seqs)))  # the rolled-back batch left no gap
    assert box.append(vitals_event())[1] == 2 + len(seqs)
    box.close()


def test_close_answers_what_was_queued_and_refuses_what_comes_after(tmp_path: Path) -> None:
    box = WatchedOutbox(tmp_path / "o.db", pause_s=0.002).open()
    futures = [box.submit(vitals_event()) for _ in range(30)]
    box.close()
    assert sorted(f.result()[1] for f in futures) == list(range(1, 31))
    with pytest.raises(OutboxClosed):
        box.append(vitals_event())
    with pytest.raises(OutboxClosed):
        box.submit(vitals_event())
    with pytest.raises(OutboxClosed):
        box.delete_later(["x"])
    box.close()  # twice is harmless


class _Interrupted(Exception):
    pass


def test_an_interrupted_follower_still_wakes_the_next_or_leads(tmp_path: Path) -> None:
    """Ctrl-C (a signal handler's exception) in a caller waiting for its answer: the caller
    first does its part (the others' wake-up, or the lead it may be handed), then raises;
    the outbox is not left without a leader."""
    box = WatchedOutbox(tmp_path / "o.db").open()
    box.hold = threading.Event()
    leader = threading.Thread(target=box.append, args=(vitals_event(),))
    leader.start()
    assert box.in_commit.wait(30)  # the other thread leads and holds its commit open
    main = threading.get_ident()

    def interrupt(_signum: int, _frame: object) -> None:
        assert box.hold is not None
        box.hold.set()
        raise _Interrupted

    def when_waiting() -> None:
        for _ in range(30_000):
            frame = sys._current_frames().get(main)
            if frame is not None and frame.f_code.co_name == "_enter":
                import linecache

                line = linecache.getline(frame.f_code.co_filename, frame.f_lineno)
                if "waiter.acquire()" in line:
                    signal.pthread_kill(main, signal.SIGUSR1)
                    return
            time.sleep(0.001)

    previous = signal.signal(signal.SIGUSR1, interrupt)
    try:
        watcher = threading.Thread(target=when_waiting)
        watcher.start()
        event = vitals_event()
        with pytest.raises(_Interrupted):
            box.append(event)  # a follower of the held commit, interrupted while it waits
        watcher.join()
    finally:
        signal.signal(signal.SIGUSR1, previous)
    leader.join()
    box.hold = None
    assert box.append(vitals_event())[1] == 3  # nothing wedged
    assert box.pending(1, 10)[0][1] == event.event_id  # written, with seq 2
    box.close()
