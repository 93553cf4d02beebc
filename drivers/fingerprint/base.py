"""The fingerprint reader interface, the image it captures, and the family's errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from drivers.base import Device, DeviceUnavailable, DriverError

DEFAULT_PPI = 500


@dataclass(frozen=True, repr=False)
class FingerImage:
    """One captured impression: 8-bit grey pixels, row-major, dark ridges on a light ground.

    ``repr`` never shows pixels: images must not reach a log.
    """

    width: int
    height: int
    pixels: bytes
    resolution_ppi: int = DEFAULT_PPI

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0 or len(self.pixels) != self.width * self.height:
            raise ValueError(
                f"image of {self.width}x{self.height} needs {self.width * self.height} bytes, "
                f"got {len(self.pixels)} / tamaño de imagen inconsistente"
            )

    def __repr__(self) -> str:
        return f"FingerImage({self.width}x{self.height} @ {self.resolution_ppi} ppi)"


class ReaderError(DriverError):
    code = "reader_error"


class ReaderUnavailable(DeviceUnavailable):
    """No reader, unplugged, or its driver/library is missing."""

    code = "reader_unavailable"


class ReaderBusy(ReaderError):
    code = "reader_busy"


class CaptureTimeout(ReaderError):
    code = "capture_timeout"


class CaptureCancelled(ReaderError):
    code = "capture_cancelled"


class CaptureUnreadable(ReaderError):
    """The reader saw a finger but could not read it (libfprint's "retry" errors: no
    minutiae found, swipe too short, finger not centred): a poor touch, not a broken reader."""

    code = "capture_unreadable"


@runtime_checkable
class FingerprintReader(Device, Protocol):
    """A reader that hands over images; templates and matching are the engine's (engine.py)."""

    def capture(self, timeout_s: float) -> FingerImage:
        """Wait for a finger and return its image; CaptureTimeout / CaptureCancelled."""
        ...

    def cancel(self) -> None:
        """Abort a capture in progress (from another thread); no-op when idle."""
        ...
