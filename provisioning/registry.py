"""The registry's records (units → stations → devices) and their validation, storage-free."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from protos import device_catalogue as catalogue
from protos.device_catalogue import SettingsProblem
from protos.topics import TopicError, check_id
from provisioning.errors import InvalidRecord

# Device types are the catalogue's families (old "monitor" is read as "vitals").
DEVICE_TYPES = tuple(catalogue.FAMILIES)
# Identities of the hub's own broker clients carry ':' so no station id can take them.
SERVICE_PREFIX = "hub:"

_USB_ID = re.compile(r"^[0-9a-fA-F]{4}$")


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
        """The settings the agent's driver receives (what the station's config carries):
        ``options`` plus the columns that are settings (port, baud rate, parity), the serial
        number where the driver takes one and the USB id where it matches on it."""
        out: dict[str, Any] = dict(self.options)
        spec = catalogue.entry(self.driver) or {"settings": {}, "serial_setting": ""}
        for column, setting in catalogue.COLUMN_SETTINGS.items():
            value = getattr(self, column)
            if value not in ("", None):
                out[setting] = _typed(self.driver, setting, value)
        if self.serial and spec["serial_setting"]:
            out.setdefault(spec["serial_setting"], self.serial)
        if self.usb_vendor_id and self.usb_product_id and "usb_id" in spec["settings"]:
            out.setdefault("usb_id", f"{self.usb_vendor_id}:{self.usb_product_id}".lower())
        return out


def _typed(driver: str, setting: str, value: Any) -> Any:
    """A column's text as its setting's type (an MLLP listener's ``port`` column is a number);
    left as typed when it does not parse, so the settings check names it."""
    if not isinstance(value, str):
        return value
    try:
        return catalogue.parse_text(driver, setting, value)
    except SettingsProblem:
        return value


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


def invalid(problem: SettingsProblem, prefix: str = "") -> InvalidRecord:
    """A catalogue problem as the registry's error (field, allowed values, both languages)."""
    located = problem.located(prefix) if prefix else problem
    return InvalidRecord(
        located.reason,
        located.code,
        field=located.field,
        allowed=located.allowed,
        en=located.en,
        es=located.es,
    )


def validate_device(device: Device) -> Device:
    """Check a device against the catalogue; return it with catalogue names (an old driver
    name or device type is mapped). Raise InvalidRecord naming the field and what is allowed.
    """
    _id("device", device.device_id)
    _id("station", device.station_id)
    try:
        driver, implied = catalogue.resolve(device.driver)
        family = catalogue.check_family(driver, device.device_type)
    except SettingsProblem as exc:
        raise invalid(exc) from exc
    spec = catalogue.CATALOGUE[driver]
    device = replace(
        device,
        driver=driver,
        device_type=family,
        options={**implied, **device.options},
    )
    for column, setting in catalogue.COLUMN_SETTINGS.items():
        value = getattr(device, column)
        if value not in ("", None) and setting not in spec["settings"]:
            allowed = ", ".join(spec["settings"]) or "-"
            raise InvalidRecord(
                f"'{column}' is not a setting of driver {driver} (its settings: {allowed}) / "
                f"'{column}' no es un ajuste del controlador {driver} (sus ajustes: {allowed})",
                "unknown_setting",
                field=column,
                allowed=allowed,
                en=f"'{column}' is not a setting of driver {driver} (its settings: {allowed})",
                es=f"'{column}' no es un ajuste del controlador {driver} (sus ajustes: {allowed})",
            )
    for name in ("usb_vendor_id", "usb_product_id"):
        value = getattr(device, name)
        if value and not _USB_ID.match(value):
            en = f"'{name}' must be 4 hex digits, got {value!r}"
            es = f"'{name}' debe tener 4 dígitos hexadecimales, se recibió {value!r}"
            raise InvalidRecord(
                f"{en} / {es}", "bad_usb_id", field=name, allowed="0000-ffff", en=en, es=es
            )
        if value and spec["attach"] != "usb":
            en = f"'{name}': driver {driver} is not a USB driver"
            es = f"'{name}': el controlador {driver} no es USB"
            raise InvalidRecord(
                f"{en} / {es}", "unknown_setting", field=name, allowed="-", en=en, es=es
            )
    if spec["attach"] == "usb" and not device.serial:
        en = "'serial': a USB device needs its serial number"
        es = "'serial': un dispositivo USB requiere su número de serie"
        raise InvalidRecord(
            f"{en} / {es}", "missing_serial", field="serial", allowed="", en=en, es=es
        )
    try:
        catalogue.check_settings(driver, device.driver_options())
    except SettingsProblem as exc:
        raise invalid(exc.renamed(_typed_as(device, spec, exc.field))) from exc
    return device


def _typed_as(device: Device, spec: dict[str, Any], setting: str) -> str:
    """Where ops typed a setting: its column (port, baud_rate, parity, serial) or settings.x."""
    for column, name in catalogue.COLUMN_SETTINGS.items():
        if name == setting and (
            getattr(device, column) not in ("", None) or setting not in device.options
        ):
            return column
    if setting == spec["serial_setting"] and device.serial and setting not in device.options:
        return "serial"
    return f"settings.{setting}"
