"""Where each reading goes: to the take or stream that claims its device, or to the inbox.

Takes and streams register a :class:`~edge_agent.capabilities.vitals.attribution.Claim` for
their device while they run and read the monitor through :meth:`VitalsRouter.claimed`,
which passes on only readings the attribution rules give them and puts the rest in the
inbox. What was already waiting when the claim began goes to the inbox as "before_start".
Between claims a sweeper collects, every ``inbox_sweep_s``, what monitors push on their
own (an MLLP sender, a serial monitor left streaming) into the inbox as "no_take", so a
reading never waits silently for the next take of another patient.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

from drivers.base import Device, DriverError
from drivers.vitals.base import Monitor, NumericReading
from edge_agent.capabilities.vitals.attribution import Claim, is_stale, judge
from edge_agent.capabilities.vitals.inbox import VitalsInbox
from edge_agent.capabilities.vitals.settings import VitalsSettings
from edge_agent.devices import DeviceManager, identity_pb

log = logging.getLogger(__name__)


def pending_of(device: Device | None) -> list[NumericReading]:
    """What a monitor already holds (``pending()`` where the driver has it)."""
    pending = getattr(device, "pending", None)
    if pending is None:
        return []
    result: list[NumericReading] = pending()
    return result


class _ClaimedMonitor:
    """A monitor seen through a claim: ``numerics`` yields only the claim's readings."""

    def __init__(
        self,
        router: VitalsRouter,
        monitor: Monitor,
        claim: Claim,
        first: list[NumericReading] | None = None,
    ) -> None:
        self._router = router
        self._monitor = monitor
        self.claim = claim
        self.unassigned = 0
        self.reasons: dict[str, int] = {}
        self._first = list(first or [])  # arrived after the claim began, before it read

    def numerics(self, timeout_s: float) -> Iterator[NumericReading]:
        first, self._first = self._first, []
        stream = self._monitor.numerics(timeout_s)
        try:
            for r in itertools.chain(first, stream):
                reason = judge(r, self.claim, self._router.settings)
                if reason is None:
                    yield r
                    continue
                self.unassigned += 1
                self.reasons[reason] = self.reasons.get(reason, 0) + 1
                self._router.to_inbox(self.claim.device_id, [r], reason)
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()

    def identify(self) -> object:
        return self._monitor.identify()


class VitalsRouter:
    def __init__(
        self, devices: DeviceManager, inbox: VitalsInbox, settings: VitalsSettings
    ) -> None:
        self.devices = devices
        self.inbox = inbox
        self.settings = settings
        self._claims: dict[str, Claim] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- claims -------------------------------------------------------------------------------

    def begin(self, claim: Claim, monitor: Monitor) -> _ClaimedMonitor:
        """Register ``claim`` (the caller holds the device's slot lock); inbox what waits."""
        with self._lock:
            self._claims[claim.device_id] = claim
        try:
            waiting = pending_of(monitor)
        except DriverError as exc:
            log.info("pending readings of %s not read: %s", claim.device_id, exc.code)
            waiting = []
        # Stamped on arrival (MLLP) after the claim began: the claim's to judge. Unstamped
        # bytes a serial port held were sent before anyone read them: before the start.
        late = [r for r in waiting if r.received_at and r.received_at >= claim.started_at]
        early = [r for r in waiting if not (r.received_at and r.received_at >= claim.started_at)]
        if early:
            self.to_inbox(claim.device_id, early, "before_start")
        return _ClaimedMonitor(self, monitor, claim, late)

    def watch(self, claim: Claim, monitor: Monitor) -> _ClaimedMonitor:
        """``monitor`` seen through ``claim`` (already registered)."""
        return _ClaimedMonitor(self, monitor, claim)

    def end(self, claim: Claim) -> None:
        with self._lock:
            if self._claims.get(claim.device_id) is claim:
                del self._claims[claim.device_id]

    def claims(self) -> list[Claim]:
        with self._lock:
            return list(self._claims.values())

    def claim_of(self, device_id: str) -> Claim | None:
        with self._lock:
            return self._claims.get(device_id)

    def to_inbox(self, device_id: str, readings: list[NumericReading], reason: str) -> None:
        if not readings:
            return
        now = datetime.now(UTC)
        try:
            slot = self.devices.get(device_id)
            monitor = identity_pb(slot.identity, slot.driver)
        except Exception:
            monitor = None
        stale = [r for r in readings if is_stale(r, self.settings, now)]
        fresh = [r for r in readings if not is_stale(r, self.settings, now)]
        if stale:
            self.inbox.add(device_id, stale, reason, monitor, stale=True)
        if fresh:
            self.inbox.add(device_id, fresh, reason, monitor)

    # -- the sweeper --------------------------------------------------------------------------

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="vitals-inbox", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def sweep_once(self) -> int:
        """Move what monitors pushed outside any claim to the inbox; how many readings."""
        moved = 0
        for info in self.devices.list():
            if self.claim_of(info.device_id) is not None:
                continue
            try:
                slot = self.devices.get(info.device_id)
            except Exception:
                continue
            if slot.device is None or not hasattr(slot.device, "pending"):
                continue
            if not slot.lock.acquire(blocking=False):
                continue  # a take or stream is starting or running on it
            try:
                if self.claim_of(info.device_id) is not None:
                    continue
                readings = pending_of(slot.device)
            except DriverError:
                continue
            finally:
                slot.lock.release()
            if readings:
                self.to_inbox(info.device_id, readings, "no_take")
                moved += len(readings)
        return moved

    def _run(self) -> None:
        while not self._stop.wait(self.settings.inbox_sweep_s):
            try:
                self.sweep_once()
                self.inbox.flush_audit()
            except Exception:
                log.exception("collecting unassigned readings failed")
