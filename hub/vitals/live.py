"""The live feed: readings of a case pushed to its subscribers (the hub's SSE endpoint).

Ingest publishes from its writer thread right after commit; each subscriber is
an asyncio queue on the API's event loop, filled with ``call_soon_threadsafe``.
A slow subscriber loses its oldest items, never stalls ingest.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

BACKLOG = 2000


@dataclass(eq=False)
class Subscription:
    case_id: str
    queue: asyncio.Queue[dict[str, Any]]
    loop: asyncio.AbstractEventLoop


class LiveFeed:
    def __init__(self) -> None:
        self._subs: dict[str, list[Subscription]] = {}
        self._lock = threading.Lock()

    def subscribe(self, case_id: str) -> Subscription:
        sub = Subscription(case_id, asyncio.Queue(BACKLOG), asyncio.get_running_loop())
        with self._lock:
            self._subs.setdefault(case_id, []).append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            subs = self._subs.get(sub.case_id, [])
            if sub in subs:
                subs.remove(sub)
            if not subs:
                self._subs.pop(sub.case_id, None)

    def subscribers(self, case_id: str) -> int:
        with self._lock:
            return len(self._subs.get(case_id, []))

    def publish(self, case_id: str, items: list[dict[str, Any]]) -> None:
        with self._lock:
            subs = list(self._subs.get(case_id, ()))
        for sub in subs:
            try:
                sub.loop.call_soon_threadsafe(_put_all(sub.queue, items))
            except RuntimeError:  # the subscriber's loop is closed
                self.unsubscribe(sub)


def _put_all(q: asyncio.Queue[dict[str, Any]], items: list[dict[str, Any]]) -> Callable[[], None]:
    def put() -> None:
        for item in items:
            if q.full():
                q.get_nowait()
            q.put_nowait(item)

    return put
