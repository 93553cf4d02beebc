"""Telemedicine streaming: a session binds a station's monitor to a case and streams its numerics.

While a session runs, every reading goes at once to the local subscribers
(gRPC server-streaming, SSE) and, batched, to the hub as VitalSignsObservation
events of mode "stream" with the session id. A batch is recorded when the
monitor pauses after a burst (``flush_idle_s``) or at the latest ``max_batch_s``
after its first reading. Start and stop are recorded too (mode
"session_start"/"session_stop"): the device association and its time span.

The session claims its monitor (``vitals_router``): readings measured before it started,
stale ones and ones naming another patient go to the unassigned-readings inbox instead.

A pulled cable does not end the session: the reader releases the device,
lets the device manager record the DISCONNECTED status, and resumes when the
port is back.
"""

from __future__ import annotations

import builtins  # StreamService.list shadows list in its class body
import logging
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from drivers.base import DriverError
from drivers.vitals.base import Monitor, NumericReading
from edge_agent.capabilities.vitals.attribution import Claim
from edge_agent.capabilities.vitals.errors import SessionConflict, SessionNotFound
from edge_agent.capabilities.vitals.mapping import map_reading
from edge_agent.devices import DeviceManager, DeviceSlot, identity_pb
from edge_agent.errors import AgentError, InvalidInput
from edge_agent.record import RecordService
from protos import events_pb2
from protos.vitals_codes import MODE_SESSION_START, MODE_SESSION_STOP, MODE_STREAM

if TYPE_CHECKING:
    from edge_agent.capabilities.vitals.router import VitalsRouter

log = logging.getLogger(__name__)

MAX_SUBSCRIBER_BACKLOG = 1000
# The reader asks the monitor for this long at a time, so a stop is seen within it even when
# the monitor sends nothing (before, the reader held the monitor until its next reading).
READ_CHUNK_S = 0.5
# A burst from a monitor never makes an event the hub refuses (it takes 500 readings at most
# in one event, hub.ingest.limits): a batch is recorded when it reaches this many.
MAX_READINGS_PER_EVENT = 400


@dataclass(frozen=True)
class LiveReading:
    """What local subscribers get: one reading (accepted or refused) of a session."""

    session_id: str
    case_id: str
    reading: events_pb2.Reading
    rejected: events_pb2.RejectedReading | None = None


END = None  # sentinel put on subscriber queues when the session ends


