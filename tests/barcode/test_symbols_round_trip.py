"""The simulator's strings are what real symbols carry: GS1 DataMatrix, GS1-128 and EAN-13 images
made and decoded with zxing-cpp give back exactly the bytes the simulator sends."""

from __future__ import annotations

import pytest

zxingcpp = pytest.importorskip("zxingcpp", reason="zxing-cpp (test extra) is not installed")

from drivers.barcode.sim import DATAMATRIX, EAN13, GS1_128, gs1_data, gs1_hri, medicine_pack  # noqa: E402
from edge_agent.capabilities.pharmacy.gs1 import parse_scan  # noqa: E402

PACK = (("01", "07501031311309"), ("17", "270500"), ("10", "L0T-42"), ("21", "SN0001"))


def _decode(content: str, fmt, **options):  # type: ignore[no-untyped-def]
    symbol = zxingcpp.create_barcode(content, fmt, **options)
    image = symbol.to_image(scale=4)
    result = zxingcpp.read_barcode(image, text_mode=zxingcpp.TextMode.Plain)
    assert result is not None and result.valid
    return result


def test_gs1_datamatrix_image_carries_the_simulator_string():
    result = _decode(gs1_hri(*PACK), zxingcpp.BarcodeFormat.DataMatrix, gs1=True)
    assert result.content_type == zxingcpp.ContentType.GS1
    # zxing-cpp reports modifier 2 for FNC1 in first position on some versions, others
    # a later modifier: the symbology (d = Data Matrix) and the data are what must match.
    assert result.symbology_identifier.startswith("]d")
    assert result.text == medicine_pack(*(v for _, v in PACK))
    item = parse_scan(result.text, DATAMATRIX)
    assert (item.gtin, str(item.expiry), item.lot, item.serial) == (
        "07501031311309",
        "2027-05-31",
        "L0T-42",
        "SN0001",
    )


def test_gs1_128_image_carries_the_simulator_string():
    elements = (("01", "07501031311309"), ("10", "B7"), ("17", "261200"))
    result = _decode(gs1_hri(*elements), zxingcpp.BarcodeFormat.Code128, gs1=True)
    assert result.symbology_identifier == GS1_128
    assert result.text == gs1_data(*elements)


def test_ean13_image_carries_the_simulator_string():
    result = _decode("7501031311309", zxingcpp.BarcodeFormat.EAN13)
    assert result.symbology_identifier == EAN13
    assert parse_scan(result.text, result.symbology_identifier).gtin == "07501031311309"
