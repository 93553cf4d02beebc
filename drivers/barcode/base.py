"""The barcode reader interface, the neutral scan every barcode driver produces, and its errors.

A barcode driver knows how a scanner delivers a symbol (bytes on a serial
line, key presses on a HID keyboard) and nothing of GS1, medicines or cases:
it hands over the symbol's data as a string with the AIM symbology identifier
the scanner sent (``]d2`` GS1 DataMatrix, ``]C1`` GS1-128, ``]E0`` EAN-13),
the FNC1 separator kept as GS (0x1D). Interpreting the data happens once, in
the agent.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from drivers.base import Device, DeviceUnavailable, DriverError

GS = "\x1d"  # FNC1 as scanners transmit it between variable-length element strings
MAX_SCAN_CHARS = 512  # longer than any GS1 symbol a pack carries; more is a runaway line


@dataclass(frozen=True)
class Scan:
    """One symbol as the scanner sent it (suffix removed)."""

    data: str  # without the symbology identifier; GS (0x1D) where the symbol had FNC1
    symbology: str  # AIM identifier, e.g. "]d2", "]C1", "]E0"; "" when the scanner sent none
    read_at: datetime

    @property
    def raw(self) -> str:
        return self.symbology + self.data


def split_symbology(text: str) -> tuple[str, str]:
    """``"]d2010950..."`` -> ``("]d2", "010950...")``; no identifier -> ``("", text)``."""
    if len(text) >= 3 and text[0] == "]" and text[1].isalpha() and text[2].isalnum():
        return text[:3], text[3:]
    return "", text


class BarcodeError(DriverError):
    code = "barcode_error"


class ReaderVanished(BarcodeError, DeviceUnavailable):
    """The scanner went away (USB cable pulled, device node gone)."""

    code = "reader_vanished"


class ScanTooLong(BarcodeError):
    """A line without a suffix longer than any symbol: the scanner's suffix is not CR/LF."""

    code = "scan_too_long"


@runtime_checkable
class BarcodeReader(Device, Protocol):
    """One barcode scanner (``family = "barcode"``)."""

    def scans(self, timeout_s: float) -> Iterator[Scan]:
        """Yield symbols as the scanner reads them, until ``timeout_s`` passes."""
        ...
