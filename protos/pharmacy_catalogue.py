"""The pharmacy catalogue document the hub distributes and stations cache: its shape and checks.

``{"version": "...", "items": [{"gtin", "institute_code", "name", "units_per_pack"}]}``;
GTINs are stored as 14 digits with a valid GS1 check digit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

MAX_ITEMS = 200_000
_DIGITS = re.compile(r"^\d{8}$|^\d{12,14}$")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")


class CatalogueError(ValueError):
    """A catalogue document that cannot be used; the message names the bad entry."""


@dataclass(frozen=True)
class Product:
    gtin: str
    institute_code: str
    name: str
    units_per_pack: int = 1


def gs1_check_digit_ok(digits: str) -> bool:
    body, check = digits[:-1], int(digits[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def parse_document(doc: Any) -> tuple[str, list[Product]]:
    """Check a catalogue document; one bad item refuses it whole (CatalogueError)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
        raise CatalogueError(
            "catalogue must be an object with 'version' and 'items' / "
            "el catálogo debe tener 'version' e 'items'"
        )
    version = str(doc.get("version", ""))[:64]
    items = doc["items"]
    if len(items) > MAX_ITEMS:
        raise CatalogueError(f"catalogue has more than {MAX_ITEMS} items / demasiados artículos")
    out: list[Product] = []
    seen: set[str] = set()
    for i, raw in enumerate(items):
        try:
            gtin = str(raw["gtin"])
            p = Product(
                gtin=gtin.zfill(14),
                institute_code=str(raw["institute_code"]),
                name=str(raw["name"])[:200],
                units_per_pack=int(raw.get("units_per_pack", 1)),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CatalogueError(
                f"catalogue item {i}: missing or bad field {exc} / "
                f"artículo {i} del catálogo: campo faltante o no válido"
            ) from exc
        if not _DIGITS.match(gtin) or not gs1_check_digit_ok(p.gtin):
            raise CatalogueError(
                f"catalogue item {i}: GTIN {gtin!r} is not 8, 12, 13 or 14 digits with a valid "
                f"check digit / artículo {i}: GTIN {gtin!r} no válido"
            )
        if not _CODE.match(p.institute_code) or not p.name.strip():
            raise CatalogueError(
                f"catalogue item {i} ({p.gtin}): institute_code must be 1-32 letters/digits and "
                f"name not empty / artículo {i}: código institucional o nombre no válido"
            )
        if not 1 <= p.units_per_pack <= 100_000:
            raise CatalogueError(
                f"catalogue item {i} ({p.gtin}): units_per_pack out of 1..100000 / "
                f"artículo {i}: unidades por empaque fuera de rango"
            )
        if p.gtin in seen:
            raise CatalogueError(f"catalogue item {i}: GTIN {p.gtin} twice / GTIN repetido")
        seen.add(p.gtin)
        out.append(p)
    return version, out
