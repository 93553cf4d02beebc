"""The one mapping from a scanned symbol to a medicine item: GS1 element strings via biip.

Parsing is biip's (a maintained GS1 library: AI table, check digits, dates
with day 00 = end of month, decimals of variable-measure AIs); this module
only decides what a pharmacy item needs and refuses anything less. A scan is
either a whole :class:`ParsedItem` or :class:`UnreadableScan` naming what was
wrong — never a partial item.

biip (~15 MB resident with its GS1 tables) is imported on the first scan, not
when the agent starts: a station that never dispenses does not carry it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from edge_agent.capabilities.pharmacy.errors import UnreadableScan

# AIM identifiers of symbols that carry GS1 element strings (FNC1 in first position).
GS1_SYMBOLOGIES = {"]d2", "]C1", "]e0", "]Q3", "]J1"}
# Linear retail symbols that carry a bare GTIN.
GTIN_SYMBOLOGIES = {"]E0", "]E4", "]E3"}
MAX_DATA = 512

# Variable-measure AIs (31nn-36nn): AI prefix -> UCUM unit of the measure.
_MEASURE_UNITS = {
    "310": "kg",
    "311": "m",
    "312": "m",
    "313": "m",
    "314": "m2",
    "315": "L",
    "316": "m3",
    "320": "[lb_av]",
    "330": "kg",
    "350": "m2",
    "360": "[qt_us]",
    "361": "[gal_us]",
}


@dataclass(frozen=True)
class ParsedItem:
    gtin: str  # always 14 digits (GTIN-8/12/13 left-padded with zeros), check digit valid
    symbology: str
    raw: str  # what the scanner sent, identifier included
    expiry: date | None = None  # AI 17; day 00 means the last day of the month
    lot: str = ""  # AI 10
    serial: str = ""  # AI 21
    quantity: int | None = None  # AI 30 (variable count) or 37 (count of trade items)
    measure: Decimal | None = None  # AI 31nn-36nn on a variable-measure item
    measure_unit: str = ""
    variable_measure: bool = False
    other: dict[str, str] = field(default_factory=dict)  # other AIs, as sent


def _bad(what: str, que: str) -> UnreadableScan:
    return UnreadableScan(
        f"barcode not accepted: {what}; scan it again or enter the item by hand / "
        f"código no aceptado: {que}; escanéelo de nuevo o ingrese el artículo a mano"
    )


def _gtin(value: str) -> str:
    from biip import ParseError
    from biip.gtin import Gtin

    try:
        return Gtin.parse(value).as_gtin_14()
    except ParseError as exc:
        raise _bad(
            f"GTIN {value!r} is not valid ({exc})", f"el GTIN {value!r} no es válido"
        ) from exc


def parse_scan(data: str, symbology: str = "") -> ParsedItem:
    """One scan (data without identifier, FNC1 as GS) -> the item, or UnreadableScan."""
    raw = symbology + data
    if not data:
        raise _bad("the scan is empty", "la lectura está vacía")
    if len(data) > MAX_DATA:
        raise _bad(f"more than {MAX_DATA} characters", f"más de {MAX_DATA} caracteres")
    if not data.replace("\x1d", "").isprintable():
        raise _bad("control characters other than FNC1 (GS)", "caracteres de control")
    bare = data.isdigit() and len(data) in (8, 12, 13, 14)
    if symbology in GTIN_SYMBOLOGIES or (not symbology and bare):
        return ParsedItem(gtin=_gtin(data), symbology=symbology, raw=raw)
    if symbology and symbology not in GS1_SYMBOLOGIES:
        raise _bad(
            f"symbology {symbology} does not carry GS1 data (not a GS1 DataMatrix, GS1-128 or "
            "EAN/UPC)",
            f"la simbología {symbology} no lleva datos GS1",
        )
    from biip import ParseError
    from biip.gs1_messages import GS1Message

    try:
        message = GS1Message.parse(data)
    except ParseError as exc:
        raise _bad(f"GS1 data cannot be read ({exc})", "los datos GS1 no se pueden leer") from exc
    seen: dict[str, str] = {}
    elements = {es.ai.ai: es for es in message.element_strings}
    for es in message.element_strings:
        ai = es.ai.ai
        if ai in seen and seen[ai] != es.value:
            raise _bad(f"AI ({ai}) appears twice with different values", f"el IA ({ai}) se repite")
        seen[ai] = es.value
    if "01" not in seen:
        raise _bad("no GTIN (AI 01) in the symbol", "el símbolo no trae GTIN (IA 01)")
    es01 = elements["01"]
    # biip checked the GTIN of AI (01) already; its error is the reason when it failed.
    gtin = es01.gtin.as_gtin_14() if es01.gtin is not None else _gtin(seen["01"])
    seen.pop("01")
    expiry = None
    if "17" in seen:
        es17 = elements.get("17")
        expiry = es17.date if es17 is not None else None
        if expiry is None:
            raise _bad(f"expiry (17) {seen['17']!r} is not a date", "la caducidad no es fecha")
        seen.pop("17")
    quantity = None
    for ai in ("30", "37"):
        if ai in seen:
            value = seen.pop(ai)
            quantity = int(value)
            if not 0 < quantity <= 99_999_999:
                raise _bad(f"quantity ({ai}) {value} is out of range", "cantidad fuera de rango")
    measure, unit = None, ""
    for ai in list(seen):
        if len(ai) == 4 and ai[:3] in _MEASURE_UNITS:
            element = elements.get(ai)
            measure, unit = (element.decimal if element else None), _MEASURE_UNITS[ai[:3]]
            seen.pop(ai)
    variable = gtin[0] == "9"
    if variable and measure is None and quantity is None:
        raise _bad(
            "variable-measure GTIN (indicator 9) without its measure (31nn-36nn) or count (30)",
            "GTIN de medida variable sin su medida ni cantidad",
        )
    return ParsedItem(
        gtin=gtin,
        symbology=symbology,
        raw=raw,
        expiry=expiry,
        lot=seen.pop("10", ""),
        serial=seen.pop("21", ""),
        quantity=quantity,
        measure=measure,
        measure_unit=unit,
        variable_measure=variable,
        other=seen,
    )
