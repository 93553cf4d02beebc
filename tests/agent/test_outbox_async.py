"""``Outbox.append_async``: coroutines on event loops, answered per batch with one wake-up
of each loop, with every guarantee of the threaded callers (durable before answered, the
right answer or refusal to the right caller, cancellation, close, a closed loop)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_agent.errors import OutboxClosed, OutboxError, OutboxFull
from protos import events_pb2
from tests.agent.test_outbox import status_event, vitals_event
from tests.agent.test_outbox_concurrency import WatchedOutbox


class CountingLoop(asyncio.SelectorEventLoop):
    """Counts the wake-ups other threads ask of it (``call_soon_threadsafe``)."""

    wakes = 0

    def call_soon_threadsafe(self, callback: Any, *args: Any, context: Any = None) -> Any:
        self.wakes += 1
        return super().call_soon_threadsafe(callback, *args, context=context)


class FailingOutbox(WatchedOutbox):
    fail_commit = 0  # the append commit (counting from 1) that raises: a bug in the leader

    def _commit(self, conn: sqlite3.Connection) -> None:
        if len(self.commit_threads) + 1 == self.fail_commit:
            self.commit_threads.append(threading.get_ident())
            raise RuntimeError("a bug in the leader")
        super()._commit(conn)


def rows_in_file(path: Path) -> dict[str, int]:
    """event_id → seq, read from the SQLite file by a connection of its own."""
    conn = sqlite3.connect(path)
    try:
        return {str(e): int(s) for s, e in conn.execute("SELECT seq, event_id FROM outbox")}
    finally:
        conn.close()


def _loop_errors(loop: asyncio.AbstractEventLoop, errors: list[dict[str, Any]]) -> None:
    loop.set_exception_handler(lambda _loop, context: errors.append(context))


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    loops=st.integers(1, 2),
    coroutines=st.integers(1, 40),
    per_coroutine=st.integers(1, 6),
    pause_s=st.sampled_from([0.0, 0.0005]),
    group_commit_max=st.sampled_from([5, 256]),
)
def test_coroutines_on_one_or_two_loops_get_distinct_durable_seqs_one_wake_up_a_batch(
    tmp_path_factory: pytest.TempPathFactory,
    loops: int,
    coroutines: int,
    per_coroutine: int,
    pause_s: float,
    group_commit_max: int,
) -> None:
    path = tmp_path_factory.mktemp("outbox") / "o.db"
    box = WatchedOutbox(path, pause_s=pause_s, group_commit_max=group_commit_max).open()
    lock = threading.Lock()
    answers: list[tuple[str, int, int, int]] = []  # event_id, seq, loop, coroutine
    sent: dict[str, int] = {}  # event_id → loop
    early: list[int] = []
    errors: list[dict[str, Any]] = []
    wakes = [0] * loops

    def run_loop(which: int) -> None:
        loop = CountingLoop()
        _loop_errors(loop, errors)

        async def caller(k: int) -> None:
            for _ in range(per_coroutine):
                event = vitals_event()
                with lock:
                    sent[event.event_id] = which
                event_id, seq = await box.append_async(event)
                if seq > box.durable_seq:  # answered before the fsync that makes it durable
                    early.append(seq)
                assert event_id == event.event_id
                with lock:
                    answers.append((event_id, seq, which, k))

        async def main() -> None:
            await asyncio.gather(*(caller(k) for k in range(coroutines)))

        try:
            loop.run_until_complete(main())
        finally:
            wakes[which] = loop.wakes
            loop.close()

    threads = [threading.Thread(target=run_loop, args=(i,)) for i in range(loops)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    commits = box.commits
    box.close()

    total = loops * coroutines * per_coroutine
    assert errors == []
    assert early == []
    assert sorted(seq for _, seq, _, _ in answers) == list(range(1, total + 1))
    assert {event_id: seq for event_id, seq, _, _ in answers} == rows_in_file(path)
    for which in range(loops):
        for k in range(coroutines):  # each coroutine's events keep its order
            mine = [seq for _, seq, w, c in answers if (w, c) == (which, k)]
            assert mine == sorted(mine) and len(mine) == per_coroutine
    # One wake-up of a loop per transaction that answered some of its coroutines (at
    # most), not one per coroutine answered.
    for which in range(loops):
        assert wakes[which] <= commits
        assert wakes[which] <= sum(1 for w in sent.values() if w == which)


def test_a_cancelled_coroutine_loses_nothing_and_blocks_nobody(tmp_path: Path) -> None:
    """Cancelling a coroutine that awaits its append drops its answer only: its event is
    committed with its batch, the others are answered, the writer goes on."""
    box = WatchedOutbox(tmp_path / "o.db").open()
    box.hold = threading.Event()
    errors: list[dict[str, Any]] = []
    events = [vitals_event(60 + i) for i in range(12)]

    async def main() -> tuple[list[object], tuple[str, int]]:
        _loop_errors(asyncio.get_running_loop(), errors)
        first = asyncio.create_task(box.append_async(vitals_event()))
        assert await asyncio.to_thread(box.in_commit.wait, 30)  # the writer holds it open
        tasks = [asyncio.create_task(box.append_async(e)) for e in events]
        await asyncio.sleep(0)  # every task is queued behind the held commit
        for task in tasks[::3]:
            task.cancel()
        await asyncio.sleep(0)
        assert box.hold is not None
        box.hold.set()
        outcomes = await asyncio.wait_for(asyncio.gather(first, *tasks, return_exceptions=True), 30)
        return outcomes, await box.append_async(vitals_event())

    outcomes, after = asyncio.run(main())
    box.close()

    assert errors == []
    first, rest = outcomes[0], outcomes[1:]
    assert isinstance(first, tuple) and first[1] == 1
    for i, (event, outcome) in enumerate(zip(events, rest, strict=True)):
        if i % 3 == 0:
            assert isinstance(outcome, asyncio.CancelledError)
        else:
            assert outcome == (event.event_id, i + 2)
    assert after[1] == len(events) + 2
    rows = rows_in_file(tmp_path / "o.db")
    assert [rows[e.event_id] for e in events] == list(range(2, len(events) + 2))


def test_refusals_and_failures_reach_the_right_coroutines(tmp_path: Path) -> None:
    """In one batch, non-critical events are refused (OutboxFull: no disk to spare) and
    clinical ones committed, each coroutine told its own outcome; a failed transaction
    tells each of its coroutines, and the next batch goes on with no gap."""
    box = FailingOutbox(tmp_path / "o.db", min_free_disk_bytes=1 << 62).open()
    box.hold = threading.Event()
    events = [vitals_event(70 + i) if i % 2 else status_event() for i in range(10)]

    async def main() -> tuple[list[object], list[object]]:
        first = asyncio.create_task(box.append_async(vitals_event()))
        assert await asyncio.to_thread(box.in_commit.wait, 30)
        tasks = [asyncio.create_task(box.append_async(e)) for e in events]
        await asyncio.sleep(0)
        assert box.hold is not None
        box.hold.set()
        mixed = await asyncio.wait_for(asyncio.gather(first, *tasks, return_exceptions=True), 30)

        box.hold.clear()
        box.in_commit.clear()
        box.fail_commit = len(box.commit_threads) + 2  # the one after the held one
        first = asyncio.create_task(box.append_async(vitals_event()))
        assert await asyncio.to_thread(box.in_commit.wait, 30)
        tasks = [asyncio.create_task(box.append_async(vitals_event())) for _ in range(5)]
        await asyncio.sleep(0)
        box.hold.set()
        failed = await asyncio.wait_for(asyncio.gather(first, *tasks, return_exceptions=True), 30)
        return mixed, failed

    mixed, failed = asyncio.run(main())
    assert isinstance(mixed[0], tuple) and mixed[0][1] == 1
    seq = 2
    for event, outcome in zip(events, mixed[1:], strict=True):
        if event.WhichOneof("payload") == "device_status":
            assert isinstance(outcome, OutboxFull)
        else:
            assert outcome == (event.event_id, seq)
            seq += 1
    assert isinstance(failed[0], tuple) and failed[0][1] == seq
    assert all(isinstance(o, OutboxError) and o.code == "outbox_write_failed" for o in failed[1:])
    assert box.append(vitals_event())[1] == seq + 1  # the rolled-back batch left no gap
    box.close()
    assert sorted(rows_in_file(tmp_path / "o.db").values()) == list(range(1, seq + 2))


def test_close_answers_the_waiting_coroutines_then_refuses_them(tmp_path: Path) -> None:
    """close() while coroutines await: each is answered (its event durable) and its next
    append raises OutboxClosed; nobody is left waiting."""
    path = tmp_path / "o.db"
    box = WatchedOutbox(path).open()
    box.hold = threading.Event()

    async def caller(answered: list[tuple[str, int]]) -> str:
        try:
            while True:
                answered.append(await box.append_async(vitals_event()))
        except OutboxClosed:
            return "closed"

    async def main() -> tuple[tuple[str, int], list[str], list[list[tuple[str, int]]]]:
        first = asyncio.create_task(box.append_async(vitals_event()))
        assert await asyncio.to_thread(box.in_commit.wait, 30)
        answered: list[list[tuple[str, int]]] = [[] for _ in range(16)]
        tasks = [asyncio.create_task(caller(mine)) for mine in answered]
        await asyncio.sleep(0)
        closing = asyncio.create_task(asyncio.to_thread(box.close))
        while not box._closed:  # close() has begun: it refuses new requests
            await asyncio.sleep(0.001)
        assert box.hold is not None
        box.hold.set()
        outcomes = await asyncio.wait_for(asyncio.gather(*tasks), 30)
        await asyncio.wait_for(closing, 30)
        return await first, outcomes, answered

    first, outcomes, answered = asyncio.run(main())
    assert outcomes == ["closed"] * 16
    assert all(len(mine) == 1 for mine in answered)  # the queued one, then the refusal
    rows = rows_in_file(path)
    assert rows == {e: s for mine in [[first], *answered] for e, s in mine}
    assert sorted(rows.values()) == list(range(1, 18))


def test_a_closed_loop_does_not_break_the_writer_or_its_batch(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A loop closed while its coroutine waits: the batch's other callers (a thread, a
    future) are answered, its event is committed, and the writer leads on."""
    path = tmp_path / "o.db"
    box = WatchedOutbox(path).open()
    box.hold = threading.Event()
    lead = box.submit(vitals_event())
    assert box.in_commit.wait(30)

    loop = asyncio.new_event_loop()
    event = vitals_event()
    waiting = loop.create_task(box.append_async(event))
    loop.run_until_complete(asyncio.sleep(0))  # queued behind the held commit
    other = box.submit(vitals_event())
    threaded: list[tuple[str, int]] = []
    thread = threading.Thread(target=lambda: threaded.append(box.append(vitals_event())))
    thread.start()
    while len(box._queue) < 3:  # the thread's request is queued too
        threading.Event().wait(0.001)
    loop.close()
    waiting._log_destroy_pending = False  # type: ignore[attr-defined]  # it is, on purpose
    with caplog.at_level(logging.ERROR, logger="edge_agent.outbox"):
        box.hold.set()
        assert lead.result(30)[1] == 1
        assert other.result(30)[1] == 3
        thread.join(30)
        assert not thread.is_alive() and threaded[0][1] == 4
        assert box.append(vitals_event())[1] == 5
    assert "outbox leader failed" not in caplog.text
    assert not waiting.done()  # its loop closed: nobody answers it, and nothing breaks
    box.close()
    assert rows_in_file(path)[event.event_id] == 2


