"""Taking vitals: read one set of numerics from a monitor, record a spot observation.

The take claims its device while it reads (``vitals_router``): only readings measured
during the take, for the take's patient, make the set; the rest go to the inbox.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from drivers.base import DriverError
from drivers.vitals.base import Monitor, NoReading, NumericReading
from edge_agent.capabilities.vitals.attribution import REASONS, Claim
from edge_agent.capabilities.vitals.mapping import map_readings
from edge_agent.capabilities.vitals.settle import read_stable_set
from edge_agent.devices import DeviceManager, identity_pb
from edge_agent.errors import InvalidInput, from_driver_error
from edge_agent.events import timestamp
from edge_agent.record import RecordService
from protos import events_pb2

if TYPE_CHECKING:
    from edge_agent.capabilities.vitals.router import VitalsRouter

MAX_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class VitalsResult:
    event_id: str
    station_seq: int
    observation: events_pb2.VitalSignsObservation


def to_reading(r: NumericReading) -> events_pb2.Reading:
    reading = events_pb2.Reading(
        mdc_code=r.mdc_code, mdc_refid=r.mdc_refid, value=r.value, unit=r.unit, flags=r.flags
    )
    reading.measured_at.CopyFrom(timestamp(r.measured_at))
    return reading


def read_set(monitor: Monitor, timeout_s: float) -> list[NumericReading]:
    """One stable set (``vitals_settle``): every parameter settled, or the timeout."""
    return read_stable_set(monitor, timeout_s)


class VitalsService:
    def __init__(
        self,
        devices: DeviceManager,
        recorder: RecordService,
        router: VitalsRouter | None = None,
    ) -> None:
        self.devices = devices
        self.recorder = recorder
        # None only where a test drives the service without attribution (no inbox).
        self.router = router

    def take(
        self,
        device_id: str,
        case_id: str,
        patient_id: str,
        timeout_s: float = 10.0,
        patient_name: str = "",
    ) -> VitalsResult:
        if not 0 < timeout_s <= MAX_TIMEOUT_S:
            raise InvalidInput(
                f"timeout_s must be in (0, {MAX_TIMEOUT_S:g}] / "
                f"timeout_s debe estar entre 0 y {MAX_TIMEOUT_S:g}"
            )
        slot = self.devices.get(device_id)
        monitor = slot.device
        if not isinstance(monitor, Monitor):
            raise InvalidInput(
                f"device {device_id!r} is not a vitals monitor / "
                f"el dispositivo {device_id!r} no es un monitor de signos vitales",
                code="not_a_monitor",
            )
        # Validate the envelope before touching the device.
        self.recorder.build(
            payload_name="vital_signs",
            payload=events_pb2.VitalSignsObservation(mode="spot"),
            device_id=device_id,
            case_id=case_id,
            patient_id=patient_id,
        )
        claim = Claim(
            "take",
            str(uuid.uuid4()),
            device_id,
            case_id,
            patient_id,
            patient_name,
            datetime.now(UTC),
        )
        unassigned: dict[str, int] = {}
        try:
            with slot.lock:
                if self.router is None:
                    readings = read_set(monitor, timeout_s)
                else:
                    claimed = self.router.begin(claim, monitor)
                    try:
                        readings = read_stable_set(claimed, timeout_s)  # type: ignore[arg-type]  # the claim reads like a Monitor (duck-typed)
                    finally:
                        self.router.end(claim)
                    unassigned = claimed.reasons
                identity = monitor.identify()
        except DriverError as exc:
            raise from_driver_error(exc) from exc
        if not readings:
            why = "; ".join(f"{n} × {REASONS.get(k, k)}" for k, n in unassigned.items())
            raise from_driver_error(
                NoReading(
                    f"no reading for this take from {device_id!r} within {timeout_s:g}s / "
                    f"sin lecturas para esta toma de {device_id!r} en {timeout_s:g}s"
                    + (
                        f" — to the unassigned readings / a lecturas sin asignar: {why}"
                        if why
                        else ""
                    )
                )
            )
        accepted, rejected = map_readings(readings)
        observation = events_pb2.VitalSignsObservation(
            readings=accepted,
            rejected=rejected,
            monitor=identity_pb(identity, slot.driver),
            mode="spot",
        )
        event_id, seq = self.recorder.record(
            payload_name="vital_signs",
            payload=observation,
            device_id=device_id,
            case_id=case_id,
            patient_id=patient_id,
        )
        return VitalsResult(event_id, seq, observation)
