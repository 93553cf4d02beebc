"""Contec CMS50D+ real-time packets as the oximeter sends them (5 bytes each)."""

from __future__ import annotations

from drivers.vitals.contec_cms50d import FINGER_OUT, NO_PULSE, NO_SPO2, SEARCHING


def encode_packet(
    spo2: int | None,
    pulse: int | None,
    *,
    pleth: int = 64,
    signal: int = 8,
    finger_out: bool = False,
    searching: bool = False,
) -> bytes:
    p = NO_PULSE if pulse is None else pulse
    s = NO_SPO2 if spo2 is None else spo2
    b1 = 0x80 | (signal & 0x0F) | (FINGER_OUT if finger_out else 0)
    b3 = 0x05 | (SEARCHING if searching else 0) | ((p & 0x80) >> 1)
    return bytes((b1, pleth & 0x7F, b3, p & 0x7F, s & 0x7F))
