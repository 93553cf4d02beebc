"""The outbox: a bounded SQLite (WAL, fsync per commit) queue of events with group commit.

Group commit by leaders and followers (LevelDB's writer queue, MySQL's binlog group
commit). Callers queue their requests; when nobody holds the writer role, a caller
that can wait takes it (the *leader*), writes everything queued in one transaction,
commits once (one fsync), answers the others (*followers*: each waits on a lock of
its own, released once with its answer) and then passes the role to the front of the
queue, or puts it down when the queue is empty. One caller alone therefore commits in
its own thread with no hand-over at all, and 32 callers pay one wake-up each. A caller
that must not block (``submit``, ``append_async`` on the event loop, ``delete_later``)
never leads: the ``outbox-writer`` thread leads for it. An event is durable before its
caller gets ``(event_id, station_seq)``.

Coroutines (``append_async``: the agent's HTTP routes on uvicorn's loop) wait on an
``asyncio`` future of their own loop, not a thread's lock or a ``concurrent.futures``
future: the leader answers all of a batch's coroutines on one loop with ONE
``call_soon_threadsafe`` (one wake-up of that loop), which resolves their futures there,
after the commit listeners ran, like every answer. A coroutine cancelled while it awaits
drops its answer only (its event is committed with its batch); a loop closed before its
answer is skipped; neither disturbs the writer or the batch's other callers.

Group commit gathers: after a commit that answered *k* callers while *q* more
were queued, the next leader waits (at most ``gather_max_s``, 2 ms) for up to *k + q*
requests before its transaction, so the answered callers ride the next fsync instead of
the one after it; without it, 32 callers split into a caller alone (the last leader,
back first) and the 31 it answered, taking turns (PostgreSQL's ``commit_delay`` with
``commit_siblings``, sized by what was just seen). *q* is counted when the batch is
answered, not when the lead is passed: by then the answered callers may have queued
again (a loop's coroutines all do, in one pass), and counting them twice made the next
leader wait the whole ``gather_max_s`` for callers that did not exist. One caller alone
never waits, and callers that do not come back cost one wait: the next gathers fewer.
A batch's rows are inserted with one ``executemany``; an event id already in the table
(``IntegrityError``) rolls the batch back and inserts it row by row, so the duplicate alone
is refused. ``last_seq`` is written to ``meta`` only by deletes (the only way the table's
highest seq can go back), so an append commits the event rows alone. Counters and gauges
are updated once per commit, not per event.

Deletes of receipted rows are committed without an fsync of their own (the next
append's fsync carries them; a delete lost to a power cut only brings a row back,
which the hub answers DUPLICATE), and callers need not wait for them
(``delete_later``).

A full disk must never wedge it. Deletes (which free space) commit in their own
transaction, never with appends that may fail; a reserve file (``*.reserve``) is
kept beside the database and given back to the file system when a delete meets
"database or disk is full", so the delete goes through, and the WAL is then
truncated. The reserve is made again once there is room. The limits count the
database files on disk (database + WAL), not only event bodies, and the free
space of the file system; ``pressure()`` says how close they are, for ops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import threading
import time
from _thread import LockType, allocate_lock
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from edge_agent.errors import OutboxClosed, OutboxError, OutboxFull
from edge_agent.events import is_critical
from edge_agent.metrics import AgentMetrics
from edge_agent.private_files import connect_sqlite
from protos import events_pb2

log = logging.getLogger(__name__)
SIZES_MAX_AGE_S = 0.5  # the database files' size read at least this often (_disk_use_now)
_FRAME_BYTES = 4096 + 24  # one WAL frame: a 4 KiB page and its header

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    critical INTEGER NOT NULL,
    size INTEGER NOT NULL,
    created_at REAL NOT NULL,
    body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class _Request:
    """One caller's request. A thread that waits for it holds ``waiter`` (a lock taken at
    birth, released when the request is answered or its thread is handed the lead); a
    caller that must not block has a ``future`` instead (``submit``, ``delete_later``) or,
    on an event loop (``append_async``), an ``afuture`` of that ``loop``; the writer thread
    leads for them."""

    __slots__ = ("afuture", "chain", "done", "error", "future", "lead", "loop", "waiter")

    def __init__(self, wait: bool, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.chain: LockType | None = None  # the next answered caller's waiter, to release
        self.done = False
        self.lead = False
        self.error: BaseException | None = None
        self.future: Future[object] | None = None
        self.loop = loop
        self.afuture: asyncio.Future[object] | None = None
        self.waiter: LockType | None = None
        if wait:
            self.waiter = allocate_lock()
            self.waiter.acquire()
        elif loop is not None:
            self.afuture = loop.create_future()
        else:
            self.future = Future()


class _Append(_Request):
    __slots__ = ("event", "value")

    def __init__(
        self, event: events_pb2.Event, wait: bool, loop: asyncio.AbstractEventLoop | None = None
    ) -> None:
        super().__init__(wait, loop)
        self.event = event
        self.value: tuple[str, int] = ("", 0)


class _Delete(_Request):
    __slots__ = ("event_ids", "value")

    def __init__(self, event_ids: list[str], wait: bool) -> None:
        super().__init__(wait)
        self.event_ids = event_ids
        self.value = 0


def _resolve(future: Future[object], value: object, error: BaseException | None) -> None:
    try:
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)
    except InvalidStateError:  # cancelled by its caller: nobody to tell
        pass


def _settle(requests: list[_Append]) -> None:
    """On an event loop: resolve the futures of its answered ``append_async`` callers (one
    call per loop and batch, see ``_wake_loops``)."""
    for request in requests:
        future = request.afuture
        if future is None or future.done():  # cancelled: its coroutine is gone
            continue
        if request.error is not None:
            future.set_exception(request.error)
        else:
            future.set_result(request.value)


def _wake_loops(by_loop: dict[asyncio.AbstractEventLoop, list[_Append]]) -> None:
    """One ``call_soon_threadsafe`` (one wake-up of the loop) per loop for all its callers."""
    for loop, requests in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody awaits there
            loop.call_soon_threadsafe(_settle, requests)


def _answer_all(requests: list[_Append] | list[_Delete]) -> None:
    """Answer ``requests`` (each with its ``value`` or ``error`` set). Threads are woken one
    after the other: the first is released here and each releases the next as it wakes,
    so the woken threads do not all fight for the GIL at once. Coroutines are answered
    with one wake-up of their event loop per loop."""
    first: LockType | None = None
    last: _Request | None = None
    by_loop: dict[asyncio.AbstractEventLoop, list[_Append]] = {}
    for request in requests:
        if request.done:
            continue
        request.done = True
        if request.loop is not None:
            mine = by_loop.get(request.loop)
            if mine is None:
                by_loop[request.loop] = [request]  # type: ignore[list-item]  # only appends
            else:
                mine.append(request)  # type: ignore[arg-type]  # have a loop
        elif request.future is not None:
            _resolve(request.future, request.value, request.error)
        elif request.waiter is not None and not request.lead:  # the leader's own: no wake
            if last is None:
                first = request.waiter
            else:
                last.chain = request.waiter
            last = request
    try:
        if by_loop:
            _wake_loops(by_loop)
    finally:  # the chain's threads are marked done: they must be woken whatever happens
        if first is not None:
            first.release()


@dataclass(frozen=True)
class OutboxPressure:
    used_bytes: int  # database files on disk (or bodies, whichever is larger)
    free_disk_bytes: int
    limit_bytes: int
    hard_limit_bytes: int
    min_free_disk_bytes: int
    reserve_in_place: bool

    @property
    def warning(self) -> str:
        """Empty when all is well; otherwise one bilingual sentence for ops and the station."""
        if self.used_bytes >= self.limit_bytes * 0.8:
            return (
                f"outbox at {self.used_bytes * 100 // max(1, self.limit_bytes)} % of its limit / "
                f"bandeja de salida al {self.used_bytes * 100 // max(1, self.limit_bytes)} % "
                "de su límite"
            )
        if self.free_disk_bytes < 2 * self.min_free_disk_bytes or not self.reserve_in_place:
            mib = self.free_disk_bytes // (1024 * 1024)
            return (
                f"station disk almost full ({mib} MiB free) / "
                f"disco de la estación casi lleno ({mib} MiB libres)"
            )
        return ""


_INSERT = (
    "INSERT INTO outbox(seq, event_id, critical, size, created_at, body) VALUES (?, ?, ?, ?, ?, ?)"
)


def _duplicate(event: events_pb2.Event) -> OutboxError:
    return OutboxError(
        f"event {event.event_id} is already in the outbox / "
        "el evento ya está en la bandeja de salida",
        code="duplicate_event_id",
    )


def _disk_full(exc: sqlite3.Error) -> bool:
    return getattr(exc, "sqlite_errorcode", None) == 13 or "disk is full" in str(exc)


def _write_failed(exc: BaseException) -> OutboxError:
    """What the callers of a failed transaction are told (logged once per transaction)."""
    full = isinstance(exc, sqlite3.OperationalError) and _disk_full(exc)
    log.error("outbox commit failed: %s", exc)
    return OutboxError(
        f"could not write the outbox: {exc} / no se pudo escribir la bandeja de salida",
        code="outbox_disk_full" if full else "outbox_write_failed",
    )


def _connect(path: Path) -> sqlite3.Connection:
    conn = connect_sqlite(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA journal_size_limit=4194304")  # a checkpointed WAL shrinks back
    return conn


class Outbox:
    """Durable, bounded queue of serialized Events, in ``station_seq`` order."""

    def __init__(
        self,
        path: Path,
        *,
        limit_bytes: int,
        hard_limit_bytes: int,
        group_commit_max: int = 256,
        gather_max_s: float = 0.002,
        metrics: AgentMetrics | None = None,
        min_free_disk_bytes: int = 0,
        reserve_bytes: int = 0,
    ) -> None:
        self.path = Path(path)
        self.reserve_path = self.path.with_name(self.path.name + ".reserve")
        self.limit_bytes = limit_bytes
        self.hard_limit_bytes = hard_limit_bytes
        self.min_free_disk_bytes = min_free_disk_bytes
        self.reserve_bytes = reserve_bytes
        self.group_commit_max = group_commit_max
        self.gather_max_s = gather_max_s
        self.metrics = metrics
        if metrics is not None:  # the label lookups once, not per commit
            self._accepted = metrics.appends.labels("accepted")
            self._refused = metrics.appends.labels("refused")
        self.commits = 0  # transactions committed (each one fsync); group commit makes it < appends
        # Requests not yet taken by a leader, in arrival order; guarded by _lock, as are
        # _leading (someone holds the writer role: the queue is never left without one),
        # _want and _gathering. _gathered and _idle are conditions on the same lock.
        self._queue: deque[_Append | _Delete] = deque()
        self._lock = threading.Lock()
        self._gathered = threading.Condition(self._lock)
        self._idle = threading.Condition(self._lock)
        self._leading = False
        self._gathering = False
        self._want = 1  # requests a leader gathers before a transaction (see the docstring)
        # Requests queued behind the batch when it was answered (read by the leader without
        # the lock: a sizing hint). Counted then, not when the lead is passed: by that time
        # the callers just answered may have queued again, and counting them twice made the
        # next leader wait the whole gather_max_s for callers that did not exist.
        self._behind = 0
        self._kick = allocate_lock()  # released to hand the lead to the writer thread
        self._kick.acquire()
        self._stop = False
        self._reserve_known = False
        self._listeners: list[Callable[[], None]] = []
        self._stats_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._closed = True
        self._writer: threading.Thread | None = None
        self._count = 0
        self._bytes = 0
        self._last_seq = 0
        self._fds = [-1, -1]  # database, WAL: kept open for the leader's fstat (_disk_use_now)
        self._stale_fds: list[int] = []
        # The database files' size as last read by fstat, when, and bytes appended since:
        # see _disk_use_now (an fstat of a file right before its commit slowed that commit's
        # fsync by ~50 µs on ext4 here, a third of the whole append).
        self._sizes_read = 0
        self._sizes_at = float("-inf")
        self._appended_since = 0

    # -- life cycle ---------------------------------------------------------------------------

    def open(self) -> Outbox:
        self._wconn = _connect(self.path)
        if (
            self._wconn.execute(
                "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('outbox', 'meta')"
            ).fetchone()[0]
            < 2
        ):
            self._wconn.executescript(_SCHEMA)  # only when missing: no write on a full disk
        self._rconn = _connect(self.path)
        count, total, max_seq = self._wconn.execute(
            "SELECT COUNT(*), COALESCE(SUM(size), 0), COALESCE(MAX(seq), 0) FROM outbox"
        ).fetchone()
        row = self._wconn.execute("SELECT value FROM meta WHERE key='last_seq'").fetchone()
        self._count, self._bytes = int(count), int(total)
        self._last_seq = max(int(max_seq), int(row[0]) if row else 0)
        self._ensure_reserve()
        self._publish_gauges()
        self._stop = False
        self._closed = False
        self._writer = threading.Thread(target=self._run, name="outbox-writer", daemon=True)
        self._writer.start()
        return self

    def close(self) -> None:
        """Refuse new requests (OutboxClosed), answer every queued one, then close."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._gathered.notify()  # a leader gathering stops waiting for callers
            while self._leading:
                self._idle.wait()
            self._stop = True
        self._kick.release()
        if self._writer is not None:
            self._writer.join()
        self._wconn.close()
        with self._read_lock:
            self._rconn.close()
        self._close_fds()

    def add_listener(self, callback: Callable[[], None]) -> None:
        """``callback()`` runs after each commit that added events and before its callers
        are answered, in the thread that led that commit (a caller's or the writer's), one
        commit at a time."""
        self._listeners.append(callback)

    # -- writing ------------------------------------------------------------------------------

    def submit(self, event: events_pb2.Event) -> Future[tuple[str, int]]:
        """Queue ``event``; the future resolves once it is committed (or with the refusal).

        The caller never blocks: the writer thread leads the commit when no caller does."""
        request = _Append(event, wait=False)
        self._enter(request)
        assert request.future is not None
        return request.future  # type: ignore[return-value]  # resolved with request.value

    def append(self, event: events_pb2.Event) -> tuple[str, int]:
        """Make ``event`` durable; returns ``(event_id, station_seq)``. Raises OutboxFull.

        Blocks until the event's transaction is committed (fsync); the calling thread may
        lead that commit itself (see the module docstring)."""
        request = _Append(event, wait=True)
        self._enter(request)
        if request.error is not None:
            raise request.error
        return request.value

    async def append_async(self, event: events_pb2.Event) -> tuple[str, int]:
        """``append`` for the event loop: never leads, never blocks the loop.

        The writer thread answers all of a batch's coroutines on one loop with one
        ``call_soon_threadsafe``. Cancelling the awaiting coroutine does not withdraw the
        event: it is committed with its batch, and only its answer is dropped."""
        request = _Append(event, wait=False, loop=asyncio.get_running_loop())
        future = request.afuture
        assert future is not None
        self._enter(request)
        return cast(tuple[str, int], await future)  # resolved with request.value

    def delete(self, event_ids: Iterable[str]) -> int:
        """Delete rows by event id (unknown ids are ignored); returns how many were deleted."""
        return self.delete_later(event_ids).result()

    def delete_later(self, event_ids: Iterable[str]) -> Future[int]:
        """Queue the deletion of rows by event id; the future says how many went (or why not).

        The uplink does not wait for it: a receipted row is already safe at the hub, so its
        deletion need not hold back the next publish."""
        request = _Delete(list(event_ids), wait=False)
        assert request.future is not None
        if not request.event_ids:
            if self._closed:
                raise OutboxClosed("the agent is stopping / el agente se está deteniendo")
            request.future.set_result(0)
        else:
            self._enter(request)
        return request.future  # type: ignore[return-value]  # resolved with request.value

    # -- reading ------------------------------------------------------------------------------

    def pending(self, after_seq: int, limit: int) -> list[tuple[int, str, bytes]]:
        """Up to ``limit`` rows with ``seq > after_seq``, in seq order: (seq, event_id, body)."""
        with self._read_lock:
            rows = self._rconn.execute(
                "SELECT seq, event_id, body FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
                (after_seq, limit),
            ).fetchall()
        return [(int(s), str(e), bytes(b)) for s, e, b in rows]

    def depth(self) -> tuple[int, int, float | None]:
        """(events, body bytes, created_at of the oldest row or None)."""
        with self._read_lock:
            row = self._rconn.execute(
                "SELECT created_at FROM outbox ORDER BY seq LIMIT 1"
            ).fetchone()
        with self._stats_lock:
            return self._count, self._bytes, (float(row[0]) if row else None)

    @property
    def last_seq(self) -> int:
        return self._last_seq

    # -- leaders and followers ----------------------------------------------------------------

    def _enter(self, request: _Append | _Delete) -> None:
        """Queue ``request``; a waiting caller returns once it is answered, leading if it must.

        With nobody leading, a caller that can wait leads at once (no hand-over: one caller
        alone commits in its own thread); one that cannot hands the lead to the writer
        thread. Otherwise the request waits for the leader at work, which takes it in its
        next batch or hands the lead to it."""
        with self._lock:
            if self._closed:
                raise OutboxClosed("the agent is stopping / el agente se está deteniendo")
            self._queue.append(request)
            if self._leading:
                if self._gathering and len(self._queue) >= self._want:
                    self._gathered.notify()
                lead = False
            else:
                self._leading = True
                lead = request.lead = request.waiter is not None
                if not lead:
                    self._kick.release()
        if request.waiter is None:
            return
        interrupted: BaseException | None = None
        if not lead:
            while True:  # answered, or handed the lead
                try:
                    request.waiter.acquire()
                    break
                except BaseException as exc:  # KeyboardInterrupt: the others still need our
                    interrupted = exc  # part (wake the next, or lead), so finish it first
            if request.done:
                if request.chain is not None:
                    request.chain.release()
                if interrupted is not None:
                    raise interrupted
                return
            assert request.lead
        self._lead()
        if interrupted is not None:
            raise interrupted

    def _lead(self) -> None:
        """Write one batch from the front of the queue, answer it, then pass the lead on."""
        batch: list[_Append | _Delete] = []
        try:
            batch = self._take()
            self._write(batch)
        except BaseException as exc:  # a bug or an interrupt: nobody is left hanging
            log.exception("outbox leader failed")
            if self._wconn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self._wconn.execute("ROLLBACK")
            error = _write_failed(exc)
            for request in batch:
                if not request.done:
                    request.error = error
                    if isinstance(request, _Append):
                        request.event.station_seq = 0
            _answer_all(batch)  # type: ignore[arg-type]  # appends and deletes alike
            if not isinstance(exc, Exception):
                raise  # KeyboardInterrupt, SystemExit: after the lead is passed on
        finally:
            self._pass_lead(len(batch))

    def _take(self) -> list[_Append | _Delete]:
        """The next batch (gathered as the docstring says); the caller holds the lead."""
        with self._lock:
            if self._want > 1 and len(self._queue) < self._want and not self._closed:
                deadline = time.monotonic() + self.gather_max_s
                self._gathering = True
                try:
                    while len(self._queue) < self._want and not self._closed:
                        left = deadline - time.monotonic()
                        if left <= 0 or not self._gathered.wait(left):
                            break
                finally:
                    self._gathering = False
            queue = self._queue
            if len(queue) <= self.group_commit_max:
                batch = list(queue)
                queue.clear()
            else:
                batch = [queue.popleft() for _ in range(self.group_commit_max)]
            self._behind = len(queue)  # until the batch is answered (_write_*)
            return batch

    def _pass_lead(self, taken: int) -> None:
        """Give the lead to the front of the queue (its thread, or the writer thread for a
        caller that does not wait), or put it down when the queue is empty."""
        with self._lock:
            queue = self._queue
            self._want = max(1, min(self.group_commit_max, taken + self._behind))
            if not queue:
                self._leading = False
                if self._closed:
                    self._idle.notify_all()  # close() waits for the last leader
                return
            front = queue[0]
            if front.waiter is None:
                self._kick.release()
                return
            front.lead = True
            front.waiter.release()

    def _run(self) -> None:
        """The writer thread: leads whenever the lead is handed to it, until close."""
        while True:
            self._kick.acquire()
            if self._stop:
                return
            self._lead()

    def _write(self, batch: list[_Append | _Delete]) -> None:
        appends = [item for item in batch if isinstance(item, _Append)]
        if len(appends) < len(batch):
            self._write_deletes([item for item in batch if isinstance(item, _Delete)])
        if appends:
            self._write_appends(appends)

    def _write_deletes(self, deletes: list[_Delete]) -> None:
        """Delete in a transaction of their own; on a full disk, give back the reserve first."""
        try:
            freed_rows, freed = self._delete_once(deletes)
        except sqlite3.OperationalError as exc:
            if not _disk_full(exc) or not self._release_reserve():
                self._fail(deletes, exc)
                return
            try:
                freed_rows, freed = self._delete_once(deletes)
            except sqlite3.Error as again:
                self._fail(deletes, again)
                return
            self._truncate_wal()
        except sqlite3.Error as exc:
            self._fail(deletes, exc)
            return
        self.commits += 1
        # A bound on the WAL a delete wrote (see _disk_use_now): the table leaves of the
        # bodies (twice: partly filled pages), an index leaf per row, six more pages.
        self._appended_since += 2 * freed + (sum(freed_rows) + 6) * _FRAME_BYTES
        with self._stats_lock:
            self._count -= sum(freed_rows)
            self._bytes -= freed
        for item, n in zip(deletes, freed_rows, strict=True):
            item.value = n
        self._behind = len(self._queue)
        _answer_all(deletes)

    def _delete_once(self, deletes: list[_Delete]) -> tuple[list[int], int]:
        """One transaction for every queued delete, committed without an fsync of its own.

        A delete need not be durable: if power fails before the next append's fsync (which
        makes the WAL durable up to it, deletes included) the rows come back, are sent again
        and the hub answers DUPLICATE. So a delete costs no disk flush, and appends queued
        behind it do not wait for one."""
        conn = self._wconn
        counts: list[int] = []
        freed_total = 0
        conn.execute("PRAGMA synchronous=NORMAL")
        try:
            conn.execute("BEGIN IMMEDIATE")
            for item in deletes:
                n, freed = self._remove(conn, item.event_ids)
                counts.append(n)
                freed_total += freed
            if any(counts):
                # The table's highest seq may go back now: keep it where a reopen finds it.
                conn.execute(
                    "INSERT INTO meta(key, value) VALUES('last_seq', ?) "
                    "ON CONFLICT(key) DO UPDATE SET value=excluded.value "
                    "WHERE excluded.value > meta.value",
                    (self._last_seq,),
                )
            conn.execute("COMMIT")
        except sqlite3.Error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.execute("PRAGMA synchronous=FULL")
        return counts, freed_total

    def _write_appends(self, appends: list[_Append]) -> None:
        conn = self._wconn
        count, total, seq = self._count, self._bytes, self._last_seq
        used, free = self._disk_use_now()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                done, refused, seq, total = self._insert_all(conn, appends, seq, total, used, free)
            except sqlite3.IntegrityError:  # an event id already there: find it row by row
                conn.execute("ROLLBACK")
                conn.execute("BEGIN IMMEDIATE")
                done, refused, seq, total = self._insert_all(
                    conn, appends, self._last_seq, self._bytes, used, free, one_by_one=True
                )
            count += len(done)
            self._commit(conn)
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            for item in appends:
                item.event.station_seq = 0
            self._fail(appends, exc)
            return
        self.commits += 1
        # For _disk_use_now's estimate, a bound on the WAL this commit wrote: the bodies,
        # an index leaf per row (random event ids) and four more pages (parents, header).
        self._appended_since += total - self._bytes + (len(done) + 4) * _FRAME_BYTES
        with self._stats_lock:
            self._count, self._bytes, self._last_seq = count, total, seq
        if self.metrics is not None:
            if done:
                self._accepted.inc(len(done))
                self.metrics.commit_batch.observe(len(done))
            if refused:
                self._refused.inc(len(refused))
        for item, error in refused:
            item.error = error
        if done:  # before the answers: a caller that has its answer sees the listeners' effect
            for listener in self._listeners:
                try:
                    listener()
                except Exception:  # a listener's bug must not fail the commit's leader
                    log.exception("outbox commit listener failed")
        self._behind = len(self._queue)  # before the answered callers can queue again
        _answer_all(appends)
        if done:
            self._ensure_reserve()

    def _commit(self, conn: sqlite3.Connection) -> None:
        """COMMIT of an append transaction: with ``synchronous=FULL``, the fsync."""
        conn.execute("COMMIT")

    def _fail(self, items: list[_Append] | list[_Delete], exc: Exception) -> None:
        error = _write_failed(exc)
        for item in items:
            item.error = error
        _answer_all(items)

    # -- disk space -----------------------------------------------------------------------

    def _disk_use(self) -> tuple[int, int]:
        """(bytes of the database files on disk, bytes free for this process on their disk)."""
        used = 0
        for suffix in ("", "-wal"):
            with contextlib.suppress(OSError):
                used += os.stat(f"{self.path}{suffix}").st_size
        try:
            st = os.statvfs(self.path.parent)
            free = st.f_bavail * st.f_frsize
        except OSError:
            free = 1 << 62
        return used, free

    def _disk_use_now(self) -> tuple[int, int]:
        """(bytes of the database files, bytes free) for the leader, before every append
        transaction. Free space is read every time (``fstatvfs``); the files' size is read
        (``_files_size``) at most every ``SIZES_MAX_AGE_S`` while they are below 90 % of
        the soft limit, and in between is the size last read plus, for each commit since
        (appends and deletes), a bound on the WAL frames it wrote (an overestimate: a
        checkpoint reuses the WAL from its start; tested against real reads).
        Near the limit it is read before every transaction, so the limits stay exact where
        they decide. Why not always: on this ext4 an ``fstat`` of the database or WAL right
        before the transaction made its COMMIT's fsync ~50 µs slower (p50 120 → 170 µs,
        interleaved runs), a third of a one-caller durable append."""
        now = time.monotonic()
        estimate = self._sizes_read + self._appended_since
        if now - self._sizes_at >= SIZES_MAX_AGE_S or estimate >= 0.9 * self.limit_bytes:
            self._sizes_read = estimate = self._files_size()
            self._sizes_at = now
            self._appended_since = 0
        fd = self._fds[0]
        try:
            vfs = os.fstatvfs(fd) if fd >= 0 else os.statvfs(self.path.parent)
            free = vfs.f_bavail * vfs.f_frsize
        except OSError:
            free = 1 << 62
        return estimate, free

    def _files_size(self) -> int:
        """Bytes of the database and WAL files: ``fstat`` through descriptors kept open (a
        path lookup costs as much as a row's whole insert); a file that was replaced (its
        descriptor's inode unlinked) is opened again by name."""
        used = 0
        fds = self._fds
        for which, suffix in enumerate(("", "-wal")):
            fd = fds[which]
            if fd >= 0:
                st = os.fstat(fd)
                if st.st_nlink:
                    used += st.st_size
                    continue
                # Not closed before close(): closing any descriptor of a file drops this
                # process's POSIX locks on it, SQLite's included.
                self._stale_fds.append(fd)
                fds[which] = -1
            try:
                fds[which] = fd = os.open(f"{self.path}{suffix}", os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                continue  # no WAL yet: nothing on disk
            used += os.fstat(fd).st_size
        return used

    def _close_fds(self) -> None:
        """After the connections are closed (see ``_disk_use_now``)."""
        for fd in [*self._fds, *self._stale_fds]:
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._fds = [-1, -1]
        self._stale_fds = []

    def pressure(self) -> OutboxPressure:
        """How close the outbox is to its limits, for the status page and the fleet."""
        used, free = self._disk_use()
        with self._stats_lock:
            body = self._bytes
        return OutboxPressure(
            used_bytes=max(used, body),
            free_disk_bytes=free,
            limit_bytes=self.limit_bytes,
            hard_limit_bytes=self.hard_limit_bytes,
            min_free_disk_bytes=self.min_free_disk_bytes,
            reserve_in_place=self.reserve_path.exists() or not self.reserve_bytes,
        )

    def _ensure_reserve(self) -> None:
        """Make the reserve file when it is missing and the disk has room to spare for it."""
        if not self.reserve_bytes or self._reserve_known:
            return
        if self.reserve_path.exists():
            self._reserve_known = True  # only _release_reserve removes it
            return
        _, free = self._disk_use()
        if free < self.reserve_bytes + self.min_free_disk_bytes:
            return
        tmp = self.reserve_path.with_name(self.reserve_path.name + ".tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.posix_fallocate(fd, 0, self.reserve_bytes)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.reserve_path)
            self._reserve_known = True
        except OSError as exc:
            log.warning("could not make the outbox disk reserve: %s", exc)
            with contextlib.suppress(OSError):
                tmp.unlink()

    def _release_reserve(self) -> bool:
        self._reserve_known = False
        try:
            self.reserve_path.unlink()
        except FileNotFoundError:
            return False
        log.warning(
            "disk full: the outbox gave back its reserve so receipted events can be deleted"
        )
        return True

    def _truncate_wal(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._wconn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._sizes_at = float("-inf")  # the files shrank: read them again before the next

    def _insert_all(
        self,
        conn: sqlite3.Connection,
        appends: list[_Append],
        seq: int,
        total: int,
        used: int,
        free: int,
        one_by_one: bool = False,
    ) -> tuple[list[_Append], list[tuple[_Append, Exception]], int, int]:
        """Insert the batch's events that the limits let in, in one ``executemany`` (or, with
        ``one_by_one``, an INSERT each, which tells an event id already in the table from
        the others); returns (accepted, refused with why, last seq, body bytes)."""
        done: list[_Append] = []
        refused: list[tuple[_Append, Exception]] = []
        rows: list[tuple[int, str, int, int, float, bytes]] = []
        for item in appends:
            row = self._row(item.event, seq, max(total, used), free)
            if isinstance(row, Exception):
                refused.append((item, row))
                continue
            if one_by_one:
                try:
                    conn.execute(_INSERT, row)
                except sqlite3.IntegrityError:
                    item.event.station_seq = 0
                    refused.append((item, _duplicate(item.event)))
                    continue
            else:
                rows.append(row)
            seq, size = row[0], row[3]
            total += size
            used += size
            free -= size
            item.value = (item.event.event_id, seq)
            done.append(item)
        if len(rows) > 1:
            conn.executemany(_INSERT, rows)  # one call: ~1 µs less per row than an execute each
        elif rows:
            conn.execute(_INSERT, rows[0])
        return done, refused, seq, total

    def _row(
        self, event: events_pb2.Event, seq: int, total: int, free: int
    ) -> tuple[int, str, int, int, float, bytes] | Exception:
        """The outbox row of ``event`` as seq ``seq + 1`` (``station_seq`` set), or why the
        limits refuse it."""
        critical = is_critical(event)
        if not critical and free < self.min_free_disk_bytes:
            return OutboxFull(
                f"only {free} bytes free on the station's disk (keeping {self.min_free_disk_bytes}"
                "); non-critical events are refused / quedan solo "
                f"{free} bytes libres en el disco de la estación (se reservan "
                f"{self.min_free_disk_bytes}); se rechazan eventos no críticos"
            )
        if not critical and total >= self.limit_bytes:
            return OutboxFull(
                f"outbox holds {total} bytes, at or past its limit of {self.limit_bytes} bytes; "
                "non-critical events are refused until the hub drains it / "
                f"la bandeja de salida tiene {total} bytes, llegó a su límite de "
                f"{self.limit_bytes} bytes; se rechazan eventos no críticos "
                "hasta que el hub la vacíe"
            )
        event.station_seq = seq + 1
        body = event.SerializeToString()
        if critical and total + len(body) > self.hard_limit_bytes:
            event.station_seq = 0
            return OutboxFull(
                f"outbox holds {total} bytes; this event would pass the hard limit of "
                f"{self.hard_limit_bytes} bytes / la bandeja de salida tiene {total} bytes; "
                f"este evento pasaría el límite máximo de {self.hard_limit_bytes} bytes"
            )
        return seq + 1, event.event_id, int(critical), len(body), time.time(), body

    @staticmethod
    def _remove(conn: sqlite3.Connection, event_ids: list[str]) -> tuple[int, int]:
        n = freed = 0
        for start in range(0, len(event_ids), 500):
            chunk = event_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(
                f"SELECT seq, size FROM outbox WHERE event_id IN ({marks})", chunk
            ).fetchall()
            if rows:
                conn.executemany("DELETE FROM outbox WHERE seq = ?", [(r[0],) for r in rows])
                n += len(rows)
                freed += sum(int(r[1]) for r in rows)
        return n, freed

    def _publish_gauges(self) -> None:
        """The depth gauges are read when metrics are scraped, not written at every commit."""
        if self.metrics is not None:
            self.metrics.outbox_depth.set_function(lambda: self._count)
            self.metrics.outbox_bytes.set_function(lambda: self._bytes)