@dataclass
class Session:
    session_id: str
    device_id: str
    case_id: str
    patient_id: str
    operator_id: str
    started_at: datetime
    patient_name: str = ""
    stopped_at: datetime | None = None
    batches: int = 0
    readings: int = 0
    rejected: int = 0
    interruptions: int = 0
    monitor: events_pb2.DeviceIdentity = field(default_factory=events_pb2.DeviceIdentity)
    _stop: threading.Event = field(default_factory=threading.Event)
    _subscribers: list[queue.Queue[LiveReading | None]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.stopped_at is None

    def subscribe(self) -> queue.Queue[LiveReading | None]:
        q: queue.Queue[LiveReading | None] = queue.Queue(MAX_SUBSCRIBER_BACKLOG)
        with self._lock:
            if not self.active:
                q.put(END)
            self._subscribers.append(q)
        return q

    def unsubscribe(self, q: queue.Queue[LiveReading | None]) -> None:
        with self._lock:
            if q in self._subscribers:
                self._subscribers.remove(q)

    def _fan_out(self, item: LiveReading | None) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for q in subscribers:
            try:
                q.put_nowait(item)
            except queue.Full:  # a stalled client loses its oldest reading, not the session
                try:
                    q.get_nowait()
                    q.put_nowait(item)
                except (queue.Empty, queue.Full):
                    pass


class StreamService:
    def __init__(
        self,
        devices: DeviceManager,
        recorder: RecordService,
        *,
        max_batch_s: float = 1.0,
        flush_idle_s: float = 0.05,
        reconnect_s: float = 1.0,
        router: VitalsRouter | None = None,
    ) -> None:
        self.router = router  # None only where a test drives the service without attribution
        self.devices = devices
        self.recorder = recorder
        self.max_batch_s = max_batch_s
        self.flush_idle_s = flush_idle_s
        self.reconnect_s = reconnect_s
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    # -- public -----------------------------------------------------------------------------

    def start(
        self,
        device_id: str,
        case_id: str,
        patient_id: str,
        operator_id: str = "",
        patient_name: str = "",
    ) -> Session:
        slot = self.devices.get(device_id)
        if not isinstance(slot.device, Monitor):
            raise InvalidInput(
                f"device {device_id!r} is not a vitals monitor / "
                f"el dispositivo {device_id!r} no es un monitor de signos vitales",
                code="not_a_monitor",
            )
        with self._lock:
            for s in self._sessions.values():
                if s.active and s.device_id == device_id:
                    raise SessionConflict(
                        f"{device_id} already streams in session {s.session_id} / "
                        f"{device_id} ya transmite en la sesión {s.session_id}"
                    )
            session = Session(
                session_id=str(uuid.uuid4()),
                device_id=device_id,
                case_id=case_id,
                patient_id=patient_id,
                operator_id=operator_id,
                started_at=datetime.now(UTC),
                patient_name=patient_name,
                monitor=identity_pb(slot.identity, slot.driver),
            )
            self._record(session, MODE_SESSION_START, [], [], at=session.started_at)
            self._sessions[session.session_id] = session
        readings: queue.Queue[NumericReading] = queue.Queue()
        session._threads = [
            threading.Thread(
                target=self._read, args=(session, readings), name="vitals-read", daemon=True
            ),
            threading.Thread(
                target=self._batch, args=(session, readings), name="vitals-batch", daemon=True
            ),
        ]
        for t in session._threads:
            t.start()
        log.info(
            "vitals session %s started on %s",
            session.session_id,
            device_id,
            extra={"case_id": case_id, "station_id": self.recorder.settings.station_id},
        )
        return session

    def stop(self, session_id: str) -> Session:
        session = self.get(session_id)
        with self._lock:
            if not session.active:
                return session
            session._stop.set()
        # The reader leaves within one read chunk (releasing the monitor and its claim), then
        # the batcher records everything the reader passed on: no reading taken is lost.
        session._threads[0].join(READ_CHUNK_S * 4 + 5)
        session._threads[1].join(10)
        stopped = datetime.now(UTC)
        self._record(session, MODE_SESSION_STOP, [], [], at=stopped)
        session.stopped_at = stopped
        session._fan_out(END)
        log.info(
            "vitals session %s stopped (%d batches)",
            session.session_id,
            session.batches,
            extra={"case_id": session.case_id},
        )
        return session

    def stop_all(self) -> None:
        for s in list(self._sessions.values()):
            if s.active:
                try:
                    self.stop(s.session_id)
                except AgentError:
                    log.exception("stopping session %s failed", s.session_id)

    def get(self, session_id: str) -> Session:
        session = self._sessions.get(session_id)
        if session is None:
            raise SessionNotFound(
                f"no vitals session {session_id!r} / no existe la sesión {session_id!r}"
            )
        return session

    def list(self) -> list[Session]:
        return list(self._sessions.values())

    # -- internals --------------------------------------------------------------------------

    def _read(self, session: Session, out: queue.Queue[NumericReading]) -> None:
        slot = self.devices.get(session.device_id)
        monitor = slot.device
        assert isinstance(monitor, Monitor)
        claim = Claim(
            "stream",
            session.session_id,
            session.device_id,
            session.case_id,
            session.patient_id,
            session.patient_name,
            session.started_at,
        )
        first = True
        try:
            self._read_claimed(session, out, slot, monitor, claim, first)
        finally:
            if self.router is not None:
                self.router.end(claim)

    def _read_claimed(
        self,
        session: Session,
        out: queue.Queue[NumericReading],
        slot: DeviceSlot,
        monitor: Monitor,
        claim: Claim,
        first: bool,
    ) -> None:
        while not session._stop.is_set():
            failed = False
            with slot.lock:
                source: Monitor = monitor
                if self.router is not None:
                    claimed = (
                        self.router.begin(claim, monitor)
                        if first
                        else self.router.watch(claim, monitor)
                    )
                    source = claimed  # type: ignore[assignment]  # the claim reads like a Monitor (duck-typed)
                first = False
                try:
                    for reading in source.numerics(READ_CHUNK_S):
                        out.put(reading)
                        if session._stop.is_set():
                            break
                except DriverError as exc:
                    failed = True
                    session.interruptions += 1
                    log.warning(
                        "session %s: monitor interrupted (%s)",
                        session.session_id,
                        exc.code,
                        extra={"case_id": session.case_id},
                    )
            if failed:
                # The lock is free: the device manager reads health and records the status.
                self.devices.poll_once()
                session._stop.wait(self.reconnect_s)
                self.devices.poll_once()

    def _batch(self, session: Session, source: queue.Queue[NumericReading]) -> None:
        accepted: list[events_pb2.Reading] = []
        rejected: list[events_pb2.RejectedReading] = []
        first_at = 0.0
        while True:
            # Stopping once the reader has left: what it passed on last is still recorded.
            stopping = session._stop.is_set() and not session._threads[0].is_alive()
            if accepted or rejected:
                wait = min(self.flush_idle_s, first_at + self.max_batch_s - time.monotonic())
            else:
                wait = 0.2
            try:
                r = source.get(timeout=max(0.0, wait)) if not stopping else source.get_nowait()
            except queue.Empty:
                r = None
            if r is not None:
                reading, refused = map_reading(r)
                if not (accepted or rejected):
                    first_at = time.monotonic()
                if refused is None:
                    accepted.append(reading)
                else:
                    rejected.append(refused)
                session._fan_out(LiveReading(session.session_id, session.case_id, reading, refused))
                full = len(accepted) + len(rejected) >= MAX_READINGS_PER_EVENT
                if time.monotonic() - first_at < self.max_batch_s and not full:
                    continue
            if accepted or rejected:
                try:
                    self._record(session, MODE_STREAM, accepted, rejected)
                    session.batches += 1
                    session.readings += len(accepted)
                    session.rejected += len(rejected)
                except AgentError as exc:
                    log.error(
                        "session %s: batch not recorded (%s)",
                        session.session_id,
                        exc.code,
                        extra={"case_id": session.case_id},
                    )
                accepted, rejected = [], []
            if stopping and r is None:
                return

    def _record(
        self,
        session: Session,
        mode: str,
        readings: builtins.list[events_pb2.Reading],
        rejected: builtins.list[events_pb2.RejectedReading],
        at: datetime | None = None,
    ) -> tuple[str, int]:
        observation = events_pb2.VitalSignsObservation(
            readings=readings,
            rejected=rejected,
            monitor=session.monitor,
            mode=mode,
            session_id=session.session_id,
            operator_id=session.operator_id,
        )
        return self.recorder.record(
            payload_name="vital_signs",
            payload=observation,
            device_id=session.device_id,
            case_id=session.case_id,
            patient_id=session.patient_id,
            occurred_at=at,
        )
