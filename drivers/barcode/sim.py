"""A simulated barcode scanner: the bytes a real one sends for GS1 medicine packs, over a pty.

``scanner_bytes`` is what a scanner programmed with AIM identifier prefix and
CR LF suffix transmits for one symbol (FNC1 between variable-length element
strings as GS, 0x1D). :class:`PtyScanner` writes them on a pseudo-terminal
whose stable path the real :class:`~drivers.barcode.serial_scanner.SerialScanner`
opens, so tests and demos go through the real driver. ``SimulatedScanner`` is
that pair as one driver (entry point ``sim.barcode``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

from drivers.barcode.base import GS, Scan
from drivers.barcode.serial_scanner import SerialScanner
from drivers.base import DeviceHealth, DriverManifest, Identity, Setting
from drivers.vitals.ptysim import PtyPort

DATAMATRIX = "]d2"
GS1_128 = "]C1"
EAN13 = "]E0"

# (AI, value) pairs; variable-length AIs are followed by GS unless last.
FIXED_LENGTH = {"00": 18, "01": 14, "02": 14, "11": 6, "13": 6, "15": 6, "17": 6, "20": 2}


def gs1_data(*elements: tuple[str, str]) -> str:
    """Element strings as a scanner sends them: GS after each variable-length one but the last."""
    out = []
    for i, (ai, value) in enumerate(elements):
        out.append(ai + value)
        fixed = ai in FIXED_LENGTH or ai[:2] in ("31", "32", "33", "34", "35", "36")
        if not fixed and i < len(elements) - 1:
            out.append(GS)
    return "".join(out)


def gs1_hri(*elements: tuple[str, str]) -> str:
    """The human-readable form "(01)...(17)..." (what barcode writers take)."""
    return "".join(f"({ai}){value}" for ai, value in elements)


def medicine_pack(gtin: str, expiry: str, lot: str, serial: str = "") -> str:
    """The data of a GS1 DataMatrix on a medicine pack: (01) (17) (10) [(21)]."""
    elements = [("01", gtin), ("17", expiry), ("10", lot)]
    if serial:
        elements.append(("21", serial))
    return gs1_data(*elements)


def scanner_bytes(data: str, symbology: str = DATAMATRIX, suffix: bytes = b"\r\n") -> bytes:
    return (symbology + data).encode("latin-1") + suffix


class PtyScanner:
    """A pty standing in for the scanner's serial/USB-CDC port; ``scan()`` 'reads' one symbol."""

    def __init__(self, link: Path) -> None:
        self.port = PtyPort(link)

    @property
    def path(self) -> str:
        return str(self.port.link)

    def scan(self, data: str, symbology: str = DATAMATRIX, suffix: bytes = b"\r\n") -> None:
        self.port.write(scanner_bytes(data, symbology, suffix))

    def write(self, raw: bytes) -> None:
        self.port.write(raw)

    def unplug(self) -> None:
        self.port.unplug()

    def replug(self) -> None:
        self.port.replug()

    def stop(self) -> None:
        self.port.stop()


class SimulatedScanner:
    """The simulator as a driver: a pty plus the real serial driver reading it."""

    family = "barcode"
    MANIFEST = DriverManifest(
        name="sim.barcode",
        family="barcode",
        protocol="simulated serial scanner (pty, real scanner bytes)",
        attach="none",
        title="Simulated barcode scanner",
        reports=("dispensing",),
        settings=(
            Setting(
                "link",
                "str",
                "",
                en="path of the pty link (empty: a temporary one)",
                es="ruta del enlace pty (vacío: uno temporal)",
            ),
        ),
        simulator=True,
    )

    def __init__(self, link: str = "") -> None:
        path = Path(link) if link else Path(tempfile.mkdtemp(prefix="puente-bc-")) / "scanner"
        self.sim = PtyScanner(path)
        self.driver = SerialScanner(self.sim.path, model="simulated barcode scanner")

    def open(self) -> None:
        self.driver.open()

    def close(self) -> None:
        self.driver.close()

    def identify(self) -> Identity:
        return Identity(model="simulated barcode scanner", vendor="Puente")

    def health(self) -> DeviceHealth:
        return self.driver.health()

    def scans(self, timeout_s: float) -> Iterator[Scan]:
        return self.driver.scans(timeout_s)
