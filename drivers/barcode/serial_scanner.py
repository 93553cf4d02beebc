"""Serial and USB-CDC (virtual COM port) scanners through pyserial: one symbol per suffixed line.

The scanner is programmed to send the AIM symbology identifier as prefix and
CR (or CR LF) as suffix; FNC1 arrives as GS (0x1D). Bytes are read as
Latin-1 so that no byte a scanner sends is lost or refused by a decoder. A
port that vanishes (USB cable pulled) raises :class:`ReaderVanished`; the
next ``scans``/``health`` reopens it once it is back.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator

import serial

from drivers.barcode.base import ReaderVanished, Scan
from drivers.barcode.framing import LineFramer
from drivers.base import DeviceHealth, DeviceUnavailable, DriverManifest, Health, Identity, Setting

log = logging.getLogger(__name__)


class SerialScanner:
    family = "barcode"
    MANIFEST = DriverManifest(
        name="barcode.serial",
        family="barcode",
        protocol="serial / USB-CDC barcode scanner (AIM symbology ids)",
        attach="serial",
        title="Barcode scanner on a serial or USB-CDC port",
        reports=("dispensing",),
        settings=(
            Setting(
                "port",
                "str",
                required=True,
                pattern=r"^(/[^\s]+|COM[0-9]{1,3})$",
                en="serial port (/dev/ttyACM0, COM3)",
                es="puerto serie (/dev/ttyACM0, COM3)",
            ),
            Setting(
                "baudrate",
                "int",
                9600,
                minimum=1200,
                maximum=921600,
                en="line speed (baud)",
                es="velocidad de la línea (baudios)",
            ),
            Setting("model", "str", "serial barcode scanner", en="model", es="modelo"),
            Setting("vendor", "str", "", en="vendor", es="fabricante"),
            Setting("serial_number", "str", "", en="serial number", es="número de serie"),
            Setting(
                "read_chunk_s",
                "float",
                0.05,
                minimum=0.001,
                maximum=5,
                en="read timeout per chunk (s)",
                es="espera por lectura (s)",
            ),
        ),
        serial_setting="serial_number",
    )

    def __init__(
        self,
        port: str,
        baudrate: int = 9600,
        model: str = "serial barcode scanner",
        vendor: str = "",
        serial_number: str = "",
        read_chunk_s: float = 0.05,
    ) -> None:
        if not 1200 <= int(baudrate) <= 921600:
            raise ValueError(f"baudrate {baudrate} is not in 1200..921600")
        self.port = port
        self.baudrate = int(baudrate)
        self.model = model
        self.vendor = vendor
        self.serial_number = serial_number
        self.read_chunk_s = read_chunk_s
        self._ser: serial.Serial | None = None
        self._lock = threading.Lock()
        self._vanished = False
        self.framer = LineFramer()

    def open(self) -> None:
        with self._lock:
            if self._ser is not None:
                return
            try:
                self._ser = serial.Serial(self.port, self.baudrate, timeout=self.read_chunk_s)
            except (serial.SerialException, OSError, ValueError) as exc:
                raise DeviceUnavailable(
                    f"serial port {self.port} cannot be opened ({exc}) / "
                    f"no se puede abrir el puerto serie {self.port}",
                    code="reader_vanished" if self._vanished else "port_unavailable",
                ) from exc
            self._vanished = False
            self.framer.reset()  # no half symbol survives a reconnect

    def close(self) -> None:
        with self._lock:
            if self._ser is not None:
                with contextlib.suppress(serial.SerialException, OSError):
                    self._ser.close()
                self._ser = None

    def identify(self) -> Identity:
        return Identity(model=self.model, vendor=self.vendor, serial=self.serial_number)

    def health(self) -> DeviceHealth:
        if self._ser is None:
            try:
                self.open()
            except DeviceUnavailable as exc:
                return DeviceHealth(Health.DISCONNECTED, exc.code, exc.reason)
        return DeviceHealth(Health.CONNECTED)

    def scans(self, timeout_s: float) -> Iterator[Scan]:
        self.open()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            ser = self._ser
            if ser is None:  # closed by another thread (agent stopping)
                return
            try:
                data = ser.read(ser.in_waiting or 1)
            except (serial.SerialException, OSError, TypeError) as exc:
                self._lost(exc)
            if data:
                yield from self.framer.feed(data.decode("latin-1"))

    def _lost(self, exc: Exception) -> None:
        self.close()
        self._vanished = True
        log.warning("barcode scanner port %s vanished: %s", self.port, exc)
        raise ReaderVanished(
            f"barcode scanner on {self.port} vanished (cable pulled?) / "
            f"el lector de códigos en {self.port} desapareció (¿cable desconectado?)"
        ) from exc
