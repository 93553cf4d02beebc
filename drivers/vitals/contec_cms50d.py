"""Contec CMS50D+ live data: binary 5-byte packets at 19200 baud, about 60 a second.

Bit 7 is set on the first byte of a packet and clear on the other four, which
is how the decoder finds packet boundaries (a byte out of place resynchronises
it and counts a frame error). Layout::

    byte 1  1 . b a s s s s   s: signal strength, a: finger out, b: SpO2 dropping
    byte 2  0 p p p p p p p   pleth waveform
    byte 3  0 h e s g g g g   g: bar graph, e: probe error, s: searching, h: pulse bit 7
    byte 4  0 r r r r r r r   pulse rate bits 0-6
    byte 5  0 o o o o o o o   SpO2 (127: no value)

Numerics are passed on once per ``every_s`` (the waveform is not a numeric).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from drivers.base import DriverManifest
from drivers.vitals.base import NumericReading
from drivers.vitals.serialport import OXIMETRY, SerialMonitor, serial_settings

FINGER_OUT = 0x10
PROBE_ERROR = 0x10
SEARCHING = 0x20
NO_SPO2 = 127
NO_PULSE = 255


class PacketDecoder:
    def __init__(
        self, every_s: float = 1.0, now: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._buf = bytearray()
        self._every_s = every_s
        self._now = now
        self._last: datetime | None = None
        self.frame_errors = 0

    def feed(self, data: bytes) -> list[NumericReading]:
        out: list[NumericReading] = []
        for byte in data:
            if byte & 0x80:
                if self._buf:
                    self.frame_errors += 1  # a packet cut short
                self._buf = bytearray((byte,))
                continue
            if not self._buf:
                self.frame_errors += 1  # a stray byte before any sync
                continue
            self._buf.append(byte)
            if len(self._buf) == 5:
                out.extend(self._packet(bytes(self._buf)))
                self._buf.clear()
        return out

    def _packet(self, p: bytes) -> list[NumericReading]:
        if p[0] & FINGER_OUT or p[2] & (PROBE_ERROR | SEARCHING):
            return []
        at = self._now()
        if self._last is not None and (at - self._last).total_seconds() < self._every_s:
            return []
        pulse = p[3] | ((p[2] & 0x40) << 1)
        spo2 = p[4]
        readings = []
        if spo2 != NO_SPO2:
            readings.append(NumericReading(150456, "MDC_PULS_OXIM_SAT_O2", float(spo2), "%", at))
        if pulse not in (NO_PULSE, 0):
            readings.append(
                NumericReading(149530, "MDC_PULS_OXIM_PULS_RATE", float(pulse), "/min", at)
            )
        if readings:
            self._last = at
        return readings


class Cms50dMonitor(SerialMonitor):
    model = "CMS50D+"
    vendor = "Contec"
    default_baudrate = 19200
    MANIFEST = DriverManifest(
        name="contec.cms50d",
        family="vitals",
        protocol="Contec CMS50D+ 5-byte packets (USB serial)",
        attach="serial",
        title="Contec CMS50D+ oximeter",
        reports=OXIMETRY,
        settings=serial_settings(19200),
        serial_setting="serial_number",
    )

    def make_decoder(self) -> PacketDecoder:
        return PacketDecoder()
