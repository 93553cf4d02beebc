"""Nonin's ASCII serial output (``SPO2=097 HR=072``) as the oximeter sends it."""

from __future__ import annotations


def encode_line(spo2: int | None, hr: int | None) -> bytes:
    s = f"{spo2:03d}" if spo2 is not None else "---"
    h = f"{hr:03d}" if hr is not None else "---"
    return f"SPO2={s} HR={h}\r\n".encode("ascii")
