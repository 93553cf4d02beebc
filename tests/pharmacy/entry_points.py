"""Make the barcode family's entry points visible where the installed metadata predates them."""

from __future__ import annotations

import sys
from pathlib import Path

from drivers.base import available_drivers

# Exactly as pyproject.toml declares them.
ENTRY_POINTS = """[puente.drivers]
sim.barcode = drivers.barcode.sim:SimulatedScanner
barcode.serial = drivers.barcode.serial_scanner:SerialScanner
barcode.hid = drivers.barcode.hid_wedge:HidWedgeScanner
"""


def ensure_barcode_entry_points(site: Path) -> str | None:
    """Add a test-only distribution declaring them under ``site``; returns the path added."""
    if "sim.barcode" in available_drivers():
        return None
    info = site / "puente_barcode_test-0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: puente-barcode-test\nVersion: 0\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    sys.path.append(str(site))
    return str(site)
