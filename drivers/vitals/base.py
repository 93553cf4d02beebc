"""The monitor interface and the neutral reading every vitals driver produces."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from drivers.base import Device, DriverError


@dataclass(frozen=True)
class NumericReading:
    """One numeric as the device gave it, before any mapping to LOINC or FHIR."""

    mdc_code: int
    mdc_refid: str
    value: float
    unit: str  # UCUM
    measured_at: datetime
    flags: tuple[str, ...] = field(default_factory=tuple)


class MonitorError(DriverError):
    code = "monitor_error"


class NoReading(MonitorError):
    code = "no_reading"


@runtime_checkable
class Monitor(Device, Protocol):
    def numerics(self, timeout_s: float) -> Iterator[NumericReading]:
        """Yield readings as the monitor sends them, until ``timeout_s`` passes."""
        ...
