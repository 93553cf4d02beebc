"""ISO/IEC 19794-2:2011 finger minutiae records: encode and decode, plain functions over bytes.

Layout (big-endian): general header ``FMR\\0`` ``030\\0``, record length (4),
number of finger representations (2), certification flag (1); then per
representation: its length (4), capture date-time (9), capture device
technology (1), vendor (2) and type (2) ids, one quality block (count 1, then
score 1, quality algorithm vendor 2, algorithm id 2), finger position (1),
representation number (1), horizontal and vertical sampling rate in pixels
per cm (2+2), impression type (1), image width and height (2+2), minutia field
length (1, here 6), ridge-ending type (1), minutiae count (1), minutiae
(type 2 bits + x 14 bits, reserved 2 bits + y 14 bits, angle in 360/256
degree units, quality 0..100), extended data length (2, here 0).

Several impressions of one finger are several representations (numbered 0..n-1)
of the same finger position in one record.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from datetime import UTC, datetime

FORMAT_NAME = "ISO/IEC 19794-2:2011"
_MAGIC = b"FMR\x00030\x00"
ENDING, BIFURCATION, OTHER = 1, 2, 0
QUALITY_VENDOR_NIST = 0x000F  # CBEFF vendor id of NIST (NFIQ)
QUALITY_ALGORITHM_NFIQ2 = 0x0002
MAX_MINUTIAE = 255


class TemplateFormatError(ValueError):
    code = "bad_template"


@dataclass(frozen=True)
class Minutia:
    x: int
    y: int
    angle_rad: float
    kind: int  # ENDING, BIFURCATION or OTHER
    quality: int  # 0..100


@dataclass(frozen=True, repr=False)
class View:
    """One finger representation (one impression's minutiae)."""

    width: int
    height: int
    resolution_ppi: int
    quality: int  # image quality 0..100 (NFIQ 2)
    minutiae: tuple[Minutia, ...]
    finger_position: int = 0  # ISO finger position code
    captured_at: datetime | None = None

    def __repr__(self) -> str:  # minutiae are biometric data: never in logs
        return f"View({self.width}x{self.height}, {len(self.minutiae)} minutiae, q={self.quality})"


def _ppcm(ppi: int) -> int:
    return round(ppi / 2.54)


def _view_bytes(view: View, number: int) -> bytes:
    at = view.captured_at or datetime(1970, 1, 1, tzinfo=UTC)
    body = bytearray()
    body += struct.pack(
        ">HBBBBBH", at.year, at.month, at.day, at.hour, at.minute, at.second, at.microsecond // 1000
    )
    body += struct.pack(">BHH", 0, 0, 0)  # technology, vendor, type: unknown
    body += struct.pack(
        ">BBHH", 1, max(0, min(100, view.quality)), QUALITY_VENDOR_NIST, QUALITY_ALGORITHM_NFIQ2
    )
    body += struct.pack(
        ">BBHHBHH",
        view.finger_position,
        number,
        _ppcm(view.resolution_ppi),
        _ppcm(view.resolution_ppi),
        0,  # live-scan plain
        view.width,
        view.height,
    )
    minutiae = view.minutiae[:MAX_MINUTIAE]
    body += struct.pack(">BBB", 6, 0, len(minutiae))
    for m in minutiae:
        x = max(0, min(0x3FFF, int(m.x)))
        y = max(0, min(0x3FFF, int(m.y)))
        angle = round((math.degrees(m.angle_rad) % 360.0) * 256 / 360) % 256
        body += struct.pack(">HHBB", (m.kind & 3) << 14 | x, y, angle, max(0, min(100, m.quality)))
    body += struct.pack(">H", 0)
    return struct.pack(">I", 4 + len(body)) + bytes(body)


def encode(views: list[View]) -> bytes:
    if not 1 <= len(views) <= 255:
        raise TemplateFormatError("a record holds 1..255 views / un registro lleva 1..255 vistas")
    reps = b"".join(_view_bytes(v, i) for i, v in enumerate(views))
    length = len(_MAGIC) + 4 + 2 + 1 + len(reps)
    return _MAGIC + struct.pack(">IHB", length, len(views), 0) + reps


def decode(data: bytes) -> list[View]:
    try:
        return _decode(data)
    except (struct.error, IndexError, ValueError) as exc:
        if isinstance(exc, TemplateFormatError):
            raise
        raise TemplateFormatError(
            f"truncated or malformed record: {exc} / registro dañado"
        ) from exc


def _decode(data: bytes) -> list[View]:
    if data[:8] != _MAGIC:
        raise TemplateFormatError(
            f"not an {FORMAT_NAME} record / no es un registro ISO 19794-2:2011"
        )
    length, count, cert = struct.unpack_from(">IHB", data, 8)
    if length != len(data):
        raise TemplateFormatError(f"record length {length} != {len(data)} / longitud incorrecta")
    if cert:
        raise TemplateFormatError(
            "certification blocks are not supported / certificación no soportada"
        )
    off = 15
    views = []
    for _ in range(count):
        (rep_len,) = struct.unpack_from(">I", data, off)
        end = off + rep_len
        year, month, day, hour, minute, second, ms = struct.unpack_from(">HBBBBBH", data, off + 4)
        p = off + 4 + 9 + 5
        (nq,) = struct.unpack_from(">B", data, p)
        p += 1
        quality = 0
        for i in range(nq):
            score, _, _ = struct.unpack_from(">BHH", data, p + 5 * i)
            if i == 0:
                quality = score
        p += 5 * nq
        finger, _number, hres, _vres, _imp, width, height = struct.unpack_from(">BBHHBHH", data, p)
        p += 11
        field_len, _ending, n = struct.unpack_from(">BBB", data, p)
        p += 3
        if field_len != 6:
            raise TemplateFormatError(f"minutia field length {field_len} unsupported")
        minutiae = []
        for _ in range(n):
            w1, w2, angle, q = struct.unpack_from(">HHBB", data, p)
            p += 6
            minutiae.append(
                Minutia(w1 & 0x3FFF, w2 & 0x3FFF, math.radians(angle * 360 / 256), w1 >> 14, q)
            )
        (ext,) = struct.unpack_from(">H", data, p)
        p += 2 + ext
        if p != end:
            raise TemplateFormatError(
                "representation length mismatch / longitud de vista incorrecta"
            )
        captured = (
            None
            if year == 1970
            else datetime(year, month, day, hour, minute, second, ms * 1000, UTC)
        )
        views.append(
            View(width, height, round(hres * 2.54), quality, tuple(minutiae), finger, captured)
        )
        off = end
    if off != len(data):
        raise TemplateFormatError("trailing bytes after the last view / bytes sobrantes")
    return views
