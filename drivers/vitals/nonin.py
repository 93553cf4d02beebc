"""Nonin pulse oximeters, serial ASCII output (9600 baud): ``SPO2=097 HR=072`` once a second.

``---`` in place of a number means no reading (finger out, searching); that
numeric is left out, never sent as zero.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

from drivers.base import DriverManifest
from drivers.vitals.base import NumericReading
from drivers.vitals.masimo import LineDecoder
from drivers.vitals.serialport import OXIMETRY, SerialMonitor, serial_settings

_PAIR = re.compile(rb"(SPO2|HR)\s*=\s*(---|\d{1,3})", re.IGNORECASE)
_NUMERICS = {
    b"SPO2": (150456, "MDC_PULS_OXIM_SAT_O2", "%"),
    b"HR": (149530, "MDC_PULS_OXIM_PULS_RATE", "/min"),
}


def parse_line(
    line: bytes, now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> list[NumericReading]:
    at = now()
    readings = []
    for name, raw in _PAIR.findall(line):
        if raw == b"---":
            continue
        code, refid, unit = _NUMERICS[name.upper()]
        readings.append(NumericReading(code, refid, float(raw), unit, at))
    return readings


class NoninMonitor(SerialMonitor):
    model = "Nonin oximeter (serial ASCII)"
    vendor = "Nonin"
    default_baudrate = 9600
    MANIFEST = DriverManifest(
        name="nonin.ascii",
        family="vitals",
        protocol="Nonin serial ASCII (SPO2=097 HR=072)",
        attach="serial",
        title="Nonin oximeter, serial ASCII",
        reports=OXIMETRY,
        settings=serial_settings(9600),
        serial_setting="serial_number",
    )

    def make_decoder(self) -> LineDecoder:
        return LineDecoder(parse_line)
