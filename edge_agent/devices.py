"""The device manager: loads the station's drivers, polls their health, records state changes."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from drivers.base import Device, DeviceHealth, DriverError, Health, Identity, load_driver
from edge_agent.errors import AgentError, UnknownDevice
from edge_agent.settings import DeviceConfig
from protos import device_catalogue, events_pb2

log = logging.getLogger(__name__)

_STATE = {
    Health.CONNECTED: events_pb2.CONNECTED,
    Health.DISCONNECTED: events_pb2.DISCONNECTED,
    Health.ERROR: events_pb2.ERROR,
    Health.BUSY: events_pb2.BUSY,
    Health.UNSUPPORTED: events_pb2.UNSUPPORTED,
}

# record(payload_name=..., payload=..., device_id=...) -> (event_id, station_seq)
Recorder = Callable[..., tuple[str, int]]


def identity_pb(identity: Identity | None, driver: str) -> events_pb2.DeviceIdentity:
    if identity is None:
        return events_pb2.DeviceIdentity(driver=driver)
    return events_pb2.DeviceIdentity(
        model=identity.model,
        vendor=identity.vendor,
        serial=identity.serial,
        firmware=identity.firmware,
        usb_id=identity.usb_id,
        eui64=identity.eui64,
        driver=driver,
    )


@dataclass(frozen=True)
class DeviceInfo:
    device_id: str
    family: str
    driver: str
    state: int  # events_pb2.DeviceState
    identity: events_pb2.DeviceIdentity
    error_code: str
    detail: str

    @property
    def state_name(self) -> str:
        return events_pb2.DeviceState.Name(self.state)


@dataclass
class DeviceSlot:
    """One configured device: its driver instance (None if it failed to load) and last state."""

    device_id: str
    driver: str
    options: dict[str, Any]
    device: Device | None = None
    family: str = ""
    identity: Identity | None = None
    state: int = events_pb2.DEVICE_STATE_UNSPECIFIED
    reported: int = events_pb2.DEVICE_STATE_UNSPECIFIED  # last state recorded as an event
    error_code: str = ""
    detail: str = ""
    since: float = field(default_factory=time.time)  # wall time the state last changed
    lock: threading.Lock = field(default_factory=threading.Lock)


class DeviceManager:
    def __init__(
        self,
        configs: list[DeviceConfig],
        record: Recorder,
        poll_s: float,
        prepare: Callable[[Device], None] | None = None,
    ) -> None:
        # Called (from the poller or a use case) after a device's state changed, e.g. to
        # publish the station state ops read on the fleet page.
        self.on_change: Callable[[], None] | None = None
        # Called with each driver instance once loaded, before it opens (e.g. the agent's
        # review of HL7 messages, answered in their ACKs).
        self._prepare = prepare
        self._slots = {
            c.device_id: DeviceSlot(c.device_id, c.driver, dict(c.options)) for c in configs
        }
        self._record = record
        self._poll_s = poll_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Start, stop and reconfigure one at a time: a remote config that arrives while the
        # agent is still opening its devices must not open a second driver on the same port
        # (seen: an MLLP listener's port "already in use", a PKCS#11 module loaded twice).
        self._life = threading.RLock()
        self._running = False

    def start(self) -> None:
        """Open the devices and start polling; a second call while running does nothing (a
        remote config applied while the agent starts may have started them already)."""
        with self._life:
            if self._running:
                return
            self._running = True
            for slot in self._slots.values():
                self._load(slot)
            self.poll_once()
            self._thread = threading.Thread(target=self._run, name="device-poll", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._life:
            self._running = False
            self._stop.set()
            if self._thread is not None:
                self._thread.join(5)
            for slot in self._slots.values():
                if slot.device is not None:
                    try:
                        slot.device.close()
                    except Exception:  # a driver failing to close must not stop the agent
                        log.exception("closing %s failed", slot.device_id)

    def reconfigure(
        self, configs: list[DeviceConfig], poll_s: float | None = None, start: bool = True
    ) -> None:
        """Replace the device set (remote config): close the old drivers, load the new ones.

        Only the devices and their poller restart; the outbox and the uplink are untouched.
        """
        with self._life:
            self.stop()
            self._stop = threading.Event()
            self._slots = {
                c.device_id: DeviceSlot(c.device_id, c.driver, dict(c.options)) for c in configs
            }
            if poll_s is not None:
                self._poll_s = poll_s
            if start:
                self.start()

    def get(self, device_id: str) -> DeviceSlot:
        slot = self._slots.get(device_id)
        if slot is None:
            raise UnknownDevice(
                f"no device {device_id!r} at this station / "
                f"no hay un dispositivo {device_id!r} en esta estación"
            )
        return slot

    def device(self, device_id: str) -> Device | None:
        return self.get(device_id).device

    def list(self) -> list[DeviceInfo]:
        return [
            DeviceInfo(
                s.device_id,
                s.family,
                s.driver,
                s.state,
                identity_pb(s.identity, s.driver),
                s.error_code,
                s.detail,
            )
            for s in self._slots.values()
        ]

    def reported(self) -> Sequence[events_pb2.ReportedDevice]:
        """Every configured device as the station state reports it to the hub."""
        out = []
        for s in list(self._slots.values()):
            item = events_pb2.ReportedDevice(
                device_id=s.device_id,
                driver=s.driver,
                family=s.family or _family(s.driver),
                state=s.state,  # type: ignore[arg-type]  # an int the protobuf enum field accepts
                error_code=s.error_code,
                identity=identity_pb(s.identity, s.driver),
            )
            item.since.FromNanoseconds(int(s.since * 1e9))
            out.append(item)
        return out

    def refresh(self, device_id: str, *, force: bool = False, held: bool = False) -> None:
        """Read one device's health now (a use case just saw it fail or recover); record it.

        Recorded when the state or error code changed, or always with ``force`` (a scanner's
        jam, empty feeder or open cover is each a DeviceStatus, even in the same state).
        ``held``: the caller holds the slot's lock (so the poller cannot report it twice).
        """
        slot = self.get(device_id)
        if slot.device is None:
            return
        if held:
            health = self._health(slot.device)
        else:
            with slot.lock:
                health = self._health(slot.device)
        state = _STATE[health.health]
        changed = (state, health.error_code) != (slot.state, slot.error_code)
        self._set(slot, state, health.error_code, health.detail)
        if changed or force or slot.state != slot.reported:
            self._report(slot)

    def poll_once(self) -> None:
        """Read every device's health once; record a DeviceStatus for each change."""
        for slot in self._slots.values():
            if slot.device is not None:
                if not slot.lock.acquire(blocking=False):
                    continue  # in use by a use case right now: it is evidently there
                try:
                    health = self._health(slot.device)
                    if health.health == Health.CONNECTED and slot.identity is None:
                        slot.identity = self._identify(slot.device)
                finally:
                    slot.lock.release()
                self._set(slot, _STATE[health.health], health.error_code, health.detail)
            if slot.state != slot.reported:
                self._report(slot)

    # -- internals ----------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.wait(self._poll_s):
            try:
                self.poll_once()
            except Exception:
                log.exception("device poll failed")

    def _load(self, slot: DeviceSlot) -> None:
        problem = _settings_problem(slot.driver, slot.options)
        if problem is not None:  # refused before the driver sees it, named like ops see it
            self._set(slot, events_pb2.ERROR, "invalid_settings", problem)
            return
        try:
            device = load_driver(slot.driver, slot.options)
        except DriverError as exc:
            self._set(slot, events_pb2.ERROR, exc.code, exc.reason)
            return
        except Exception as exc:  # a third-party driver may fail any way it likes
            self._set(slot, events_pb2.ERROR, "driver_load_failed", f"{type(exc).__name__}: {exc}")
            return
        slot.device = device
        slot.family = getattr(device, "family", "")
        if self._prepare is not None:
            self._prepare(device)
        try:
            device.open()
        except DriverError as exc:
            log.info("device %s did not open: %s", slot.device_id, exc.code)

    @staticmethod
    def _health(device: Device) -> DeviceHealth:
        try:
            return device.health()
        except DriverError as exc:
            return DeviceHealth(Health.ERROR, exc.code, exc.reason)
        except Exception as exc:
            return DeviceHealth(Health.ERROR, "health_failed", f"{type(exc).__name__}: {exc}")

    @staticmethod
    def _identify(device: Device) -> Identity | None:
        try:
            return device.identify()
        except Exception:
            return None

    @staticmethod
    def _set(slot: DeviceSlot, state: int, error_code: str, detail: str) -> None:
        if state != slot.state:
            slot.since = time.time()
        slot.state, slot.error_code, slot.detail = state, error_code, detail

    def _report(self, slot: DeviceSlot) -> None:
        status = events_pb2.DeviceStatus(
            family=slot.family,
            state=slot.state,  # type: ignore[arg-type]  # an int the protobuf enum field accepts
            previous_state=slot.reported,  # type: ignore[arg-type]  # an int the protobuf enum field accepts
            identity=identity_pb(slot.identity, slot.driver),
            error_code=slot.error_code,
            detail=slot.detail,
        )
        try:
            self._record(payload_name="device_status", payload=status, device_id=slot.device_id)
        except AgentError as exc:
            log.warning(
                "device status not recorded (%s); will retry",
                exc.code,
                extra={"device_id": slot.device_id},
            )
            return
        log.info(
            "device %s: %s -> %s",
            slot.device_id,
            events_pb2.DeviceState.Name(slot.reported),
            events_pb2.DeviceState.Name(slot.state),
            extra={"device_id": slot.device_id},
        )
        slot.reported = slot.state
        if self.on_change is not None:
            try:
                self.on_change()
            except Exception:  # the state message is a courtesy; the event is recorded
                log.exception("device change hook failed")


def _family(driver: str) -> str:
    spec = device_catalogue.entry(driver)
    return str(spec["family"]) if spec else ""


def _settings_problem(driver: str, options: dict[str, Any]) -> str | None:
    """The catalogue's objection to a device's options (both languages), or None."""
    if device_catalogue.entry(driver) is None:
        return None  # not catalogued: load_driver says whether it is installed
    try:
        device_catalogue.check_settings(driver, options)
    except device_catalogue.SettingsProblem as exc:
        return exc.reason
    return None
