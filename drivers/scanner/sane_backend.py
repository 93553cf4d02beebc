"""SANE scanners (USB, and network ones through sane-airscan) via python-sane.

SANE keeps process-wide state (``sane_init``) and its backends are not
thread-safe, so every call into it holds one module lock, except
``sane_cancel``, which SANE allows from another thread. The device is opened
per scan and closed after it, so a scanner that was unplugged and plugged back
in works again without restarting the agent. Each scan runs in a child interpreter
(sane_child.py: SANE's reader threads can freeze the process they run in); discovery,
capabilities and health stay in this one (they start no reader thread).

Options: ``device`` (SANE name, e.g. "test:0", "airscan:e0:Office MFP"),
``config_dir`` (sets ``SANE_CONFIG_DIR`` before SANE starts: the directory
whose ``dll.conf`` lists the backends to load), ``extra_options`` (SANE option
name → value set before each scan, e.g. the test backend's "test-picture").
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import threading
from collections.abc import Iterator
from typing import Any

from drivers.base import DeviceHealth, DriverError, DriverManifest, Health, Identity, Setting
from drivers.scanner.base import (
    CoverOpen,
    DeviceGone,
    DiscoveredScanner,
    FeederEmpty,
    PaperJam,
    ScanCancelled,
    ScanError,
    ScannedPage,
    ScannerBusy,
    ScannerCapabilities,
    ScannerIOError,
    ScannerStatus,
    ScanSettings,
    UnsupportedSetting,
    nearest_resolution,
)
from drivers.scanner.sane_child import ScanChild

_LOCK = threading.RLock()
_STARTED_WITH: list[str | None] = []  # the SANE_CONFIG_DIR sane_init ran with, once started

# sane_strstatus() texts (SANE 1.x, as python-sane raises them) → the family's errors.
_STATUS_ERRORS: dict[str, type[ScanError]] = {
    "Document feeder out of documents": FeederEmpty,
    "Document feeder jammed": PaperJam,
    "Scanner cover is open": CoverOpen,
    "Device busy": ScannerBusy,
    "Operation was cancelled": ScanCancelled,
    "Operation was canceled": ScanCancelled,
    "Error during device I/O": ScannerIOError,
    "Invalid argument": UnsupportedSetting,
}

COMMON_RESOLUTIONS = (75, 100, 150, 200, 300, 400, 600, 1200)
_SOURCE_WORDS = {
    "flatbed": ("flatbed", "platen", "normal"),
    "feeder": ("adf", "feeder", "automatic document feeder", "adf front", "adf simplex"),
    "duplex": ("duplex", "adf duplex"),
}
_MODE_WORDS = {
    "color": ("color", "colour", "24bit color"),
    "gray": ("gray", "grey", "grayscale", "greyscale"),
    "lineart": ("lineart", "binary", "black & white", "halftone"),
}


def _libc_signal() -> Any:
    """libc's ``signal``, looked up once, when this module is imported: before any SANE
    thread runs, not with a ``dlopen`` + ``dlsym`` (``ctypes.CDLL(None).signal``) after
    every page as before. That alone did not fix what follows: SANE's ``test`` backend (and any
    backend reading through ``sanei_thread``) cancels its reader thread asynchronously at
    the end of every page (``finish_pass``: ``sanei_thread_kill`` then ``waitpid``); once in
    a while the cancel lands while that thread holds the dynamic loader's TLS lock, which
    then stays held, and the next thread start or ``dlopen`` in the process waits forever,
    with the GIL when it is Python's (an import, ``ctypes.CDLL``): the agent freezes. Seen
    in 1 run of 6-10 of a ten-sheet e2e scan under load (gdb: ``sane_test_start`` →
    ``pthread_create`` → ``_dl_allocate_tls_init`` waiting on ``_rtld_global``'s lock,
    no live thread holding it; before this change the per-page ``CDLL(None)`` was the
    first to wait). Hence each scan runs in a child process (sane_child.py)."""
    try:
        return ctypes.CDLL(None).signal
    except (OSError, AttributeError):
        return None


_SIGNAL = _libc_signal()


def _ignore_sigpipe() -> None:
    """Put SIGPIPE back to ignored, as Python has it.

    SANE's reader threads (sanei_thread) set SIGPIPE to its default action when
    a scan starts; then any socket write to a closed peer anywhere in the agent
    (an HTTP client gone, a network scanner switched off) would kill the whole
    process. ``signal.signal`` works only on the main thread, so libc's is used
    (resolved once at import: see :func:`_libc_signal`).
    """
    if _SIGNAL is not None:
        _SIGNAL(signal.SIGPIPE, ctypes.c_void_p(1))  # SIG_IGN


def _sane() -> Any:
    try:
        import sane
    except ImportError as exc:  # python-sane or libsane missing on this PC
        raise DeviceGone(
            "SANE is not installed on this station (python-sane, libsane1) / "
            "SANE no está instalado en esta estación"
        ) from exc
    return sane


def start(config_dir: str | None = None) -> Any:
    """``sane_init`` once per process (again if ``config_dir`` changes); returns the module."""
    sane = _sane()
    with _LOCK:
        if _STARTED_WITH and _STARTED_WITH[0] == config_dir:
            return sane
        if _STARTED_WITH:
            sane.exit()
            _STARTED_WITH.clear()
        if config_dir:
            os.environ["SANE_CONFIG_DIR"] = config_dir
        sane.init()
        _ignore_sigpipe()
        _STARTED_WITH.append(config_dir)
        return sane


def translate(exc: Exception, pages_done: int = 0) -> ScanError:
    """Map a SANE status (raised as ``_sane.error``) to the family's error."""
    text = str(exc)
    cls = _STATUS_ERRORS.get(text, ScanError)
    if cls is ScanError:
        return ScanError(
            f"SANE: {text} / SANE informó: {text}", code="scan_failed", pages_done=pages_done
        )
    return cls(pages_done=pages_done)


