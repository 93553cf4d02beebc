"""Scanned pages → one PDF: how each page is encoded, which pages are blank, and img2pdf assembly.

img2pdf never re-encodes: a JPEG goes into the PDF byte for byte (DCTDecode),
a PNG as Flate, a CCITT G4 TIFF as CCITTFax. So the size of the PDF is decided
here, once, by how raw pages are encoded:

- **gray and color**: JPEG at quality ``JPEG_QUALITY`` (75), 4:2:0 for color.
  A 300 dpi text page is then ~0.2–0.6 MB instead of ~8.7 MB raw (A4 grey):
  a 10-page document is a few MB, readable and printable.
- **lineart** (1 bit): CCITT Group 4 — lossless and typically 30–100 KB per
  text page at 300 dpi.
- Pages the device already sent encoded (eSCL JPEG) go in untouched.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime

import img2pdf
from PIL import Image

from drivers.scanner.base import ScannedPage

JPEG_QUALITY = 75
# A page is blank when fewer than BLANK_INK_RATIO of its pixels, margins excluded, are darker
# than BLANK_LEVEL (0 black .. 255 white), looked at reduced to at most BLANK_SAMPLE_PX wide.
BLANK_INK_RATIO = 0.003
BLANK_LEVEL = 128
BLANK_MARGIN = 0.04
BLANK_SAMPLE_PX = 800


@dataclass(frozen=True)
class EncodedPage:
    number: int
    data: bytes
    media_type: str  # "image/jpeg", "image/png", "image/tiff" (CCITT G4)
    resolution_dpi: int
    blank: bool


def _pixels(page: ScannedPage) -> Image.Image:
    if page.image is not None:
        return page.image  # type: ignore[return-value]  # drivers keep it untyped (no PIL import there)
    if page.data is None:
        raise ValueError("a scanned page with neither pixels nor data / hoja sin contenido")
    return Image.open(io.BytesIO(page.data))


def is_blank(image: Image.Image) -> bool:
    """True when the page holds (almost) no ink: the back of a printed sheet, a separator."""
    gray = image.convert("L")
    factor = max(1, gray.width // BLANK_SAMPLE_PX)
    if factor > 1:
        gray = gray.reduce(factor)
    mx, my = int(gray.width * BLANK_MARGIN), int(gray.height * BLANK_MARGIN)
    inner = gray.crop((mx, my, gray.width - mx, gray.height - my))
    histogram = inner.histogram()
    dark = sum(histogram[:BLANK_LEVEL])
    total = max(1, inner.width * inner.height)
    return dark / total < BLANK_INK_RATIO


def encode(page: ScannedPage, detect_blank: bool = False) -> EncodedPage:
    """The bytes that go into the PDF for one page (see the module docstring for the choice)."""
    if page.data is not None and page.media_type in ("image/jpeg", "image/png"):
        blank = is_blank(_pixels(page)) if detect_blank else False
        return EncodedPage(page.number, page.data, page.media_type, page.resolution_dpi, blank)
    image = _pixels(page)
    blank = is_blank(image) if detect_blank else False
    dpi = (page.resolution_dpi, page.resolution_dpi)
    out = io.BytesIO()
    if page.mode == "lineart" or image.mode == "1":
        image.convert("1").save(out, "TIFF", compression="group4", dpi=dpi)
        media_type = "image/tiff"
    else:
        if image.mode not in ("L", "RGB"):
            image = image.convert("RGB" if page.mode == "color" else "L")
        image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, dpi=dpi)
        media_type = "image/jpeg"
    return EncodedPage(page.number, out.getvalue(), media_type, page.resolution_dpi, blank)


def assemble(pages: list[EncodedPage], title: str = "", when: datetime | None = None) -> bytes:
    """One PDF, a page per image, each page sized from its resolution."""
    if not pages:
        raise ValueError("no pages to assemble / no hay hojas para armar el PDF")
    dpi = pages[0].resolution_dpi
    return bytes(
        img2pdf.convert(
            [p.data for p in pages],
            layout_fun=img2pdf.get_fixed_dpi_layout_fun((dpi, dpi)),
            title=title or None,
            producer="Puente edge agent",
            creator="Puente scan",
            creationdate=when or datetime.now(UTC),
            nodate=False,
        )
    )
