"""What every driver of every family shares: identity, health, errors, and how drivers are found.

Drivers are found through the ``puente.drivers`` entry-point group, so a third
party adds a device model by shipping a module and one entry point.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Protocol, runtime_checkable

ENTRY_POINT_GROUP = "puente.drivers"


class Health(enum.Enum):
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    ERROR = "error"
    BUSY = "busy"
    UNSUPPORTED = "unsupported"


@dataclass(frozen=True)
class Identity:
    """Who the device is, as far as the driver can tell."""

    model: str
    vendor: str = ""
    serial: str = ""
    firmware: str = ""
    usb_id: str = ""
    eui64: str = ""


@dataclass(frozen=True)
class DeviceHealth:
    health: Health
    error_code: str = ""
    detail: str = ""


class DriverError(Exception):
    """Base of every family's errors: a machine-readable code and a human reason."""

    code = "driver_error"

    def __init__(self, reason: str, *, code: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        if code is not None:
            self.code = code


class DeviceUnavailable(DriverError):
    code = "device_unavailable"


class UnknownDriver(DriverError):
    code = "unknown_driver"


@runtime_checkable
class Device(Protocol):
    """The part of the interface every family shares."""

    family: str

    def open(self) -> None: ...

    def close(self) -> None: ...

    def identify(self) -> Identity: ...

    def health(self) -> DeviceHealth: ...


@dataclass(frozen=True)
class Setting:
    """One setting a driver takes (a keyword of its constructor), as ops and the agent see it.

    ``type``: "str", "int", "float", "bool" or "map" (a table of str/number/bool values).
    ``required``: must be given (no default). ``choices`` are the only values allowed; ``minimum``
    and ``maximum`` bound numbers; ``pattern`` (a regular expression) bounds text.
    """

    name: str
    type: str
    default: Any = None
    required: bool = False
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    pattern: str = ""
    en: str = ""
    es: str = ""

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "required": self.required}
        if self.default is not None:
            out["default"] = self.default
        for key in ("choices", "minimum", "maximum", "pattern"):
            value = getattr(self, key)
            if value not in ((), None, ""):
                out[key] = list(value) if isinstance(value, tuple) else value
        out["en"], out["es"] = self.en, self.es
        return out


@dataclass(frozen=True)
class DriverManifest:
    """What a driver declares about itself beside its code (like a Home Assistant manifest).

    ``name`` is its entry-point name in ``puente.drivers``; ``family`` its device family;
    ``protocol`` how it talks to the device; ``attach`` how the device is connected
    ("serial", "usb", "network", "host" or "none" for simulators); ``reports`` what the
    station records from it (event payloads, and for monitors the measured parameters);
    ``serial_setting`` the setting that carries the registered serial number, if any.
    """

    name: str
    family: str
    protocol: str
    attach: str
    title: str
    reports: tuple[str, ...]
    settings: tuple[Setting, ...] = ()
    serial_setting: str = ""
    simulator: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "protocol": self.protocol,
            "attach": self.attach,
            "title": self.title,
            "reports": list(self.reports),
            "serial_setting": self.serial_setting,
            "simulator": self.simulator,
            "settings": {s.name: s.as_dict() for s in self.settings},
        }


def available_drivers() -> dict[str, Any]:
    """Installed drivers by entry-point name (loaded lazily by :func:`load_driver`)."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def load_driver(name: str, options: dict[str, Any] | None = None) -> Device:
    """Instantiate the driver registered under ``name`` with its options."""
    eps = available_drivers()
    if name not in eps:
        known = ", ".join(sorted(eps)) or "none"
        raise UnknownDriver(
            f"no driver named {name!r} is installed (installed: {known}) / "
            f"no hay un driver llamado {name!r}"
        )
    factory = eps[name].load()
    device: Device = factory(**(options or {}))
    return device
