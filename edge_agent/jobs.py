"""Jobs: a use case the caller follows by id (a scan, a signature), one model for every capability.

A job has an id, a state out of its capability's states (the terminal ones end
it) and a :class:`Progress`: a version that grows with every change, which
watchers wait on (the next change, or the end): threads with ``wait_*``, coroutines
with ``wait_*_async``. A coroutine waits on a future of its own event loop, woken by
``changed()`` through ``call_soon_threadsafe``, never on a worker thread: an HTTP
long-poll (up to 120 s) or an SSE stream must not hold one of the few threads that
every blocking route shares (AnyIO's 40, asyncio's default executor's 6 on 2 cores),
or 40 waiting long-polls would hold back the consent that ends them. A :class:`JobTable` keeps a
capability's jobs by id, answers an unknown id with the capability's error,
and forgets finished jobs: the oldest beyond ``keep`` jobs, and any finished
longer ago than ``keep_finished_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Generic, Protocol, TypeVar

from edge_agent.errors import AgentError


class Progress:
    """Changes of one job for its watchers: ``changed()`` after each, ``ended=True`` at the end."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.version = 0
        self.ended = False
        self._async_waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def changed(self, *, ended: bool = False) -> None:
        with self._cond:
            self.version += 1
            self.ended = self.ended or ended
            self._cond.notify_all()
            waiters, self._async_waiters = self._async_waiters, []
        for loop, future in waiters:
            with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits there
                loop.call_soon_threadsafe(_wake, future)

    def reopen(self) -> None:
        """A job that ended and comes back (a failed signature the user may try again)."""
        with self._cond:
            self.ended = False

    def wait_change(self, after_version: int, timeout_s: float) -> int:
        """The version once it passes ``after_version`` or the job ended (or at the timeout)."""
        with self._cond:
            self._cond.wait_for(lambda: self.version > after_version or self.ended, timeout_s)
            return self.version

    def wait_end(self, timeout_s: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self.ended, timeout_s)

    async def wait_change_async(self, after_version: int, timeout_s: float) -> int:
        """:meth:`wait_change` for a coroutine: no thread is held while it waits."""
        deadline = time.monotonic() + timeout_s
        while True:
            loop = asyncio.get_running_loop()
            with self._cond:
                if self.version > after_version or self.ended:
                    return self.version
                left = deadline - time.monotonic()
                if left <= 0:
                    return self.version
                future: asyncio.Future[None] = loop.create_future()
                self._async_waiters.append((loop, future))
            try:
                await asyncio.wait_for(future, left)
            except TimeoutError:
                pass
            finally:
                self._forget(future)

    async def wait_end_async(self, timeout_s: float) -> bool:
        """:meth:`wait_end` for a coroutine: no thread is held while it waits."""
        deadline = time.monotonic() + timeout_s
        while not self.ended:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            await self.wait_change_async(self.version, left)
        return self.ended

    def _forget(self, future: asyncio.Future[None]) -> None:
        with self._cond:
            self._async_waiters = [w for w in self._async_waiters if w[1] is not future]

    def watch(self, timeout_s: float = 3600.0) -> Iterator[int]:
        """Every version until the job ends (changes in between may be merged)."""
        deadline = time.monotonic() + timeout_s
        seen = -1
        while time.monotonic() < deadline:
            version = self.wait_change(seen, min(15.0, max(0.0, deadline - time.monotonic())))
            if version != seen:
                seen = version
                yield version
            if self.ended:
                return


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():  # not already timed out or cancelled
        future.set_result(None)


class Job(Protocol):
    """What a :class:`JobTable` needs of a capability's job."""

    @property
    def job_id(self) -> str: ...

    @property
    def finished(self) -> bool: ...

    @property
    def progress(self) -> Progress: ...

    def started_at(self) -> float: ...


J = TypeVar("J", bound=Job)


class JobTable(Generic[J]):
    def __init__(
        self,
        not_found: Callable[[str], AgentError],
        *,
        keep: int | None = None,
        keep_finished_s: float | None = None,
    ) -> None:
        self._jobs: dict[str, J] = {}
        self._lock = threading.Lock()
        self._not_found = not_found
        self.keep = keep
        self.keep_finished_s = keep_finished_s

    def __len__(self) -> int:
        with self._lock:
            return len(self._jobs)

    def add(self, job: J) -> None:
        with self._lock:
            self._jobs[job.job_id] = job
            if self.keep is not None:
                while len(self._jobs) > self.keep:
                    oldest = next(iter(self._jobs))
                    if not self._jobs[oldest].finished:
                        break
                    del self._jobs[oldest]

    def get(self, job_id: str) -> J:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise self._not_found(job_id)
        return job

    def values(self) -> list[J]:
        with self._lock:
            return list(self._jobs.values())

    def prune(self, now: float | None = None) -> list[str]:
        """Forget jobs finished longer ago than ``keep_finished_s``; returns their ids."""
        if self.keep_finished_s is None:
            return []
        now = time.time() if now is None else now
        gone = []
        with self._lock:
            for job_id, job in list(self._jobs.items()):
                if job.finished and now - job.started_at() > self.keep_finished_s:
                    del self._jobs[job_id]
                    gone.append(job_id)
        return gone
