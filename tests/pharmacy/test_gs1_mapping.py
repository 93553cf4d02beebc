"""GS1 scans become whole items or a clear bilingual refusal, never a partial item."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from drivers.barcode.base import GS
from drivers.barcode.sim import gs1_data, medicine_pack
from edge_agent.capabilities.pharmacy.errors import UnreadableScan
from edge_agent.capabilities.pharmacy.gs1 import parse_scan


def test_datamatrix_pack_gives_gtin_expiry_lot_serial():
    item = parse_scan(medicine_pack("07501031311309", "270531", "L0T-42", "SN0001"), "]d2")
    assert (item.gtin, item.expiry, item.lot, item.serial) == (
        "07501031311309",
        date(2027, 5, 31),
        "L0T-42",
        "SN0001",
    )
    assert item.raw.startswith("]d2")


def test_expiry_day_00_means_the_end_of_the_month():
    assert parse_scan(medicine_pack("07501031311309", "280200", "L"), "]d2").expiry == date(
        2028, 2, 29
    )


def test_ean13_and_bare_gtin_are_left_padded_to_14():
    assert parse_scan("7501031311309", "]E0").gtin == "07501031311309"
    assert parse_scan("7501031311309").gtin == "07501031311309"


def test_quantity_and_variable_measure():
    counted = parse_scan(gs1_data(("01", "07501031311309"), ("30", "12")), "]C1")
    assert counted.quantity == 12
    weighed = parse_scan(gs1_data(("01", "97501031311302"), ("3103", "001250")), "]C1")
    assert weighed.variable_measure and weighed.measure == Decimal("1.250")
    assert weighed.measure_unit == "kg"


@pytest.mark.parametrize(
    ("data", "symbology", "says"),
    [
        ("7501031311308", "]E0", "GTIN"),  # bad check digit
        ("0107501031311308" + "17270531", "]d2", "GTIN"),
        ("01075010313113091713990010A", "]d2", "GS1"),  # month 13
        ("10LOT1" + GS + "17270531", "]d2", "AI 01"),  # no GTIN
        ("0107501031311309xx", "]d2", "GS1"),  # trailing garbage
        ("HELLO", "]d1", "symbology"),  # plain DataMatrix, not GS1
        ("", "]d2", "empty"),
        ("0107501031311309\x07", "]d2", "control"),
        ("0197501031311302", "]C1", "variable-measure"),  # no measure
        ("010750103131130910A" + GS + "10B", "]d2", "twice"),
    ],
)
def test_unreadable_scans_are_refused_whole_with_a_reason_in_both_languages(data, symbology, says):
    with pytest.raises(UnreadableScan) as err:
        parse_scan(data, symbology)
    assert says in err.value.reason
    assert "código no aceptado" in err.value.reason