def discover(config_dir: str | None = None, local_only: bool = False) -> list[DiscoveredScanner]:
    """Every device SANE sees, with capabilities read from its options."""
    sane = start(config_dir)
    found = []
    with _LOCK:
        devices = sane.get_devices(local_only)
    for name, vendor, model, kind in devices:
        try:
            caps = _capabilities_of(name)
        except ScanError:
            caps = None
        found.append(DiscoveredScanner(name, vendor, model, kind, caps))
    return found


def _words(value: str, table: dict[str, tuple[str, ...]]) -> str | None:
    v = value.strip().lower()
    for neutral, words in table.items():
        if v in words:
            return neutral
    return None


def _capabilities_of(name: str) -> ScannerCapabilities:
    sane = _sane()
    with _LOCK:
        try:
            dev = sane.open(name)
        except Exception as exc:
            raise DeviceGone(f"cannot open {name!r}: {exc} / no se puede abrir {name!r}") from exc
        try:
            options = {o[1]: o for o in dev.get_options()}
        finally:
            dev.close()
    return _caps_from_options(options)


def _caps_from_options(options: dict[str, tuple[Any, ...]]) -> ScannerCapabilities:
    sources: list[str] = []
    for value in _constraint(options.get("source")) or ["Flatbed"]:
        neutral = _words(str(value), _SOURCE_WORDS)
        if neutral and neutral not in sources:
            sources.append(neutral)
    if "feeder" in sources and "duplex" not in sources and "adf-mode" in options:
        sources.append("duplex")
    modes: list[str] = []
    for value in _constraint(options.get("mode")) or []:
        neutral = _words(str(value), _MODE_WORDS)
        if neutral and neutral not in modes:
            modes.append(neutral)
    depth = _constraint(options.get("depth")) or []
    if "lineart" not in modes and 1 in depth and "gray" in modes:
        modes.append("lineart")  # 1-bit grey is line art
    res = options.get("resolution")
    constraint = res[8] if res else None
    if isinstance(constraint, tuple) and len(constraint) == 3:
        low, high = constraint[0], constraint[1]
        resolutions = tuple(r for r in COMMON_RESOLUTIONS if low <= r <= high)
    elif isinstance(constraint, list):
        resolutions = tuple(sorted(int(r) for r in constraint))
    else:
        resolutions = (300,)
    width = _range_max(options.get("br-x"))
    height = _range_max(options.get("br-y"))
    return ScannerCapabilities(
        tuple(sources), tuple(modes), resolutions, width, height, ("image/x-portable-anymap",)
    )


def _constraint(option: tuple[Any, ...] | None) -> list[Any] | None:
    if option is None:
        return None
    c = option[8]
    return list(c) if isinstance(c, list) else None


def _range_max(option: tuple[Any, ...] | None) -> float:
    if option is None or not isinstance(option[8], tuple):
        return 0.0
    return float(option[8][1])


