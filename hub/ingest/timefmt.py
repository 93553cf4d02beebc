"""Fixed-width ISO 8601 UTC text for stored times, so that text order is time order."""

from __future__ import annotations

import time


def iso_utc(seconds: int, nanos: int = 0) -> str:
    """e.g. 2025-03-01T14:05:09.123456Z (always microseconds, always Z)."""
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(seconds))}.{nanos // 1000:06d}Z"


def iso_from_epoch(epoch_s: float) -> str:
    seconds, micros = divmod(round(epoch_s * 1_000_000), 1_000_000)
    return iso_utc(seconds, micros * 1000)


def now_iso() -> str:
    return iso_from_epoch(time.time())
