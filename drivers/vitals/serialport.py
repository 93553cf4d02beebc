"""The serial side every serial monitor shares: open with provisioned settings, read, reconnect.

A protocol module supplies a :class:`Decoder` (bytes in, readings out); this
module owns the port. A port that vanishes (cable pulled, USB adapter out)
raises :class:`PortVanished` from ``numerics`` and reports DISCONNECTED with
``port_vanished`` from ``health``; ``health`` and ``numerics`` reopen the port
once it is back, so the driver reconnects by itself.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from typing import Protocol

import serial

from drivers.base import DeviceHealth, DeviceUnavailable, Health, Identity, Setting
from drivers.vitals.base import NumericReading, PortVanished

log = logging.getLogger(__name__)

_PARITY = {"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN, "O": serial.PARITY_ODD}

# An absolute device path (/dev/ttyUSB0, a pty's link) or a Windows COM port.
PORT_PATTERN = r"^(/[^\s]+|COM[0-9]{1,3})$"
BAUD_RATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
# Measured parameters of pulse oximeters (IEEE 11073 MDC reference ids).
OXIMETRY = ("vital_signs", "MDC_PULS_OXIM_SAT_O2", "MDC_PULS_OXIM_PULS_RATE")


def serial_settings(default_baudrate: int) -> tuple[Setting, ...]:
    """The settings of :class:`SerialMonitor`, declared once for every serial monitor."""
    return (
        Setting(
            "port",
            "str",
            required=True,
            pattern=PORT_PATTERN,
            en="serial port (/dev/ttyUSB0, COM3)",
            es="puerto serie (/dev/ttyUSB0, COM3)",
        ),
        Setting(
            "baudrate",
            "int",
            default_baudrate,
            choices=BAUD_RATES,
            en="line speed (baud)",
            es="velocidad de la línea (baudios)",
        ),
        Setting("bytesize", "int", 8, choices=(7, 8), en="data bits", es="bits de datos"),
        Setting("parity", "str", "N", choices=("N", "E", "O"), en="parity", es="paridad"),
        Setting("stopbits", "float", 1, choices=(1, 1.5, 2), en="stop bits", es="bits de parada"),
        Setting("serial_number", "str", "", en="device serial number", es="número de serie"),
        Setting(
            "read_chunk_s",
            "float",
            0.05,
            minimum=0.001,
            maximum=5,
            en="read timeout per chunk (s)",
            es="espera por lectura (s)",
        ),
    )


class Decoder(Protocol):
    def feed(self, data: bytes) -> list[NumericReading]:
        """Take bytes as they arrive; return the readings completed by them."""
        ...


class SerialMonitor:
    """A monitor on a serial port (or pty); subclasses set ``model``/``vendor`` and ``decoder``."""

    family = "vitals"
    model = "serial monitor"
    vendor = ""
    default_baudrate = 9600

    def __init__(
        self,
        port: str,
        baudrate: int | None = None,
        bytesize: int = 8,
        parity: str = "N",
        stopbits: float = 1,
        serial_number: str = "",
        read_chunk_s: float = 0.05,
    ) -> None:
        self.port = port
        self.baudrate = baudrate or self.default_baudrate
        self.bytesize = bytesize
        self.parity = _PARITY[parity.upper()[:1]]
        self.stopbits = stopbits
        self.serial_number = serial_number
        self.read_chunk_s = read_chunk_s
        self._ser: serial.Serial | None = None
        self._vanished = False
        self._lock = threading.Lock()
        self.decoder: Decoder = self.make_decoder()
        self.frame_errors = 0

    def make_decoder(self) -> Decoder:
        raise NotImplementedError

    # -- Device ---------------------------------------------------------------------------

    def open(self) -> None:
        with self._lock:
            if self._ser is not None:
                return
            try:
                self._ser = serial.Serial(
                    self.port,
                    baudrate=self.baudrate,
                    bytesize=self.bytesize,
                    parity=self.parity,
                    stopbits=self.stopbits,
                    timeout=self.read_chunk_s,
                )
            except (serial.SerialException, OSError, ValueError) as exc:
                raise DeviceUnavailable(
                    f"serial port {self.port} cannot be opened ({exc}) / "
                    f"no se puede abrir el puerto serie {self.port}",
                    code="port_vanished" if self._vanished else "port_unavailable",
                ) from exc
            if self._vanished:
                log.info("serial port %s is back", self.port)
            self._vanished = False
            self.decoder = self.make_decoder()  # no half frame survives a reconnect

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

    # -- Monitor --------------------------------------------------------------------------

    def numerics(self, timeout_s: float) -> Iterator[NumericReading]:
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
                yield from self.decoder.feed(data)

    def pending(self) -> list[NumericReading]:
        """Readings in what the port already holds (arrived and not read yet), without waiting."""
        try:
            self.open()
        except DeviceUnavailable:
            return []
        out: list[NumericReading] = []
        for _ in range(64):  # bounded: a monitor that never pauses cannot hold the caller
            ser = self._ser
            if ser is None:
                return out
            try:
                waiting = ser.in_waiting
                data = ser.read(waiting) if waiting else b""
            except (serial.SerialException, OSError, TypeError) as exc:
                self._lost(exc)
            if not data:
                return out
            out.extend(self.decoder.feed(data))
        return out

    def write(self, data: bytes) -> None:
        """Bytes back to the device (e.g. an HL7 ACK over serial)."""
        ser = self._ser
        if ser is None:
            return
        try:
            ser.write(data)
        except (serial.SerialException, OSError) as exc:
            self._lost(exc)

    def _lost(self, exc: Exception) -> None:
        self.close()
        self._vanished = True
        log.warning("serial port %s vanished: %s", self.port, exc)
        raise PortVanished(
            f"serial port {self.port} vanished (cable pulled?) / "
            f"el puerto serie {self.port} desapareció (¿cable desconectado?)"
        ) from exc
