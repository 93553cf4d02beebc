"""Nonin serial data format #2 (OEM III, Xpod, 3150 ...): checksummed 5-byte frames, 9600 8N1.

Nonin's own terms: a *frame* is 5 bytes, 75 frames a second; a *packet* is 25
frames (1/3 s) and carries one set of numerics, one byte per frame::

    byte 1  0x01                      start of frame
    byte 2  STATUS  1 d a o s y r s   bit 7 always 1
                                      6 SNSD sensor disconnected   5 ARTF artifact
                                      4 OOT out of track           3 SNSA sensor alarm
                                      2-1 perfusion (11 yellow, 10 red, 01 green)
                                      0 SYNC: first frame of a packet
    byte 3  PLETH                     waveform sample (not a numeric)
    byte 4  per frame of the packet:  1 HR MSB (bits 8-7)  2 HR LSB (bits 6-0)
                                      3 SpO2 (4-beat average)  4 SREV  8 STAT2
                                      9 SpO2-D  10 SpO2 fast  11 SpO2 beat-to-beat
                                      14/15 E-HR  16 E-SpO2  17 E-SpO2-D
                                      20/21 HR-D  22/23 E-HR-D  others reserved
    byte 5  CHK = (byte1 + byte2 + byte3 + byte4) mod 256

HR 511 and SpO2 127 mean "no value". A frame whose checksum does not match
is dropped and counted (``frame_errors``); the packet it belonged to cannot
be completed and is dropped too (``packets_dropped``); the decoder waits for
the next SYNC frame, so the stream goes on. Bytes out of step with the 5-byte
rhythm are skipped one at a time until a frame starts again (``resync_bytes``).

The numerics passed on are the 4-beat averages (frames 1-3), once per
``every_s``. SNSD or SNSA in any frame of a packet: no reading; ARTF, OOT or
red perfusion: the readings carry the flag ``questionable``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from drivers.base import DriverManifest
from drivers.vitals.base import NumericReading
from drivers.vitals.serialport import OXIMETRY, SerialMonitor, serial_settings

START = 0x01
FRAMES_PER_PACKET = 25
STATUS_ALWAYS = 0x80
SNSD = 0x40
ARTF = 0x20
OOT = 0x10
SNSA = 0x08
PERFUSION_MASK = 0x06
RED_PERFUSION = 0x04
GREEN_PERFUSION = 0x02
SYNC = 0x01
NO_HR = 511
NO_SPO2 = 127


def checksum(data: bytes) -> int:
    return sum(data[:4]) & 0xFF


class Format2Decoder:
    def __init__(
        self, every_s: float = 1.0, now: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._buf = bytearray()
        self._packet: list[bytes] = []
        self._in_packet = False
        self._every_s = every_s
        self._now = now
        self._last: datetime | None = None
        self.frame_errors = 0
        self.packets_dropped = 0
        self.resync_bytes = 0
        self.packets = 0

    def feed(self, data: bytes) -> list[NumericReading]:
        self._buf.extend(data)
        out: list[NumericReading] = []
        while len(self._buf) >= 5:
            if self._buf[0] != START or not self._buf[1] & STATUS_ALWAYS:
                del self._buf[0]
                self.resync_bytes += 1
                continue
            frame = bytes(self._buf[:5])
            del self._buf[:5]
            if checksum(frame) != frame[4]:
                self.frame_errors += 1
                self._drop()
                continue
            out.extend(self._frame(frame))
        return out

    def _drop(self) -> None:
        if self._in_packet:
            self.packets_dropped += 1
        self._packet = []
        self._in_packet = False

    def _frame(self, frame: bytes) -> list[NumericReading]:
        if frame[1] & SYNC:
            if self._in_packet:  # the previous packet was cut short
                self.packets_dropped += 1
            self._packet = [frame]
            self._in_packet = True
        elif self._in_packet:
            self._packet.append(frame)
        else:
            return []  # waiting for the next SYNC frame
        if len(self._packet) < FRAMES_PER_PACKET:
            return []
        packet, self._packet, self._in_packet = self._packet, [], False
        self.packets += 1
        return self._numerics(packet)

    def _numerics(self, packet: list[bytes]) -> list[NumericReading]:
        status = 0
        for f in packet:
            status |= f[1]
        if status & (SNSD | SNSA):
            return []
        at = self._now()
        if self._last is not None and (at - self._last).total_seconds() < self._every_s:
            return []
        hr = ((packet[0][3] & 0x03) << 7) | (packet[1][3] & 0x7F)
        spo2 = packet[2][3] & 0x7F
        perfusion = packet[-1][1] & PERFUSION_MASK
        questionable = status & (ARTF | OOT) or perfusion == RED_PERFUSION
        flags: tuple[str, ...] = ("questionable",) if questionable else ()
        readings = []
        if spo2 != NO_SPO2:
            readings.append(
                NumericReading(150456, "MDC_PULS_OXIM_SAT_O2", float(spo2), "%", at, flags)
            )
        if hr != NO_HR:
            readings.append(
                NumericReading(149530, "MDC_PULS_OXIM_PULS_RATE", float(hr), "/min", at, flags)
            )
        if readings:
            self._last = at
        return readings


class NoninFormat2Monitor(SerialMonitor):
    model = "Nonin oximeter (data format #2)"
    vendor = "Nonin"
    default_baudrate = 9600
    MANIFEST = DriverManifest(
        name="nonin.format2",
        family="vitals",
        protocol="Nonin data format #2 (5-byte frames, 75 Hz)",
        attach="serial",
        title="Nonin oximeter, data format #2",
        reports=OXIMETRY,
        settings=serial_settings(9600),
        serial_setting="serial_number",
    )

    def make_decoder(self) -> Format2Decoder:
        return Format2Decoder()
