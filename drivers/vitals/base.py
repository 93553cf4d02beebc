"""The monitor interface and the neutral reading every vitals driver produces."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from drivers.base import Device, DeviceUnavailable, DriverError


@dataclass(frozen=True)
class NumericReading:
    """One numeric as the device gave it, before any mapping to LOINC or FHIR."""

    mdc_code: int
    mdc_refid: str
    value: float
    unit: str  # UCUM
    measured_at: datetime
    flags: tuple[str, ...] = field(default_factory=tuple)
    # HL7 OBX-4 containment path ("1.1.1.150456") where the protocol says it.
    containment: str = ""
    # EUI-64 (or serial) of the equipment that measured, where it differs per reading.
    equipment: str = ""
    # When the station received it (None: as it was read, i.e. now).
    received_at: datetime | None = None
    # The patient the message names (HL7 PID-3 identifiers, PID-5 "family^given"), if any.
    patient_ids: tuple[str, ...] = ()
    patient_name: str = ""
    # Message the reading came in (HL7 MSH-10); readings of one message belong together.
    message_id: str = ""
    # Where it was in the message ("OBX 4"), and why the driver could not read it, if so:
    # "not_a_number", "unknown_value_type", "missing_value_type", "bad_code". A reading
    # with a problem is still passed on (value NaN, ``raw_value`` as sent) so it is reported.
    source: str = ""
    problem: str = ""
    raw_value: str = ""


class MonitorError(DriverError):
    code = "monitor_error"


class NoReading(MonitorError):
    code = "no_reading"


class PortVanished(MonitorError, DeviceUnavailable):
    """The serial port went away (cable pulled, USB adapter unplugged)."""

    code = "port_vanished"


class FrameError(MonitorError):
    """Bytes that do not make a frame of the protocol (truncated, bad checksum, garbage)."""

    code = "bad_frame"


@runtime_checkable
class Monitor(Device, Protocol):
    def numerics(self, timeout_s: float) -> Iterator[NumericReading]:
        """Yield readings as the monitor sends them, until ``timeout_s`` passes."""
        ...
