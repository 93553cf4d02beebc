"""Nonin data format #2 as the oximeter sends it: 5-byte frames, 25 to a packet."""

from __future__ import annotations

from collections.abc import Callable

from drivers.vitals.nonin_binary import (
    FRAMES_PER_PACKET,
    GREEN_PERFUSION,
    NO_HR,
    NO_SPO2,
    START,
    STATUS_ALWAYS,
    SYNC,
    checksum,
)


def encode_frame(status: int, pleth: int, data: int) -> bytes:
    body = bytes((START, STATUS_ALWAYS | (status & 0x7F), pleth & 0xFF, data & 0xFF))
    return body + bytes((checksum(body),))


def encode_packet(
    spo2: int | None,
    hr: int | None,
    *,
    status: int = GREEN_PERFUSION,
    srev: int = 0x25,
    pleth: Callable[[int], int] = lambda i: 100 + (i * 7) % 50,
) -> bytes:
    """One packet (25 frames, 125 bytes) carrying ``spo2`` and ``hr`` in every numeric slot."""
    h = NO_HR if hr is None else hr
    s = NO_SPO2 if spo2 is None else spo2
    data = [0] * FRAMES_PER_PACKET
    for msb, lsb in ((0, 1), (13, 14), (19, 20), (21, 22)):  # HR, E-HR, HR-D, E-HR-D
        data[msb], data[lsb] = (h >> 7) & 0x03, h & 0x7F
    for i in (2, 8, 9, 10, 15, 16):  # SpO2, SpO2-D, fast, beat-to-beat, E-SpO2, E-SpO2-D
        data[i] = s & 0x7F
    data[3] = srev
    out = bytearray()
    for i, d in enumerate(data):
        out += encode_frame((status & ~SYNC) | (SYNC if i == 0 else 0), pleth(i), d)
    return bytes(out)