def test_submit_still_answers_concurrent_futures(tmp_path: Path) -> None:
    """``submit`` (a concurrent.futures.Future, for threads that must not block) beside
    coroutines on a loop, in the same batches."""
    box = WatchedOutbox(tmp_path / "o.db", pause_s=0.0005).open()

    async def main() -> list[tuple[str, int]]:
        return list(await asyncio.gather(*(box.append_async(vitals_event()) for _ in range(20))))

    futures = [box.submit(vitals_event()) for _ in range(10)]
    answers = asyncio.run(main()) + [f.result(30) for f in futures]
    box.close()
    assert sorted(s for _, s in answers) == list(range(1, 31))
    assert rows_in_file(tmp_path / "o.db") == dict(answers)


class GatherWatch(WatchedOutbox):
    """Notes how many requests each leader set out to gather (``_want``)."""

    def __init__(self, path: Path, **kw: Any) -> None:
        super().__init__(path, **kw)
        self.wants: list[int] = []

    def _take(self) -> Any:
        self.wants.append(self._want)
        return super()._take()


@pytest.mark.parametrize("how", ["coroutines", "threads"])
def test_a_leader_never_gathers_for_more_callers_than_there_are(tmp_path: Path, how: str) -> None:
    """32 callers, each with one append in flight at a time: the next leader waits for at
    most 32. (Counting the queue when the lead is passed, the callers just answered who had
    already queued again were counted twice, and the leader waited its whole gather_max_s
    for callers that did not exist.)"""
    box = GatherWatch(tmp_path / "o.db", pause_s=0.0002).open()
    callers, rounds = 32, 12
    if how == "coroutines":

        async def caller() -> None:
            for _ in range(rounds):
                await box.append_async(vitals_event())

        async def main() -> None:
            await asyncio.gather(*(caller() for _ in range(callers)))

        asyncio.run(main())
    else:
        threads = [
            threading.Thread(target=lambda: [box.append(vitals_event()) for _ in range(rounds)])
            for _ in range(callers)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    box.close()
    assert box.last_seq == callers * rounds
    assert box.wants and max(box.wants) <= callers


def test_duplicate_event_ids_in_a_batch_are_refused_alone(tmp_path: Path) -> None:
    """A batch is inserted in one executemany; an event id already in the table (or twice in
    the batch) sends it back row by row: the duplicates alone are refused, the others keep
    consecutive seqs and bodies that carry them."""
    path = tmp_path / "o.db"
    box = WatchedOutbox(path).open()
    existing = vitals_event(50)
    assert box.append(existing)[1] == 1
    box.hold = threading.Event()

    def copy(event: events_pb2.Event) -> events_pb2.Event:
        again = events_pb2.Event()
        again.CopyFrom(event)
        return again

    g1, g2, g3 = vitals_event(51), vitals_event(52), vitals_event(53)
    batch = [g1, copy(existing), g2, copy(g2), g3]

    async def main() -> tuple[object, list[object]]:
        first = asyncio.create_task(box.append_async(vitals_event()))
        assert await asyncio.to_thread(box.in_commit.wait, 30)
        tasks = [asyncio.create_task(box.append_async(e)) for e in batch]
        await asyncio.sleep(0)
        assert box.hold is not None
        box.hold.set()
        outcomes = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 30)
        return await first, outcomes

    first, outcomes = asyncio.run(main())
    assert isinstance(first, tuple) and first[1] == 2
    assert outcomes[0] == (g1.event_id, 3)
    assert outcomes[2] == (g2.event_id, 4)
    assert outcomes[4] == (g3.event_id, 5)
    for refused in (outcomes[1], outcomes[3]):
        assert isinstance(refused, OutboxError) and refused.code == "duplicate_event_id"
    assert batch[1].station_seq == 0 and batch[3].station_seq == 0
    assert box.append(vitals_event())[1] == 6
    rows = box.pending(0, 10)
    box.close()
    assert [(seq, event_id) for seq, event_id, _ in rows][:5] == [
        (1, existing.event_id),
        (2, first[0]),
        (3, g1.event_id),
        (4, g2.event_id),
        (5, g3.event_id),
    ]
    for seq, _, body in rows:  # each body carries its own seq
        assert events_pb2.Event.FromString(body).station_seq == seq