class SaneScanner:
    """One SANE device, e.g. ``SaneScanner(device="test:0", config_dir="/etc/puente/sane")``."""

    family = "scanner"
    MANIFEST = DriverManifest(
        name="sane",
        family="scanner",
        protocol="SANE (libsane backends: USB and network scanners)",
        attach="usb",
        title="Scanner through SANE",
        reports=("scanned_document",),
        settings=(
            Setting(
                "device",
                "str",
                required=True,
                en="SANE device name (scanimage -L), e.g. genesys:libusb:001:004",
                es="nombre SANE del escáner (scanimage -L), p. ej. genesys:libusb:001:004",
            ),
            Setting(
                "config_dir",
                "str",
                "",
                en="SANE configuration directory (SANE_CONFIG_DIR)",
                es="directorio de configuración de SANE (SANE_CONFIG_DIR)",
            ),
            Setting(
                "extra_options",
                "map",
                en="backend options set before each scan",
                es="opciones del backend antes de cada escaneo",
            ),
            Setting(
                "page_timeout_s",
                "float",
                180.0,
                en="seconds without a page before a scan is stopped as hung",
                es="segundos sin una página antes de detener un escaneo colgado",
            ),
        ),
    )

    def __init__(
        self,
        device: str = "test:0",
        config_dir: str | None = None,
        extra_options: dict[str, Any] | None = None,
        page_timeout_s: float = 180.0,
    ) -> None:
        self.device_name = device
        self.config_dir = config_dir
        self.extra_options = dict(extra_options or {})
        self.page_timeout_s = float(page_timeout_s)
        self._child: ScanChild | None = None
        self._vendor = ""
        self._model = ""
        self._caps: ScannerCapabilities | None = None
        self._options: dict[str, tuple[Any, ...]] = {}
        self._handle: Any = None
        self._cancel = threading.Event()
        self._scanning = False
        self._condition = ""  # last error code a scan met ("" once a scan succeeds)
        self._detail = ""

    # -- Device ------------------------------------------------------------------------------

    def open(self) -> None:
        sane = start(self.config_dir)
        with _LOCK:
            devices = sane.get_devices()
        for name, vendor, model, _kind in devices:
            if name == self.device_name:
                self._vendor, self._model = vendor, model
                break
        else:
            # Not listed: it may still open (network names are often not listed).
            pass
        self._caps = _capabilities_of(self.device_name)

    def close(self) -> None:
        self.cancel()

    def identify(self) -> Identity:
        return Identity(model=self._model or self.device_name, vendor=self._vendor)

    def health(self) -> DeviceHealth:
        if self._scanning:
            return DeviceHealth(Health.BUSY)
        if self._caps is None:
            try:
                self.open()
            except DriverError as exc:
                return DeviceHealth(Health.DISCONNECTED, exc.code, exc.reason)
        if self._condition == DeviceGone.code:
            return DeviceHealth(Health.DISCONNECTED, self._condition, self._detail)
        if self._condition:
            return DeviceHealth(Health.ERROR, self._condition, self._detail)
        return DeviceHealth(Health.CONNECTED)

    # -- Scanner -----------------------------------------------------------------------------

    def capabilities(self) -> ScannerCapabilities:
        if self._caps is None:
            self.open()
        assert self._caps is not None
        return self._caps

    def status(self) -> ScannerStatus:
        if self._scanning:
            return ScannerStatus("processing")
        if self._condition:
            return ScannerStatus("stopped", self._condition, self._detail)
        return ScannerStatus("idle")

    def cancel(self) -> None:
        self._cancel.set()
        child = self._child
        if child is not None:
            child.cancel()
        handle = self._handle
        if handle is not None:
            with contextlib.suppress(Exception):
                handle.cancel()  # sane_cancel: allowed from another thread

    def scan(self, settings: ScanSettings) -> Iterator[ScannedPage]:
        """Scan in a child process (sane_child.py says why); pages come as they are read."""
        self._cancel.clear()
        yield from self._tracked(self._child_pages(settings))

    def scan_here(self, settings: ScanSettings) -> Iterator[ScannedPage]:
        """The scan in this process: what the child process runs."""
        self._cancel.clear()
        yield from self._tracked(self._pages_here(settings))

    def _tracked(self, pages: Iterator[ScannedPage]) -> Iterator[ScannedPage]:
        """``pages`` with the device's state kept: busy meanwhile, then its last condition."""
        self._scanning = True
        try:
            yield from pages
            self._condition, self._detail = "", ""
        except ScanError as exc:
            if not isinstance(exc, ScanCancelled):
                self._condition, self._detail = exc.code, exc.reason
            raise
        finally:
            self._scanning = False

    def _child_pages(self, settings: ScanSettings) -> Iterator[ScannedPage]:
        child = self._child = ScanChild(
            self.device_name, self.config_dir, self.extra_options, settings
        )
        if self._cancel.is_set():
            child.cancel()
        try:
            yield from child.pages(self.page_timeout_s)
        finally:
            self._child = None
            child.stop()

    def _pages_here(self, settings: ScanSettings) -> Iterator[ScannedPage]:
        sane = start(self.config_dir)
        pages = 0
        with _LOCK:
            try:
                self._handle = sane.open(self.device_name)
            except Exception as exc:
                raise self._gone(exc) from exc
            try:
                self._options = {o[1]: o for o in self._handle.get_options()}
                self._caps = _caps_from_options(self._options)
                self._configure(settings)
                while not self._cancel.is_set():
                    if settings.max_pages and pages >= settings.max_pages:
                        break
                    try:
                        self._handle.start()
                        _ignore_sigpipe()
                        image = self._handle.snap(settings.multi_page)
                    except Exception as exc:
                        _ignore_sigpipe()
                        if self._cancel.is_set():  # the read ended because of the cancel
                            raise ScanCancelled(pages_done=pages) from exc
                        err = translate(exc, pages)
                        if isinstance(err, FeederEmpty) and settings.multi_page and pages:
                            break  # the feeder ran out: the normal end of a feeder scan
                        if isinstance(err, ScannerIOError) and not self._still_there(sane):
                            err = DeviceGone(pages_done=pages)
                        raise err from exc
                    _ignore_sigpipe()
                    pages += 1
                    yield ScannedPage(
                        number=pages,
                        resolution_dpi=settings.resolution_dpi,
                        mode=settings.mode,
                        image=_as_mode(image, settings.mode),
                        width_px=image.size[0],
                        height_px=image.size[1],
                    )
                    if not settings.multi_page:
                        break
                if self._cancel.is_set():
                    raise ScanCancelled(pages_done=pages)
            finally:
                handle, self._handle = self._handle, None
                with contextlib.suppress(Exception):
                    handle.cancel()
                    handle.close()
                _ignore_sigpipe()

    # -- internals ---------------------------------------------------------------------------

    def _gone(self, exc: Exception) -> ScanError:
        err = translate(exc)
        if isinstance(err, ScannerBusy):
            return err
        return DeviceGone(
            f"cannot open scanner {self.device_name!r} ({exc}) / "
            f"no se puede abrir el escáner {self.device_name!r}"
        )

    def _still_there(self, sane: Any) -> bool:
        try:
            return any(d[0] == self.device_name for d in sane.get_devices())
        except Exception:
            return False

    def _set(self, name: str, value: Any) -> None:
        try:
            setattr(self._handle, name.replace("-", "_"), value)
        except (AttributeError, Exception) as exc:
            raise UnsupportedSetting(
                f"the scanner refused {name}={value!r} ({exc}) / "
                f"el escáner no acepta {name}={value!r}",
                code="unsupported_setting",
            ) from exc

    def _configure(self, settings: ScanSettings) -> None:
        caps = self._caps
        assert caps is not None
        if settings.source not in caps.sources:
            raise UnsupportedSetting(
                f"{self.device_name} has no {settings.source} (it has {', '.join(caps.sources)}) / "
                f"el escáner no tiene {settings.source}"
            )
        if settings.mode not in caps.modes:
            raise UnsupportedSetting(
                f"{self.device_name} cannot scan in {settings.mode} / "
                f"el escáner no escanea en modo {settings.mode}"
            )
        values = _constraint(self._options.get("source")) or []
        wanted = settings.source
        chosen = next((v for v in values if _words(str(v), _SOURCE_WORDS) == wanted), None)
        if chosen is None and wanted == "duplex":
            chosen = next((v for v in values if _words(str(v), _SOURCE_WORDS) == "feeder"), None)
            if "adf-mode" in self._options:
                self._set("adf-mode", "Duplex")
        if chosen is not None and "source" in self._options:
            self._set("source", chosen)
        modes = _constraint(self._options.get("mode")) or []
        mode_value = next((v for v in modes if _words(str(v), _MODE_WORDS) == settings.mode), None)
        if mode_value is None and settings.mode == "lineart":
            mode_value = next((v for v in modes if _words(str(v), _MODE_WORDS) == "gray"), None)
            self._set("depth", 1)
        elif "depth" in self._options and settings.mode != "lineart":
            self._set("depth", 8)
        if mode_value is not None:
            self._set("mode", mode_value)
        if "resolution" in self._options:
            res = self._options["resolution"][8]
            dpi = settings.resolution_dpi
            if isinstance(res, list):
                dpi = nearest_resolution(dpi, tuple(int(r) for r in res))
            self._set("resolution", dpi)
        if settings.width_mm and "br-x" in self._options:
            self._set("br-x", min(settings.width_mm, caps.max_width_mm or settings.width_mm))
        elif "br-x" in self._options and caps.max_width_mm:
            self._set("br-x", caps.max_width_mm)
        if settings.height_mm and "br-y" in self._options:
            self._set("br-y", min(settings.height_mm, caps.max_height_mm or settings.height_mm))
        elif "br-y" in self._options and caps.max_height_mm:
            self._set("br-y", caps.max_height_mm)
        for name, value in self.extra_options.items():
            self._set(name, value)


def _as_mode(image: Any, mode: str) -> Any:
    """Line art from a backend that sent 8-bit grey is thresholded here, once."""
    if mode == "lineart" and getattr(image, "mode", "") != "1":
        return image.convert("L").point(lambda v: 255 if v >= 128 else 0).convert("1")
    return image
