"""bench/thread_handoff: the floor of waking 32 waiting CPython threads, with no SQLite.

32 caller threads each queue a request and wait on their own lock; a leader takes the
queue once 32 are in (or after 2 ms) and wakes them one after the other (each waking
the next), as the outbox's leader/follower group commit does. The figure is the most
"32 callers, each waiting for its durable append" can reach in this interpreter on this
machine before any database work; `bench.agent_footprint`'s 32-caller line is compared
with raw SQLite writing 32 rows per fsync from one thread, which wakes nobody
(docs/benchmarks.md, "32 callers, what is left").

The second figure is the same for 32 coroutines on one asyncio event loop, each awaiting
a future of its own, which the leader thread resolves with one ``call_soon_threadsafe``
per batch (how the outbox answers ``append_async``, the agent's HTTP routes).

Run: ``python -m bench.thread_handoff [--seconds 2]``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import threading
import time
from _thread import LockType, allocate_lock
from collections import deque

CALLERS = 32


class _Request:
    __slots__ = ("chain", "waiter")

    def __init__(self) -> None:
        self.waiter: LockType = allocate_lock()
        self.waiter.acquire()
        self.chain: LockType | None = None


def handoffs_per_second(seconds: float) -> float:
    """Requests answered per second by the chain of wake-ups alone."""
    queue: deque[_Request] = deque()
    lock = threading.Lock()
    gathered = threading.Condition(lock)
    stop = threading.Event()
    counts = [0] * CALLERS

    def caller(k: int) -> None:
        while not stop.is_set():
            request = _Request()
            with lock:
                queue.append(request)
                if len(queue) >= CALLERS:
                    gathered.notify()
            request.waiter.acquire()
            if request.chain is not None:
                request.chain.release()
            counts[k] += 1

    def leader() -> None:
        while not stop.is_set():
            with lock:
                while len(queue) < CALLERS and not stop.is_set():
                    gathered.wait(0.002)
                batch = list(queue)
                queue.clear()
            for a, b in itertools.pairwise(batch):
                a.chain = b.waiter
            if batch:
                batch[0].waiter.release()

    threads = [threading.Thread(target=caller, args=(k,), daemon=True) for k in range(CALLERS)]
    threads.append(threading.Thread(target=leader, daemon=True))
    for t in threads:
        t.start()
    time.sleep(0.2)  # warm up
    start, before = time.perf_counter(), sum(counts)
    time.sleep(seconds)
    done, took = sum(counts) - before, time.perf_counter() - start
    stop.set()
    return done / took


def coroutine_handoffs_per_second(seconds: float) -> float:
    """Requests answered per second when the callers are coroutines on one event loop."""
    queue: deque[asyncio.Future[None]] = deque()
    lock = threading.Lock()
    gathered = threading.Condition(lock)
    stop = threading.Event()
    count = 0

    def settle(batch: list[asyncio.Future[None]]) -> None:
        for future in batch:
            if not future.done():
                future.set_result(None)

    def leader(loop: asyncio.AbstractEventLoop) -> None:
        while not stop.is_set():
            with lock:
                while len(queue) < CALLERS and not stop.is_set():
                    gathered.wait(0.002)
                batch = list(queue)
                queue.clear()
            if batch:
                loop.call_soon_threadsafe(settle, batch)

    async def caller() -> None:
        nonlocal count
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            future = loop.create_future()
            with lock:
                queue.append(future)
                if len(queue) >= CALLERS:
                    gathered.notify()
            await future
            count += 1

    async def run() -> float:
        thread = threading.Thread(target=leader, args=(asyncio.get_running_loop(),))
        thread.start()
        tasks = [asyncio.create_task(caller()) for _ in range(CALLERS)]
        await asyncio.sleep(0.2)  # warm up
        start, before = time.perf_counter(), count
        await asyncio.sleep(seconds)
        done, took = count - before, time.perf_counter() - start
        stop.set()
        thread.join()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return done / took

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    rate = coroutine_handoffs_per_second(args.seconds)
    print(
        f"{CALLERS} coroutines on one event loop, one call_soon_threadsafe per batch, no "
        f"database: {rate:,.0f} answers/s = {1e6 / rate:.1f} µs each (load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    rate = handoffs_per_second(args.seconds)
    print(
        f"{CALLERS} threads woken in a chain, no database: {rate:,.0f} answers/s = "
        f"{1e6 / rate:.1f} µs each (load average {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} cores)"
    )
    os._exit(0)  # callers may still wait on their locks


if __name__ == "__main__":
    main()
