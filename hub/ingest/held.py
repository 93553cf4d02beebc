"""Events held back behind a gap in a station's sequence, kept briefly to try again.

A station's events are stored in station order; one that would jump over a gap is held
back (``pipeline._held_back``). The gap is usually on its way: a batch re-sent after a
broker restart, or a batch another hub worker (``$share`` subscription) is committing
right now. Dropping the held events would cost the station one receipt timeout per
window; keeping them here lets the worker store them as soon as the gap is filled, by
this worker or by another one (the store's last sequence is re-read on every try).

Bounded in count and age: past either bound the oldest go, and the station's re-send
after its receipt timeout brings them again (the hub's dedup makes that harmless).
"""

from __future__ import annotations

import threading
import time
from collections import deque

from hub.ingest.pipeline import Incoming


class HeldEvents:
    """Held-back messages in arrival order; an item expires ``ttl_s`` after it first arrived.

    Thread-safe: on PostgreSQL the committer thread keeps what a commit held back and the
    writer thread takes it for the next batch."""

    def __init__(self, ttl_s: float, max_messages: int) -> None:
        self._ttl_s = ttl_s
        self._max = max_messages
        self._items: deque[Incoming] = deque()
        self._lock = threading.Lock()
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._items)

    def keep(self, messages: list[Incoming]) -> None:
        """Keep what a commit held back (re-wrapped messages keep their first arrival time)."""
        with self._lock:
            self._items.extend(messages)
            while len(self._items) > self._max:
                self._items.popleft()
                self.dropped += 1

    def take(self, now: float | None = None) -> list[Incoming]:
        """Everything still worth another try, oldest first; expired ones are dropped."""
        now = time.time() if now is None else now
        taken: list[Incoming] = []
        with self._lock:
            while self._items:
                message = self._items.popleft()
                if message.received_at + self._ttl_s <= now:
                    self.dropped += 1
                else:
                    taken.append(message)
        return taken
