"""A reader driven by libfprint 2 through PyGObject (``gi`` FPrint 2.0): real USB image readers.

libfprint supports many image readers (DigitalPersona U.are.U 4000/4500, AuthenTec,
Upek, Elan, ...); we use it only to capture images, templates and matching are
ours. Every libfprint call runs on one worker thread that owns the FPrint
context (its sync calls iterate that thread's GLib main context); ``cancel()``
trips a ``Gio.Cancellable`` from any thread. Tests use libfprint's own
``virtual_image`` driver (env ``FP_VIRTUAL_IMAGE``): the same code path, no hardware.

Debian: ``libfprint-2-2 gir1.2-fprint-2.0``; PyGObject < 3.51 builds with
``libgirepository1.0-dev libcairo2-dev pkg-config``.
"""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from drivers.base import DeviceHealth, DriverManifest, Health, Identity, Setting
from drivers.fingerprint.base import (
    DEFAULT_PPI,
    CaptureCancelled,
    CaptureTimeout,
    CaptureUnreadable,
    FingerImage,
    ReaderBusy,
    ReaderError,
    ReaderUnavailable,
)

MM_PER_INCH = 25.4


def _fprint() -> tuple[Any, Any, Any]:
    try:
        import gi

        gi.require_version("FPrint", "2.0")
        gi.require_version("Gio", "2.0")
        from gi.repository import FPrint, Gio, GLib
    except (ImportError, ValueError) as exc:
        raise ReaderUnavailable(
            "libfprint is not installed (Debian: libfprint-2-2 gir1.2-fprint-2.0; "
            "pip install 'puente[fprint]' for PyGObject) / libfprint no está instalado "
            "(Debian: libfprint-2-2 gir1.2-fprint-2.0; pip install 'puente[fprint]' para PyGObject)"
        ) from exc
    return FPrint, Gio, GLib


class LibfprintReader:
    """One libfprint device, chosen by driver name and/or index among image-capable devices."""

    family = "fingerprint"
    MANIFEST = DriverManifest(
        name="libfprint",
        family="fingerprint",
        protocol="libfprint (image-capable USB readers)",
        attach="usb",
        title="USB fingerprint reader through libfprint",
        reports=("biometric_enrollment", "biometric_confirmation"),
        settings=(
            Setting(
                "driver",
                "str",
                "",
                en="libfprint driver name (empty: any), e.g. uru4000",
                es="driver de libfprint (vacío: cualquiera), p. ej. uru4000",
            ),
            Setting(
                "index",
                "int",
                0,
                minimum=0,
                maximum=15,
                en="which reader among matching ones",
                es="cuál de los lectores que coinciden",
            ),
            Setting("serial", "str", "", en="serial number", es="número de serie"),
        ),
        serial_setting="serial",
    )

    def __init__(self, driver: str = "", index: int = 0, serial: str = "") -> None:
        self.driver_filter = driver
        self.index = index
        self.configured_serial = serial
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="libfprint")
        self._ctx: Any = None
        self._dev: Any = None
        self._cancellable: Any = None
        self._busy = threading.Lock()
        self.capturing = threading.Event()  # set while libfprint waits for a finger

    # -- everything below that touches libfprint runs on the worker thread --------------
    def _run(self, fn: Any, *args: Any, timeout: float | None = None) -> Any:
        future: Future[Any] = self._pool.submit(fn, *args)
        return future.result(timeout)

    def _open(self) -> None:
        fprint, _, _ = _fprint()
        if self._dev is not None:
            return
        self._ctx = fprint.Context()
        self._ctx.enumerate()
        devices = [
            d
            for d in self._ctx.get_devices()
            if d.has_feature(fprint.DeviceFeature.CAPTURE)
            and (not self.driver_filter or d.get_driver() == self.driver_filter)
        ]
        if len(devices) <= self.index:
            raise ReaderUnavailable(
                f"no libfprint image reader {self.driver_filter or '(any driver)'} at index "
                f"{self.index} / no hay lector de huellas conectado"
            )
        dev = devices[self.index]
        try:
            dev.open_sync(None)
        except Exception as exc:  # GLib.Error
            raise ReaderUnavailable(
                f"cannot open reader: {exc} / no se pudo abrir el lector"
            ) from exc
        self._dev = dev

    def _close(self) -> None:
        if self._dev is not None:
            with contextlib.suppress(Exception):  # already gone (unplugged)
                self._dev.close_sync(None)
        self._dev = None
        self._ctx = None

    def _capture(self, cancellable: Any) -> FingerImage:
        self._open()
        self.capturing.set()
        try:
            image = self._dev.capture_sync(True, cancellable)
        except Exception as exc:  # GLib.Error
            _, gio, _ = _fprint()
            if (
                cancellable.is_cancelled()
                or getattr(exc, "code", None) == gio.IOErrorEnum.CANCELLED
            ):
                raise CaptureCancelled("capture cancelled / captura cancelada") from exc
            if "retry" in str(getattr(exc, "domain", "")):  # fp-device-retry-quark
                raise CaptureUnreadable(
                    f"the reader could not read the finger ({getattr(exc, 'message', exc)}) / "
                    "el lector no pudo leer el dedo"
                ) from exc
            self._close()
            raise ReaderError(f"capture failed: {exc} / falló la captura") from exc
        finally:
            self.capturing.clear()
        ppmm = float(image.get_ppmm() or 0.0)
        ppi = round(ppmm * MM_PER_INCH) if ppmm > 0 else DEFAULT_PPI
        return FingerImage(image.get_width(), image.get_height(), bytes(image.get_data()), ppi)

    def _identity(self) -> Identity:
        self._open()
        return Identity(
            model=self._dev.get_name(),
            vendor="libfprint:" + self._dev.get_driver(),
            serial=self.configured_serial or self._dev.get_device_id(),
        )

    # -- the Device / FingerprintReader interface ----------------------------------------
    def open(self) -> None:
        self._run(self._open, timeout=30)

    def close(self) -> None:
        self.cancel()
        try:
            self._run(self._close, timeout=10)
        finally:
            self._pool.shutdown(wait=False)

    def identify(self) -> Identity:
        identity: Identity = self._run(self._identity, timeout=30)
        return identity

    def health(self) -> DeviceHealth:
        if self._busy.locked():
            return DeviceHealth(Health.BUSY)
        try:
            self._run(self._open, timeout=10)
        except ReaderUnavailable as exc:
            return DeviceHealth(Health.DISCONNECTED, exc.code, exc.reason)
        except ReaderError as exc:
            return DeviceHealth(Health.ERROR, exc.code, exc.reason)
        return DeviceHealth(Health.CONNECTED)

    def capture(self, timeout_s: float) -> FingerImage:
        _, gio, _ = _fprint()
        if not self._busy.acquire(blocking=False):
            raise ReaderBusy("the reader is already capturing / el lector ya está capturando")
        try:
            cancellable = gio.Cancellable()
            self._cancellable = cancellable
            future: Future[FingerImage] = self._pool.submit(self._capture, cancellable)
            try:
                return future.result(timeout_s)
            except FutureTimeout:
                cancellable.cancel()
                with contextlib.suppress(CaptureCancelled, ReaderError, FutureTimeout):
                    future.result(10)
                raise CaptureTimeout(
                    f"no finger within {timeout_s:g}s / no se colocó el dedo en {timeout_s:g}s"
                ) from None
        finally:
            self._cancellable = None
            self._busy.release()

    def cancel(self) -> None:
        cancellable = self._cancellable
        if cancellable is not None:
            cancellable.cancel()
