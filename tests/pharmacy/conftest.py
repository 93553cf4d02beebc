"""Pharmacy test fixtures: the barcode drivers' entry points, a station catalogue document."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from tests.pharmacy.entry_points import ensure_barcode_entry_points

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
    # Until the package is reinstalled, the shared environment's metadata lacks them.
    added = ensure_barcode_entry_points(tmp_path_factory.mktemp("site"))
    yield
    if added:
        sys.path.remove(added)


@pytest.fixture
def catalogue_doc() -> dict:
    return {"version": CATALOGUE["version"], "items": [dict(i) for i in CATALOGUE["items"]]}
