"""Pharmacy test fixtures: the barcode drivers' entry points, a station catalogue document."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.base import available_drivers

# Until the package is reinstalled, the shared environment's metadata does not list the new
# family's entry points; a test-only distribution declares them exactly as pyproject.toml does.
ENTRY_POINTS = """[puente.drivers]
sim.barcode = drivers.barcode.sim:SimulatedScanner
barcode.serial = drivers.barcode.serial_scanner:SerialScanner
barcode.hid = drivers.barcode.hid_wedge:HidWedgeScanner
"""

GTIN_AMOX = "07501031311309"  # check digits valid
GTIN_IBU = "07501031311316"
GTIN_UNKNOWN = "07501031311323"

CATALOGUE = {
    "version": "2026-12-01",
    "items": [
        {
            "gtin": GTIN_AMOX,
            "institute_code": "010101",
            "name": "Amoxicilina 500 mg, caja 21 cápsulas",
            "units_per_pack": 1,
        },
        {"gtin": GTIN_IBU, "institute_code": "020202", "name": "Ibuprofeno 400 mg, caja 10"},
    ],
}


@pytest.fixture(scope="session", autouse=True)
def barcode_entry_points(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    if "sim.barcode" in available_drivers():
        yield
        return
    site = tmp_path_factory.mktemp("site")
    info = site / "puente_barcode_test-0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: puente-barcode-test\nVersion: 0\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    sys.path.append(str(site))
    yield
    sys.path.remove(str(site))


@pytest.fixture
def catalogue_doc() -> dict:
    return {"version": CATALOGUE["version"], "items": [dict(i) for i in CATALOGUE["items"]]}


def pyproject_entry_points() -> str:
    return (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
