"""The registry's records (units → stations → devices) and their validation, storage-free."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from protos.topics import TopicError, check_id
from provisioning.errors import InvalidRecord

DEVICE_TYPES = ("fingerprint", "monitor", "scanner", "token")
# Identities of the hub's own broker clients carry ':' so no station id can take them.
SERVICE_PREFIX = "hub:"

_USB_ID = re.compile(r"^[0-9a-fA-F]{4}$")
_SERIAL_PORT = re.compile(r"^(/dev/[A-Za-z0-9_./-]+|COM[0-9]{1,3})$")


@dataclass(frozen=True)
class DriverSpec:
    """What a driver accepts: its device type, how it attaches and which port settings."""

    device_type: str
    attach: str  # "serial", "usb" or "none"
    baud_rates: tuple[int, ...] = ()
    parities: tuple[str, ...] = ("N",)


# Drivers known to provisioning (third-party drivers are added here when certified).
DRIVERS: dict[str, DriverSpec] = {
    "sim.monitor": DriverSpec("monitor", "none"),
    "sim.fingerprint": DriverSpec("fingerprint", "none"),
    "sim.scanner": DriverSpec("scanner", "none"),
    "sim.token": DriverSpec("token", "none"),
    "vitals.serial": DriverSpec(
        "monitor", "serial", (9600, 19200, 38400, 57600, 115200), ("N", "E", "O")
    ),
    "fingerprint.usb": DriverSpec("fingerprint", "usb"),
    "scanner.sane": DriverSpec("scanner", "usb"),
    "token.pkcs11": DriverSpec("token", "usb"),
}


@dataclass(frozen=True)
class Unit:
    unit_id: str
    name: str


@dataclass(frozen=True)
class Station:
    station_id: str
    unit_id: str


@dataclass(frozen=True)
class Device:
    """One device at one station; ``serial`` is unique among active devices of its model."""

    device_id: str
    station_id: str
    device_type: str
    driver: str
    model: str = ""
    serial: str = ""
    usb_vendor_id: str = ""
    usb_product_id: str = ""
    port: str = ""
    baud_rate: int | None = None
    parity: str = ""
    options: dict[str, Any] = field(default_factory=dict)

    def driver_options(self) -> dict[str, Any]:
        """The options the agent's driver receives (what the station's config carries)."""
        out: dict[str, Any] = dict(self.options)
        for key in ("serial", "port", "parity"):
            value = getattr(self, key)
            if value:
                out[key] = value
        if self.baud_rate is not None:
            out["baud_rate"] = self.baud_rate
        return out


def _id(kind: str, value: str) -> str:
    try:
        return check_id(kind, value)
    except TopicError as exc:
        raise InvalidRecord(str(exc), f"bad_{kind}_id") from exc


def validate_unit(unit: Unit) -> Unit:
    _id("unit", unit.unit_id)
    if not unit.name.strip():
        raise InvalidRecord(
            "unit name is empty / el nombre de la unidad está vacío", "missing_name"
        )
    return unit


def validate_station(station: Station, known_units: set[str] | None = None) -> Station:
    _id("station", station.station_id)
    _id("unit", station.unit_id)
    if known_units is not None and station.unit_id not in known_units:
        raise InvalidRecord(
            f"unknown unit {station.unit_id} / unidad desconocida {station.unit_id}",
            "unknown_unit",
        )
    return station


def validate_device(device: Device) -> Device:
    """Check a device against its driver's spec; raise InvalidRecord with the first problem."""
    _id("device", device.device_id)
    _id("station", device.station_id)
    if device.device_type not in DEVICE_TYPES:
        raise InvalidRecord(
            f"unknown device type {device.device_type!r} (one of {', '.join(DEVICE_TYPES)}) / "
            f"tipo de dispositivo desconocido",
            "unknown_device_type",
        )
    spec = DRIVERS.get(device.driver)
    if spec is None:
        raise InvalidRecord(
            f"unknown driver {device.driver!r} / controlador desconocido {device.driver!r}",
            "unknown_driver",
        )
    if spec.device_type != device.device_type:
        raise InvalidRecord(
            f"driver {device.driver} drives {spec.device_type}, not {device.device_type} / "
            f"el controlador {device.driver} es para {spec.device_type}",
            "driver_type_mismatch",
        )
    serial_settings = device.port or device.baud_rate is not None or device.parity
    if spec.attach == "serial":
        if not _SERIAL_PORT.match(device.port):
            raise InvalidRecord(
                f"driver {device.driver} needs a serial port (/dev/ttyUSB0 or COM3), got "
                f"{device.port!r} / el controlador necesita un puerto serie",
                "bad_port",
            )
        if device.baud_rate not in spec.baud_rates:
            raise InvalidRecord(
                f"driver {device.driver} does not support baud rate {device.baud_rate} "
                f"(supports {', '.join(map(str, spec.baud_rates))}) / el controlador no admite "
                f"la velocidad {device.baud_rate}",
                "unsupported_port_setting",
            )
        if (device.parity or "N") not in spec.parities:
            raise InvalidRecord(
                f"driver {device.driver} does not support parity {device.parity!r} / "
                f"el controlador no admite la paridad {device.parity!r}",
                "unsupported_port_setting",
            )
    elif serial_settings:
        raise InvalidRecord(
            f"driver {device.driver} takes no serial port settings / "
            f"el controlador {device.driver} no usa ajustes de puerto serie",
            "unsupported_port_setting",
        )
    for name in ("usb_vendor_id", "usb_product_id"):
        value = getattr(device, name)
        if value and not _USB_ID.match(value):
            raise InvalidRecord(
                f"{name} must be 4 hex digits, got {value!r} / {name} debe tener 4 dígitos hex",
                "bad_usb_id",
            )
        if value and spec.attach != "usb":
            raise InvalidRecord(
                f"driver {device.driver} is not a USB driver / el controlador no es USB",
                "unsupported_port_setting",
            )
    if spec.attach == "usb" and not device.serial:
        raise InvalidRecord(
            "a USB device needs its serial number / un dispositivo USB requiere su número de serie",
            "missing_serial",
        )
    return device
