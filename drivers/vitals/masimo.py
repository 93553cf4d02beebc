"""Masimo Rad-8 / Radical-7 serial "ASCII 1" output (9600 8N1): one line of numerics a second.

A line looks like::

    02/15/17 10:28:45 SN=0000012345 SPO2=098% BPM=072 PI=03.45 SPCO=--.-% SPMET=--.-% \
DESAT=-- PIDELTA=+-- ALARM=0000 EXC=000000

Dashes mean "no value". ``EXC`` is a hex bit set of exceptions: sensor off,
no sensor or a defective sensor mean no reading at all; low perfusion and low
signal IQ flag the numerics "questionable". A non-zero ``ALARM`` flags them
"alarm".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

from drivers.base import DriverManifest
from drivers.vitals.base import NumericReading
from drivers.vitals.serialport import OXIMETRY, SerialMonitor, serial_settings

_FIELD = re.compile(rb"([A-Z][A-Z0-9]*)=([^\s]+)")
# EXC bits (Masimo serial interface specification).
EXC_NO_SENSOR = 0x000001
EXC_DEFECTIVE_SENSOR = 0x000002
EXC_LOW_PERFUSION = 0x000004
EXC_PULSE_SEARCH = 0x000008
EXC_INTERFERENCE = 0x000010
EXC_SENSOR_OFF = 0x000020
EXC_LOW_SIGNAL_IQ = 0x000400
_NO_READING = EXC_NO_SENSOR | EXC_DEFECTIVE_SENSOR | EXC_SENSOR_OFF | EXC_PULSE_SEARCH
_QUESTIONABLE = EXC_LOW_PERFUSION | EXC_INTERFERENCE | EXC_LOW_SIGNAL_IQ

# field → (MDC code, reference id, unit as sent)
_NUMERICS = {
    b"SPO2": (150456, "MDC_PULS_OXIM_SAT_O2", "%"),
    b"BPM": (149530, "MDC_PULS_OXIM_PULS_RATE", "/min"),
    b"PI": (150488, "MDC_PULS_OXIM_PERF_REL", "%"),
}


def parse_line(
    line: bytes, now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> list[NumericReading]:
    """Readings of one ASCII 1 line (without its CR LF); [] for a line with no numerics."""
    fields = dict(_FIELD.findall(line))
    if b"SPO2" not in fields and b"BPM" not in fields:
        return []
    try:
        exc = int(fields.get(b"EXC", b"0"), 16)
        alarm = int(fields.get(b"ALARM", b"0"), 16)
    except ValueError:
        return []
    if exc & _NO_READING:
        return []
    flags: list[str] = []
    if exc & _QUESTIONABLE:
        flags.append("questionable")
    if alarm:
        flags.append("alarm")
    at = now()
    readings = []
    for name, (code, refid, unit) in _NUMERICS.items():
        raw = fields.get(name)
        if raw is None:
            continue
        text = raw.rstrip(b"%")
        if not text or b"-" in text:
            continue
        try:
            value = float(text)
        except ValueError:
            continue
        readings.append(NumericReading(code, refid, value, unit, at, tuple(flags)))
    return readings


class LineDecoder:
    """CR/LF-terminated lines; a line longer than ``max_line`` is garbage and dropped."""

    def __init__(self, parse: Callable[[bytes], list[NumericReading]], max_line: int = 512):
        self._parse = parse
        self._buf = bytearray()
        self._max = max_line
        self.dropped = 0

    def feed(self, data: bytes) -> list[NumericReading]:
        self._buf.extend(data)
        out: list[NumericReading] = []
        while True:
            cut = min(
                (i for i in (self._buf.find(b"\r"), self._buf.find(b"\n")) if i >= 0), default=-1
            )
            if cut < 0:
                if len(self._buf) > self._max:
                    self._buf.clear()
                    self.dropped += 1
                return out
            line = bytes(self._buf[:cut])
            del self._buf[: cut + 1]
            if line.strip():
                out.extend(self._parse(line))


class MasimoMonitor(SerialMonitor):
    model = "Rad-8 / Radical-7 (ASCII 1)"
    vendor = "Masimo"
    default_baudrate = 9600
    MANIFEST = DriverManifest(
        name="masimo.ascii1",
        family="vitals",
        protocol="Masimo ASCII 1 (serial text lines)",
        attach="serial",
        title="Masimo Rad-8 / Radical-7, ASCII 1",
        reports=(*OXIMETRY, "MDC_PULS_OXIM_PERF_REL"),
        settings=serial_settings(9600),
        serial_setting="serial_number",
    )

    def make_decoder(self) -> LineDecoder:
        return LineDecoder(parse_line)
