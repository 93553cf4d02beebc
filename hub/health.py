"""Whether the hub can write: a rate-limited write probe plus the ingest writer's last commit.

``/healthz`` asks :meth:`WriteHealth.problems`. The probe writes one heartbeat row
(``hub.storage.heartbeat``) at most every ``probe_every_s``; calls in between get the last
answer, so a load balancer polling every second costs one small commit per interval. The
ingest writer reports each batch commit; a failed one counts until a later commit or probe
succeeds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from hub.ingest.timefmt import now_iso
from hub.storage.base import Store, StoreError

log = logging.getLogger(__name__)


class WriteHealth:
    def __init__(
        self,
        store: Store,
        holder: str,
        probe_every_s: float,
        timeout_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._holder = holder
        self._every = probe_every_s
        self._timeout = timeout_s
        self._clock = clock
        self._lock = threading.Lock()
        self._probe_lock = threading.Lock()
        self._probed_at: float | None = None
        self._probe_error = ""
        self._commit_error = ""
        self._commit_failed_at = 0.0
        self.on_change: Callable[[bool], None] | None = None  # e.g. a metrics gauge

    # -- the ingest writer ------------------------------------------------------------------
    def commit_ok(self) -> None:
        with self._lock:
            had = self._commit_error
            self._commit_error = ""
        if had:
            log.info("ingest commits work again")
            self._changed()

    def commit_failed(self, messages: int) -> None:
        """A batch could not be committed after its retries (the log has the exception); the
        next /healthz probes at once, so that it names the cause."""
        with self._lock:
            self._commit_failed_at = self._clock()
            self._commit_error = (
                f"a batch of {messages} message(s) could not be committed (see the hub log) / "
                f"un lote de {messages} mensaje(s) no se pudo guardar (ver el registro del hub)"
            )
        with self._probe_lock:
            self._probed_at = None
        self._changed()

    # -- /healthz ---------------------------------------------------------------------------
    def problems(self) -> list[str]:
        """What stops writes now, in words (bilingual); empty when writes work."""
        self._probe_if_due()
        with self._lock:
            found = []
            if self._probe_error:
                found.append(f"write probe failed: {self._probe_error}")
            if self._commit_error:
                found.append(f"last ingest commit failed: {self._commit_error}")
            return found

    def _probe_if_due(self) -> None:
        with self._probe_lock:  # one probe at a time; the others get its answer
            started = self._clock()
            if self._probed_at is not None and started - self._probed_at < self._every:
                return
            error = ""
            try:
                self._store.probe_write(self._holder, now_iso(), self._timeout)
            except StoreError as exc:
                error = exc.reason
            except Exception as exc:  # a probe must answer, whatever it hit
                error = f"{type(exc).__name__}: {exc}"
            self._probed_at = self._clock()
            with self._lock:
                changed = error != self._probe_error
                self._probe_error = error
                if not error and started >= self._commit_failed_at:
                    self._commit_error = ""  # writes work again: ingest's old error is history
            if changed:
                if error:
                    log.error("hub database cannot take writes: %s", error)
                else:
                    log.info("hub database takes writes again")
                self._changed()

    def _changed(self) -> None:
        if self.on_change is not None:
            with self._lock:
                ok = not self._probe_error and not self._commit_error
            self.on_change(ok)
