"""Dispensing sessions: scanned items checked against catalogue, expiry and prescription, then
confirmed by the patient's fingerprint and recorded as one signed MedicationDispensed event.

A session lives in memory while the pharmacist scans (minutes); the fact that
matters — what was handed over, confirmed — goes to the outbox like every
event, so it survives a crash and an offline link once finished. Refused
items (expired, expiring before the treatment ends, duplicate serial,
unknown or not prescribed) are shown as warnings and never counted.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from drivers.barcode.base import split_symbology
from drivers.base import DriverError
from edge_agent.capabilities.pharmacy.catalogue import Catalogue
from edge_agent.capabilities.pharmacy.errors import (
    ItemRefused,
    NotConfirmed,
    ScannerInUse,
    SessionClosed,
    SessionNotFound,
    UnreadableScan,
)
from edge_agent.capabilities.pharmacy.gs1 import ParsedItem, parse_scan
from edge_agent.errors import AgentError, InvalidInput
from edge_agent.events import timestamp
from edge_agent.identity import SIGNATURE_ALGORITHM
from protos import events_pb2
from protos.dispensing_signing import canonical_bytes
from protos.event_ids import new_event_id

if TYPE_CHECKING:
    from edge_agent.capabilities.pharmacy.sync import CatalogueSync

log = logging.getLogger(__name__)

STEP = "pharmacy"
MAX_LINES = 50
MAX_ITEMS = 100  # x ~250 B per item: the event stays well under the hub's 64 KiB limit
MAX_SUBSCRIBERS = 8
KEEP_CLOSED = 100  # finished/cancelled sessions kept for GET (newest); older ones forgotten


@dataclass
class Line:
    product_code: str
    quantity: int
    duration_days: int
    dispensed: int = 0

    @property
    def status(self) -> str:
        if self.dispensed == self.quantity:
            return "complete"
        return "short" if self.dispensed < self.quantity else "over"

    def pb(self) -> events_pb2.PrescriptionLineDispensed:
        return events_pb2.PrescriptionLineDispensed(
            product_code=self.product_code,
            quantity_prescribed=self.quantity,
            duration_days=self.duration_days,
            quantity_dispensed=self.dispensed,
            status=self.status,
        )

    def difference(self) -> str:
        if self.status == "complete":
            return ""
        n = abs(self.quantity - self.dispensed)
        en, es = ("short", "faltan") if self.status == "short" else ("over", "sobran")
        return (
            f"{self.product_code}: prescribed {self.quantity}, dispensed {self.dispensed} "
            f"({en} {n}) / recetado {self.quantity}, despachado {self.dispensed} ({es} {n})"
        )


@dataclass(frozen=True)
class Update:
    """One thing that happened in a session, as the station page and gRPC stream show it."""

    session_id: str
    kind: str  # "item", "refused", "unreadable", "finished", "cancelled"
    item: events_pb2.DispensedItem | None = None
    code: str = ""
    warning: str = ""
    lines: tuple[events_pb2.PrescriptionLineDispensed, ...] = ()
    differences: tuple[str, ...] = ()
    at: float = field(default_factory=time.monotonic)


class Watch(queue.Queue[Update | None]):
    """A watcher's bounded queue that calls ``on_put`` after each put, so an SSE loop waits
    for the next update instead of polling for it."""

    def __init__(self, on_put: Callable[[], None] | None = None) -> None:
        super().__init__(maxsize=1000)
        self.on_put = on_put

    def put(self, item: Update | None, block: bool = True, timeout: float | None = None) -> None:
        super().put(item, block, timeout)  # put_nowait comes here too
        if self.on_put is not None:  # outside the queue's lock: the callback may read it
            with contextlib.suppress(RuntimeError):  # the watcher's event loop already closed
                self.on_put()


@dataclass
class Session:
    session_id: str
    case_id: str
    patient_id: str
    prescription_id: str
    pharmacist_id: str
    scanner_device_id: str
    lines: list[Line]
    items: list[events_pb2.DispensedItem] = field(default_factory=list)
    refusals: list[Update] = field(default_factory=list)
    state: str = "open"
    serials: set[tuple[str, str]] = field(default_factory=set)
    subscribers: list[queue.Queue[Update | None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    event_id: str = ""
    confirmation_event_id: str = ""

    def differences(self) -> tuple[str, ...]:
        return tuple(d for line in self.lines if (d := line.difference()))

    def subscribe(self, on_put: Callable[[], None] | None = None) -> queue.Queue[Update | None]:
        """A watcher's queue of updates (None: the session ended); ``on_put`` is called after
        each update is queued, from the publishing thread (an event loop's wake-up)."""
        q: queue.Queue[Update | None] = Watch(on_put)
        with self.lock:
            if len(self.subscribers) >= MAX_SUBSCRIBERS:
                raise InvalidInput(
                    f"more than {MAX_SUBSCRIBERS} watchers of one session / "
                    "demasiados observadores de la sesión",
                    code="too_many_watchers",
                )
            self.subscribers.append(q)
            if self.state != "open":
                q.put_nowait(None)
        return q

    def unsubscribe(self, q: queue.Queue[Update | None]) -> None:
        with self.lock, contextlib.suppress(ValueError):
            self.subscribers.remove(q)


@dataclass(frozen=True)
class FinishResult:
    event_id: str
    station_seq: int
    confirmation_event_id: str
    session: Session


def _refused(code: str, en: str, es: str) -> ItemRefused:
    return ItemRefused(f"{en} / {es}", code=code)


class DispensingService:
    def __init__(
        self,
        catalogue: Catalogue,
        record: Any,  # edge_agent.record.RecordService
        identity: Any,  # edge_agent.identity.StationIdentity
        fingerprint: Any = None,  # edge_agent.capabilities.fingerprint.service.FingerprintService
        devices: Any = None,  # edge_agent.devices.DeviceManager
        today: Callable[[], date] = lambda: datetime.now(UTC).astimezone().date(),
    ) -> None:
        self.catalogue = catalogue
        self.record = record
        self.identity = identity
        self.fingerprint = fingerprint
        self.devices = devices
        self.today = today
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._readers: list[threading.Thread] = []
        self._scanner_locks: dict[str, threading.Lock] = {}
        self.sync: CatalogueSync | None = None  # set by the agent

    # -- sessions --------------------------------------------------------------------------

    def open(
        self,
        case_id: str,
        patient_id: str,
        prescription_id: str,
        lines: list[tuple[str, int, int]],
        pharmacist_id: str,
        scanner_device_id: str = "",
    ) -> Session:
        # The envelope's rules (case and patient ids) are checked now, not at the end.
        self.record.build(
            payload_name="medication_dispensed",
            payload=events_pb2.MedicationDispensed(),
            case_id=case_id,
            patient_id=patient_id,
        )
        if not pharmacist_id or len(pharmacist_id) > 64:
            raise InvalidInput(
                "pharmacist_id is required (1-64 characters) / se requiere pharmacist_id",
                code="missing_field",
            )
        if not 1 <= len(lines) <= MAX_LINES:
            raise InvalidInput(
                f"a prescription needs 1 to {MAX_LINES} lines / la receta necesita de 1 a "
                f"{MAX_LINES} líneas",
                code="bad_prescription",
            )
        parsed: list[Line] = []
        for i, (code, qty, days) in enumerate(lines, 1):
            if not code or len(code) > 32 or not 1 <= qty <= 100_000 or not 0 <= days <= 3650:
                raise InvalidInput(
                    f"prescription line {i}: product_code 1-32 characters, quantity 1..100000, "
                    f"duration_days 0..3650 / línea {i} de la receta no válida",
                    code="bad_prescription",
                )
            parsed.append(Line(code, qty, days))
        if scanner_device_id and self.devices is not None:
            self.devices.get(scanner_device_id)  # UnknownDevice if not at this station
        session = Session(
            new_event_id(),
            case_id,
            patient_id,
            prescription_id[:64],
            pharmacist_id,
            scanner_device_id,
            parsed,
        )
        with self._lock:
            busy = [
                x
                for x in self._sessions.values()
                if x.state == "open"
                and scanner_device_id
                and x.scanner_device_id == scanner_device_id
            ]
            if busy:
                raise ScannerInUse(
                    f"scanner {scanner_device_id} is reading for another open session (case "
                    f"{busy[0].case_id}): finish or cancel it first / el lector "
                    f"{scanner_device_id} está en uso por otra sesión abierta",
                )
            closed = [x for x in self._sessions.values() if x.state != "open"]
            for old in closed[: max(0, len(closed) - KEEP_CLOSED)]:
                del self._sessions[old.session_id]
            self._sessions[session.session_id] = session
        if scanner_device_id and self.devices is not None:
            t = threading.Thread(
                target=self._read_scanner, args=(session,), name="pharmacy-scanner", daemon=True
            )
            self._readers.append(t)
            t.start()
        log.info("dispensing session opened", extra={"case_id": case_id})
        return session

    def get(self, session_id: str) -> Session:
        with self._lock:
            session = self._sessions.get(session_id)
        if session is None:
            raise SessionNotFound(
                f"no dispensing session {session_id!r} / no existe la sesión {session_id!r}"
            )
        return session

    def list(self) -> list[Session]:
        with self._lock:
            return list(self._sessions.values())

    def cancel(self, session_id: str) -> Session:
        session = self.get(session_id)
        with session.lock:
            self._require_open(session)
            session.state = "cancelled"
            self._publish(session, Update(session.session_id, "cancelled"), end=True)
        return session

    # -- scans -----------------------------------------------------------------------------

    def scan(self, session_id: str, raw: str, scanned_at: datetime | None = None) -> Update:
        """A scan as the scanner sent it (identifier first). Refusals raise after being shown."""
        symbology, data = split_symbology(raw)
        return self.add(session_id, data, symbology, scanned_at)

    def add(
        self, session_id: str, data: str, symbology: str, scanned_at: datetime | None = None
    ) -> Update:
        session = self.get(session_id)
        with session.lock:
            try:
                self._require_open(session)
            except SessionClosed as exc:
                if session.state == "confirming":  # shown: the pack is not on the list
                    refusal = Update(
                        session.session_id, "refused", code=exc.code, warning=exc.reason
                    )
                    session.refusals.append(refusal)
                    self._publish(session, refusal)
                raise
            try:
                parsed = parse_scan(data, symbology)
                update = self._accept(session, parsed, scanned_at or datetime.now(UTC))
            except (UnreadableScan, ItemRefused) as exc:
                kind = "unreadable" if isinstance(exc, UnreadableScan) else "refused"
                refusal = Update(
                    session.session_id,
                    kind,
                    code=exc.code,
                    warning=exc.reason,
                    lines=tuple(line.pb() for line in session.lines),
                    differences=session.differences(),
                )
                session.refusals.append(refusal)
                self._publish(session, refusal)
                raise
            self._publish(session, update)
            return update

    def _accept(self, session: Session, p: ParsedItem, at: datetime) -> Update:
        product = self.catalogue.lookup(p.gtin)
        if product is None:
            raise _refused(
                "unknown_item",
                f"GTIN {p.gtin} is not in the catalogue (version "
                f"{self.catalogue.version() or 'none'}): do not hand it over",
                f"el GTIN {p.gtin} no está en el catálogo: no lo entregue",
            )
        line = self._line_for(session, product.gtin, product.institute_code)
        if line is None:
            raise _refused(
                "not_prescribed",
                f"{product.name} ({product.institute_code}) is not on this prescription",
                f"{product.name} ({product.institute_code}) no está en esta receta",
            )
        today = self.today()
        warnings: list[str] = []
        if p.expiry is not None:
            if p.expiry < today:
                raise _refused(
                    "expired",
                    f"{product.name} lot {p.lot or '?'} EXPIRED on {p.expiry}: do not hand it over",
                    f"{product.name} lote {p.lot or '?'} VENCIDO el {p.expiry}: no lo entregue",
                )
            ends = today + timedelta(days=line.duration_days)
            if p.expiry < ends:
                raise _refused(
                    "expires_during_treatment",
                    f"{product.name} lot {p.lot or '?'} expires on {p.expiry}, before the "
                    f"{line.duration_days}-day treatment ends ({ends}): choose another pack",
                    f"{product.name} lote {p.lot or '?'} vence el {p.expiry}, antes de que "
                    f"termine el tratamiento de {line.duration_days} días ({ends}): "
                    "elija otro empaque",
                )
        else:
            warnings.append(
                "expiry not in the barcode: check it on the pack / "
                "la caducidad no viene en el código: revísela en el empaque"
            )
        if p.serial:
            key = (p.gtin, p.serial)
            earlier = self.catalogue.serial_used(*key)
            if key in session.serials or earlier:
                raise _refused(
                    "duplicate_serial",
                    f"pack {p.gtin} serial {p.serial} was already "
                    + ("scanned in this session" if key in session.serials else "dispensed"),
                    f"el empaque {p.gtin} serie {p.serial} ya fue "
                    + ("escaneado en esta sesión" if key in session.serials else "despachado"),
                )
        else:
            warnings.append(
                "no serial number: a second scan of the same pack cannot be detected / "
                "sin número de serie: no se puede detectar un segundo escaneo del mismo empaque"
            )
        if len(session.items) >= MAX_ITEMS:
            raise _refused("too_many_items", "too many items", "demasiados artículos")
        units = product.units_per_pack * (p.quantity or 1)
        item = events_pb2.DispensedItem(
            gtin=p.gtin,
            institute_code=product.institute_code,
            name=product.name,
            lot=p.lot,
            expiry=p.expiry.isoformat() if p.expiry else "",
            serial=p.serial,
            quantity=units,
            raw=p.raw,
            measure=float(p.measure) if p.measure is not None else 0.0,
            measure_unit=p.measure_unit,
            warning="; ".join(warnings),
        )
        item.scanned_at.CopyFrom(timestamp(at))
        if p.serial:
            session.serials.add((p.gtin, p.serial))
        session.items.append(item)
        line.dispensed += units
        return Update(
            session.session_id,
            "item",
            item=item,
            warning=item.warning,
            lines=tuple(x.pb() for x in session.lines),
            differences=session.differences(),
        )

    @staticmethod
    def _line_for(session: Session, gtin: str, code: str) -> Line | None:
        matching = [x for x in session.lines if x.product_code in (gtin, gtin.lstrip("0"), code)]
        open_lines = [x for x in matching if x.dispensed < x.quantity]
        if open_lines:
            return open_lines[0]
        return matching[0] if matching else None

    # -- finish ----------------------------------------------------------------------------

    def finish(
        self, session_id: str, fingerprint_device_id: str, *, image: Any = None
    ) -> FinishResult:
        session = self.get(session_id)
        with session.lock:
            self._require_open(session)
            if not session.items:
                raise InvalidInput(
                    "nothing was scanned: there is nothing to confirm / "
                    "no se escaneó nada: no hay nada que confirmar",
                    code="nothing_dispensed",
                )
            if self.fingerprint is None:
                raise AgentError("fingerprint is not set up / la huella no está configurada")
            # The patient confirms what is listed now: no scan joins while the finger is read.
            session.state = "confirming"
        try:
            verified = self.fingerprint.verify(
                fingerprint_device_id,
                session.case_id,
                session.patient_id,
                STEP,
                operator_id=session.pharmacist_id,
                image=image,
            )
        except BaseException:
            session.state = "open"
            raise
        c = verified.confirmation
        if c.decision != events_pb2.MATCH:
            session.state = "open"
            raise NotConfirmed(
                "the patient's fingerprint did not match: nothing was recorded as dispensed; "
                "try again or follow the unit's procedure / la huella del paciente no coincidió: "
                "no se registró el despacho; intente de nuevo o siga el procedimiento de la unidad"
            )
        with session.lock:
            payload = events_pb2.MedicationDispensed(
                session_id=session.session_id,
                prescription_id=session.prescription_id,
                items=session.items,
                lines=[x.pb() for x in session.lines],
                differences=session.differences(),
                pharmacist_id=session.pharmacist_id,
                confirmation_event_id=verified.event_id,
                confirmation_decision=c.decision,
                confirmation_score=c.score,
                catalogue_version=self.catalogue.version(),
                signature_algorithm=SIGNATURE_ALGORITHM,
                station_cert_sha256=self.identity.fingerprint_sha256,
            )
            if session.scanner_device_id and self.devices is not None:
                device = self.devices.device(session.scanner_device_id)
                with contextlib.suppress(Exception):
                    ident = device.identify() if device is not None else None
                    if ident is not None:
                        payload.scanner.model = ident.model
                        payload.scanner.serial = ident.serial
            event = self.record.build(
                payload_name="medication_dispensed",
                payload=payload,
                case_id=session.case_id,
                patient_id=session.patient_id,
            )
            signature = self.identity.sign(canonical_bytes(event))
            event.medication_dispensed.station_signature = signature
            event_id, seq = self.record.outbox.append(event)
            self.catalogue.mark_dispensed(
                session.session_id, [(i.gtin, i.serial) for i in session.items]
            )
            session.state = "finished"
            session.event_id = event_id
            session.confirmation_event_id = verified.event_id
            self._publish(
                session,
                Update(
                    session.session_id,
                    "finished",
                    lines=tuple(x.pb() for x in session.lines),
                    differences=session.differences(),
                ),
                end=True,
            )
        log.info(
            "dispensed %d items",
            len(session.items),
            extra={"event_id": event_id, "case_id": session.case_id},
        )
        return FinishResult(event_id, seq, verified.event_id, session)

    # -- internals -------------------------------------------------------------------------

    @staticmethod
    def _require_open(session: Session) -> None:
        if session.state != "open":
            estado = {
                "finished": "finalizada",
                "cancelled": "cancelada",
                "confirming": "en confirmación por huella",
            }.get(session.state, session.state)
            raise SessionClosed(
                f"dispensing session {session.session_id} is {session.state} / "
                f"la sesión de despacho está {estado}"
            )

    @staticmethod
    def _publish(session: Session, update: Update, end: bool = False) -> None:
        for q in list(session.subscribers):
            with contextlib.suppress(queue.Full):
                q.put_nowait(update)
            if end:
                with contextlib.suppress(queue.Full):
                    q.put_nowait(None)

    def _read_scanner(self, session: Session) -> None:
        """Feed the session from its barcode scanner until it is finished or cancelled.

        One thread reads a scanner at a time: two threads on one port steal each other's
        bytes (pyserial then reports the port as gone), which happened when a session was
        closed and the next one opened within a read window. A scan read by this thread
        after its session closed goes to the session now open on the scanner, not lost."""
        device_id = session.scanner_device_id
        with self._lock:
            lock = self._scanner_locks.setdefault(device_id, threading.Lock())
        while session.state in ("open", "confirming") and not self._stop.is_set():
            device = self.devices.device(device_id)
            if device is None or getattr(device, "family", "") != "barcode":
                time.sleep(0.5)
                continue
            failed = ""
            with lock:
                if session.state not in ("open", "confirming"):
                    return
                try:
                    for scan in device.scans(0.3):
                        target = self._reading_session(device_id) or session
                        with contextlib.suppress(AgentError):
                            self.add(target.session_id, scan.data, scan.symbology, scan.read_at)
                except DriverError as exc:
                    failed = exc.reason
            if failed:
                log.warning("barcode scanner: %s", failed)
                time.sleep(0.5)

    def _reading_session(self, device_id: str) -> Session | None:
        """The session a scan on this scanner belongs to: the open one, else one confirming."""
        with self._lock:
            live = [
                x
                for x in self._sessions.values()
                if x.scanner_device_id == device_id and x.state in ("open", "confirming")
            ]
        return next((x for x in live if x.state == "open"), live[0] if live else None)

    def stop(self) -> None:
        self._stop.set()
        for t in self._readers:
            t.join(2)
