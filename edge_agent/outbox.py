"""The outbox: a bounded SQLite (WAL, fsync per commit) queue of events with group commit.

One writer thread owns the write connection. Callers queue requests and block
on a future; the writer takes up to ``group_commit_max`` pending requests,
writes them in one transaction and commits once (one fsync), then answers them
all. An event is durable before its caller gets ``(event_id, station_seq)``.

Group commit gathers: after a commit that answered *k* callers while *q* more
were queued, the writer waits (at most ``gather_max_s``, 2 ms) for up to *k + q*
requests before the next transaction, so the answered callers ride the next
fsync instead of the one after it; without it, 32 callers split into two halves
that take turns, half of them per fsync (PostgreSQL's ``commit_delay`` with
``commit_siblings``, sized by what was just seen). One caller alone never waits,
and callers that do not come back cost one wait: the next gathers fewer. ``last_seq`` is written to
``meta`` only by deletes (the only way the table's highest seq can go back), so
an append commits the event rows alone.

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
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from edge_agent.errors import OutboxClosed, OutboxError, OutboxFull
from edge_agent.events import is_critical
from edge_agent.metrics import AgentMetrics
from edge_agent.private_files import connect_sqlite
from protos import events_pb2

log = logging.getLogger(__name__)

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


@dataclass
class _Append:
    event: events_pb2.Event
    future: Future[tuple[str, int]] = field(default_factory=Future)


@dataclass
class _Delete:
    event_ids: list[str]
    future: Future[int] = field(default_factory=Future)


_STOP = object()


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


def _disk_full(exc: sqlite3.Error) -> bool:
    return getattr(exc, "sqlite_errorcode", None) == 13 or "disk is full" in str(exc)


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
        self.commits = 0  # transactions committed (each one fsync); group commit makes it < appends
        self._pending: deque[object] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._want = 1  # requests the writer gathers before a transaction (see the docstring)
        self._stopping = False
        self._reserve_known = False
        self._listeners: list[Callable[[], None]] = []
        self._stats_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._closed = True
        self._writer: threading.Thread | None = None
        self._count = 0
        self._bytes = 0
        self._last_seq = 0

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
        self._closed = False
        self._writer = threading.Thread(target=self._run, name="outbox-writer", daemon=True)
        self._writer.start()
        return self

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._put(_STOP)
        if self._writer is not None:
            self._writer.join()
        self._drain_refused()  # anything queued after the writer's last look
        self._wconn.close()
        with self._read_lock:
            self._rconn.close()

    def add_listener(self, callback: Callable[[], None]) -> None:
        """``callback()`` runs (in the writer thread) after each commit that added events."""
        self._listeners.append(callback)

    # -- writing ------------------------------------------------------------------------------

    def submit(self, event: events_pb2.Event) -> Future[tuple[str, int]]:
        """Queue ``event``; the future resolves once it is committed (or with the refusal)."""
        if self._closed:
            raise OutboxClosed("the agent is stopping / el agente se está deteniendo")
        request = _Append(event)
        self._put(request)
        return request.future

    def append(self, event: events_pb2.Event) -> tuple[str, int]:
        """Make ``event`` durable; returns ``(event_id, station_seq)``. Raises OutboxFull."""
        return self.submit(event).result()

    async def append_async(self, event: events_pb2.Event) -> tuple[str, int]:
        return await asyncio.wrap_future(self.submit(event))

    def delete(self, event_ids: Iterable[str]) -> int:
        """Delete rows by event id (unknown ids are ignored); returns how many were deleted."""
        return self.delete_later(event_ids).result()

    def delete_later(self, event_ids: Iterable[str]) -> Future[int]:
        """Queue the deletion of rows by event id; the future says how many went (or why not).

        The uplink does not wait for it: a receipted row is already safe at the hub, so its
        deletion need not hold back the next publish."""
        ids = list(event_ids)
        if self._closed:
            raise OutboxClosed("the agent is stopping / el agente se está deteniendo")
        request = _Delete(ids)
        if not ids:
            request.future.set_result(0)
            return request.future
        self._put(request)
        return request.future

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

    # -- the writer thread --------------------------------------------------------------------

    def _put(self, item: object) -> None:
        with self._cond:
            self._pending.append(item)
            if item is _STOP:
                self._stopping = True
            if len(self._pending) == 1 or len(self._pending) >= self._want or self._stopping:
                self._cond.notify()

    def _take(self) -> tuple[list[object], bool]:
        """The next batch (gathered as the docstring says) and whether a stop was queued."""
        with self._cond:
            while not self._pending:
                self._cond.wait()
            if self._want > 1 and not self._stopping and len(self._pending) < self._want:
                deadline = time.monotonic() + self.gather_max_s
                while len(self._pending) < self._want and not self._stopping:
                    left = deadline - time.monotonic()
                    if left <= 0 or not self._cond.wait(left):
                        break
            batch: list[object] = []
            stop = False
            while self._pending and len(batch) < self.group_commit_max:
                item = self._pending.popleft()
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)
            return batch, stop

    def _run(self) -> None:
        while True:
            batch, stop = self._take()
            if batch:
                self._write(batch)
                with self._cond:
                    self._want = min(self.group_commit_max, len(batch) + len(self._pending))
            if stop:
                self._drain_refused()
                return

    def _drain_refused(self) -> None:
        while True:
            with self._cond:
                if not self._pending:
                    return
                item = self._pending.popleft()
            if isinstance(item, _Append | _Delete):
                item.future.set_exception(OutboxClosed("the agent stopped / el agente se detuvo"))

    def _write(self, batch: list[object]) -> None:
        deletes = [item for item in batch if isinstance(item, _Delete)]
        appends = [item for item in batch if isinstance(item, _Append)]
        if deletes:
            self._write_deletes(deletes)
        if appends:
            self._write_appends(appends)

    def _write_deletes(self, deletes: list[_Delete]) -> None:
        """Delete in a transaction of their own; on a full disk, give back the reserve first."""
        try:
            freed_rows, freed = self._delete_once(deletes)
        except sqlite3.OperationalError as exc:
            if not _disk_full(exc) or not self._release_reserve():
                self._fail([*deletes], exc)
                return
            try:
                freed_rows, freed = self._delete_once(deletes)
            except sqlite3.Error as again:
                self._fail([*deletes], again)
                return
            self._truncate_wal()
        except sqlite3.Error as exc:
            self._fail([*deletes], exc)
            return
        self.commits += 1
        with self._stats_lock:
            self._count -= sum(freed_rows)
            self._bytes -= freed
        self._publish_gauges()
        for item, n in zip(deletes, freed_rows, strict=True):
            item.future.set_result(n)

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
        used, free = self._disk_use()
        done: list[tuple[Future[tuple[str, int]], tuple[str, int]]] = []
        refused: list[tuple[Future[tuple[str, int]], Exception]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for item in appends:
                outcome = self._insert(conn, item.event, seq, max(total, used), free)
                if isinstance(outcome, Exception):
                    refused.append((item.future, outcome))
                    continue
                seq, size = outcome
                total += size
                used += size
                free -= size
                count += 1
                done.append((item.future, (item.event.event_id, seq)))
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            for item in appends:
                item.event.station_seq = 0
            self._fail([*appends], exc)
            return
        self.commits += 1
        with self._stats_lock:
            self._count, self._bytes, self._last_seq = count, total, seq
        self._publish_gauges()
        if self.metrics is not None:
            self.metrics.appends.labels("accepted").inc(len(done))
            self.metrics.appends.labels("refused").inc(len(refused))
            if done:
                self.metrics.commit_batch.observe(len(done))
        for future, error in refused:
            future.set_exception(error)
        for future, value in done:
            future.set_result(value)
        if done:
            self._ensure_reserve()
            for listener in self._listeners:
                listener()

    def _fail(self, items: list[_Append] | list[_Delete] | list[object], exc: Exception) -> None:
        full = isinstance(exc, sqlite3.OperationalError) and _disk_full(exc)
        log.error("outbox commit failed: %s", exc)
        err = OutboxError(
            f"could not write the outbox: {exc} / no se pudo escribir la bandeja de salida",
            code="outbox_disk_full" if full else "outbox_write_failed",
        )
        for item in items:
            if isinstance(item, _Append | _Delete):
                item.future.set_exception(err)

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

    def _insert(
        self, conn: sqlite3.Connection, event: events_pb2.Event, seq: int, total: int, free: int
    ) -> tuple[int, int] | Exception:
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
        try:
            conn.execute(
                "INSERT INTO outbox(seq, event_id, critical, size, created_at, body) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (seq + 1, event.event_id, int(critical), len(body), time.time(), body),
            )
        except sqlite3.IntegrityError:
            event.station_seq = 0
            return OutboxError(
                f"event {event.event_id} is already in the outbox / "
                "el evento ya está en la bandeja de salida",
                code="duplicate_event_id",
            )
        return seq + 1, len(body)

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
        if self.metrics is not None:
            self.metrics.outbox_depth.set(self._count)
            self.metrics.outbox_bytes.set(self._bytes)
