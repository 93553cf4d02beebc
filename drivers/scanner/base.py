"""The document scanner interface: capabilities, settings, scanned pages, and the family's errors.

A scanner driver knows a protocol (SANE, eSCL) and nothing of cases, PDFs or
events. It lists what a device can do, scans pages one by one as images, can be
cancelled from another thread, and tells its status. Each condition a person
at the scanner must act on (feeder empty, paper jam, cover open, busy, gone) is
its own error with its own code, so the station can say exactly what to do.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from drivers.base import Device, DeviceUnavailable, DriverError

SOURCES = ("flatbed", "feeder", "duplex")
MODES = ("color", "gray", "lineart")


@dataclass(frozen=True)
class ScannerCapabilities:
    """What one device can do, in the family's neutral words."""

    sources: tuple[str, ...]  # subset of SOURCES
    modes: tuple[str, ...]  # subset of MODES
    resolutions: tuple[int, ...]  # dpi the device offers (a range is sampled to common values)
    max_width_mm: float = 0.0
    max_height_mm: float = 0.0
    formats: tuple[str, ...] = ()  # media types the device can send pages as


@dataclass(frozen=True)
class DiscoveredScanner:
    """A device a backend can see, with what it can do (``options`` open it as a driver)."""

    name: str  # backend's device name, e.g. "test:0", "http://127.0.0.1:8080/eSCL"
    vendor: str
    model: str
    kind: str  # "flatbed scanner", "multi-function peripheral", "virtual device", ...
    capabilities: ScannerCapabilities | None = None


@dataclass(frozen=True)
class ScanSettings:
    source: str = "flatbed"
    mode: str = "gray"
    resolution_dpi: int = 300
    width_mm: float | None = None  # None: the device's full width
    height_mm: float | None = None
    max_pages: int = 0  # feeder/duplex: stop after this many pages (0: until the feeder is empty)

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise UnsupportedSetting(f"source {self.source!r} is not one of {', '.join(SOURCES)}")
        if self.mode not in MODES:
            raise UnsupportedSetting(f"mode {self.mode!r} is not one of {', '.join(MODES)}")
        if not 25 <= self.resolution_dpi <= 1200:
            raise UnsupportedSetting(f"resolution {self.resolution_dpi} dpi is not in 25..1200")
        if self.max_pages < 0:
            raise UnsupportedSetting("max_pages must be 0 or more")

    @property
    def multi_page(self) -> bool:
        return self.source in ("feeder", "duplex")


@dataclass(frozen=True, repr=False)
class ScannedPage:
    """One page as the device sent it.

    Either ``data`` is an encoded image the device made (``media_type``
    "image/jpeg", "image/png", ...) that can go into a PDF untouched, or
    ``image`` is raw pixels (a PIL image, mode "1", "L" or "RGB") for the
    station to encode. ``repr`` never shows pixels.
    """

    number: int  # 1-based, in the order the device delivered it
    resolution_dpi: int
    mode: str
    data: bytes | None = None
    media_type: str = ""
    image: object | None = None  # PIL.Image.Image
    width_px: int = 0
    height_px: int = 0

    def __repr__(self) -> str:
        return (
            f"ScannedPage(#{self.number}, {self.width_px}x{self.height_px} @ "
            f"{self.resolution_dpi} dpi, {self.mode}, {self.media_type or 'raw'})"
        )


@dataclass(frozen=True)
class ScannerStatus:
    """``state``: "idle", "processing" or "stopped"; ``condition``: an error code or ""."""

    state: str
    condition: str = ""
    detail: str = ""
    jobs: tuple[str, ...] = field(default_factory=tuple)


# -- errors ------------------------------------------------------------------------------------


class ScanError(DriverError):
    """Base of the scanner family's errors."""

    code = "scan_failed"

    def __init__(self, reason: str = "", *, code: str | None = None, pages_done: int = 0) -> None:
        super().__init__(reason or self.default_reason, code=code)
        self.pages_done = pages_done

    default_reason = "the scan failed / el escaneo falló"


class FeederEmpty(ScanError):
    code = "feeder_empty"
    default_reason = (
        "the document feeder is empty: put the pages in the feeder and try again / "
        "el alimentador de documentos está vacío: coloque las hojas e intente de nuevo"
    )


class PaperJam(ScanError):
    code = "paper_jam"
    default_reason = (
        "paper jam in the feeder: open it, remove the sheet and scan again / "
        "atasco de papel en el alimentador: ábralo, retire la hoja y escanee de nuevo"
    )


class CoverOpen(ScanError):
    code = "cover_open"
    default_reason = (
        "the scanner cover or feeder door is open: close it and try again / "
        "la tapa o la puerta del alimentador está abierta: ciérrela e intente de nuevo"
    )


class ScannerBusy(ScanError):
    code = "device_busy"
    default_reason = (
        "the scanner is busy with another job: wait and try again / "
        "el escáner está ocupado con otro trabajo: espere e intente de nuevo"
    )


class DeviceGone(ScanError, DeviceUnavailable):
    """The device stopped answering or vanished (unplugged, switched off, off the network)."""

    code = "device_gone"
    default_reason = (
        "the scanner stopped answering (unplugged, off, or off the network) / "
        "el escáner dejó de responder (desconectado, apagado o fuera de la red)"
    )


class ScanCancelled(ScanError):
    code = "scan_cancelled"
    default_reason = "the scan was cancelled / el escaneo fue cancelado"


class UnsupportedSetting(ScanError):
    code = "unsupported_setting"
    default_reason = (
        "the scanner does not offer that setting / el escáner no ofrece esa configuración"
    )


class ScannerIOError(ScanError):
    code = "scanner_io_error"
    default_reason = (
        "the scanner reported an input/output error / el escáner informó un error de E/S"
    )


@runtime_checkable
class Scanner(Device, Protocol):
    """One scanner device (``family = "scanner"``)."""

    def capabilities(self) -> ScannerCapabilities: ...

    def scan(self, settings: ScanSettings) -> Iterator[ScannedPage]:
        """Yield pages as the device delivers them; raise a ScanError subclass on a condition.

        Flatbed: one page. Feeder/duplex: pages until the feeder is empty (the
        normal end) or ``settings.max_pages``. An empty feeder before the first
        page is :class:`FeederEmpty`. On an error after some pages the error's
        ``pages_done`` says how many were delivered.
        """
        ...

    def cancel(self) -> None:
        """Stop the scan under way (safe from another thread); ``scan`` raises ScanCancelled."""
        ...

    def status(self) -> ScannerStatus: ...


def nearest_resolution(wanted: int, offered: tuple[int, ...]) -> int:
    """The offered resolution closest to ``wanted`` (ties go to the higher one)."""
    if not offered:
        return wanted
    return min(offered, key=lambda r: (abs(r - wanted), -r))
