"""Masimo Rad-series serial output as the oximeter sends it (one ASCII line a second)."""

from __future__ import annotations

from datetime import UTC, datetime


def encode_line(
    spo2: int | None,
    bpm: int | None,
    pi: float | None = 3.45,
    *,
    alarm: int = 0,
    exc: int = 0,
    serial_number: str = "0000012345",
    at: datetime | None = None,
) -> bytes:
    at = at or datetime.now(UTC)
    spo2_s = f"{spo2:03d}" if spo2 is not None else "---"
    bpm_s = f"{bpm:03d}" if bpm is not None else "---"
    pi_s = f"{pi:05.2f}" if pi is not None else "--.--"
    return (
        f"{at:%m/%d/%y %H:%M:%S} SN={serial_number} SPO2={spo2_s}% BPM={bpm_s} PI={pi_s} "
        f"SPCO=--.-% SPMET=--.-% DESAT=-- PIDELTA=+-- ALARM={alarm:04X} EXC={exc:06X}\r\n"
    ).encode("ascii")
