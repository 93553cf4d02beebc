"""What a station's remote config holds, built from the registry plus ops overrides."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from protos import device_catalogue as catalogue
from protos.device_catalogue import SettingsProblem
from provisioning.errors import ConfigRejected
from provisioning.registry import Device

# What ops may override remotely, with a check each (the agent validates again).
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _positive_seconds(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 600:
        raise ConfigRejected(
            f"{name} must be a number of seconds in (0, 600] / {name} debe estar en (0, 600]",
            "invalid_config",
        )
    return float(value)


def _level(name: str, value: Any) -> str:
    if not isinstance(value, str) or value.upper() not in _LEVELS:
        raise ConfigRejected(f"{name} must be one of {', '.join(_LEVELS)}", "invalid_config")
    return value.upper()


OVERRIDES = {
    "log_level": _level,
    "receipt_timeout_s": _positive_seconds,
    "device_poll_s": _positive_seconds,
}


def build(devices: Iterable[Device], overrides: dict[str, Any]) -> dict[str, Any]:
    """The config body: the station's active devices and the validated overrides."""
    unknown = sorted(set(overrides) - set(OVERRIDES))
    if unknown:
        raise ConfigRejected(
            f"unknown config keys {', '.join(unknown)} / claves desconocidas", "invalid_config"
        )
    config: dict[str, Any] = {name: OVERRIDES[name](name, v) for name, v in overrides.items()}
    config["devices"] = [_device(d) for d in sorted(devices, key=lambda d: d.device_id)]
    return config


def _device(device: Device) -> dict[str, Any]:
    """One device as the agent receives it, checked against the catalogue first (a row
    registered before the catalogue may name an old driver or lack a setting)."""
    try:
        driver, implied = catalogue.resolve(device.driver)
        device = replace(device, driver=driver, options={**implied, **device.options})
        options = catalogue.check_settings(driver, device.driver_options())
    except SettingsProblem as exc:
        en = f"device {device.device_id}: {exc.en}"
        es = f"dispositivo {device.device_id}: {exc.es}"
        raise ConfigRejected(
            f"{en} / {es}",
            "invalid_device",
            field=f"devices.{device.device_id}.{exc.field}",
            allowed=exc.allowed,
            en=en,
            es=es,
        ) from exc
    return {"device_id": device.device_id, "driver": driver, "options": options}
