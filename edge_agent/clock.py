"""The station's clock against the hub's, estimated from batch round trips (NTP's way).

For a batch sent once at station time ``t0`` whose receipt, committed at hub
time ``T``, arrives at station time ``t1``, the hub clock minus the station
clock is about ``T - (t0 + t1) / 2``, wrong by at most ``(t1 - t0) / 2``. Of the
samples of the last ``window_s`` the one with the smallest round trip is kept:
queueing in the broker or at a busy hub only lengthens round trips, so it never
enters the estimate (unlike "receipt time minus sent_at" at the hub).
Hand-written: it is a dozen lines over data the uplink already has; an NTP
client would measure against another server, not the hub that judges times.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

_STEP_SLACK_MS = 1000  # a sample further than this beyond both errors means a clock step


@dataclass(frozen=True)
class ClockOffset:
    offset_ms: int  # hub clock minus station clock
    error_ms: int

    def warning(self, limit_s: float) -> str:
        """One bilingual sentence when the station clock is off by more than ``limit_s``."""
        if abs(self.offset_ms) <= limit_s * 1000:
            return ""
        ahead = self.offset_ms < 0
        amount = _human(abs(self.offset_ms))
        return (
            f"station clock {amount} {'ahead of' if ahead else 'behind'} the hub: fix the PC's "
            f"time (NTP) / reloj de la estación {amount} "
            f"{'adelantado' if ahead else 'atrasado'} respecto al hub: corrija la hora del PC"
        )


def _human(ms: int) -> str:
    seconds = ms // 1000
    if seconds < 120:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h {minutes % 60} min" if hours < 48 else f"{hours // 24} d"


class ClockEstimate:
    def __init__(self, window_s: float = 600.0, max_samples: int = 256) -> None:
        self._window_s = window_s
        self._samples: deque[tuple[float, int, int]] = deque(maxlen=max_samples)
        self._lock = threading.Lock()

    def add(self, sent_wall: float, hub_committed: float, received_wall: float) -> None:
        """One round trip: station times of send and receipt, hub time of the commit."""
        rtt = received_wall - sent_wall
        if rtt < 0:  # the station clock was stepped meanwhile
            return
        offset_ms = round((hub_committed - (sent_wall + received_wall) / 2) * 1000)
        error_ms = round(rtt * 500)
        current = self.current()
        with self._lock:
            if current is not None and abs(offset_ms - current.offset_ms) > (
                error_ms + current.error_ms + _STEP_SLACK_MS
            ):
                self._samples.clear()  # one of the clocks was stepped: older samples are void
            self._samples.append((time.monotonic(), offset_ms, error_ms))

    def current(self) -> ClockOffset | None:
        cutoff = time.monotonic() - self._window_s
        with self._lock:
            while self._samples and self._samples[0][0] < cutoff and len(self._samples) > 1:
                self._samples.popleft()
            if not self._samples:
                return None
            _, offset, error = min(self._samples, key=lambda s: s[2])
        return ClockOffset(offset, error)
