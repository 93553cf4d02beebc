"""What every driver of every family shares: identity, health, errors, and how drivers are found.

Drivers are found through the ``puente.drivers`` entry-point group, so a third
party adds a device model by shipping a module and one entry point.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
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


@dataclass
class DriverSpec:
    name: str
    factory: Any
    options: dict[str, Any] = field(default_factory=dict)


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
